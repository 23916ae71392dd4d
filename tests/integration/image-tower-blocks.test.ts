/**
 * The built-in image tower's feature blocks (scripts/build-model/coco-image-tower.ts), run by onnxruntime on the
 * tower `npm install` built: the colour shares name the colour of a plain photo, and the grid blocks tell where
 * a thing is while the global ones barely move.
 */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModelDir } from '../../main/backend/catalog/registry';
import { openModel } from '../../main/backend/catalog/open-model';
import type { EmbeddingModel } from '../../main/backend/model/types';
import { viewOf } from '../../main/backend/model/views';
import { buildCocoImageTowerOnnx, COCO_CLASSES, COLOUR_PROTOTYPES, COCO_POOLS, cocoPhotoViews } from '../../scripts/build-model/coco-image-tower';
import { sceneSvg } from '../helpers/scenes';

let model: EmbeddingModel;
let blocks: { name: string; dim: number; offset: number }[];

beforeAll(async () => {
  model = await openModel(builtinModelDir());
  let offset = 0;
  blocks = buildCocoImageTowerOnnx(224, COCO_POOLS).blocks.map((b) => {
    const r = { ...b, offset };
    offset += b.dim;
    return r;
  });
}, 60_000);

afterAll(async () => {
  await model?.dispose();
});

const block = (f: Float32Array, name: string) => {
  const b = blocks.find((x) => x.name === name);
  if (!b) throw new Error(`no block ${name} in ${blocks.map((x) => x.name).join(', ')}`);
  return f.subarray(b.offset, b.offset + b.dim);
};
const distance = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0));

async function features(svgs: string[]): Promise<Float32Array[]> {
  const prepared = await Promise.all(svgs.map(async (svg) => model.prepareImage(await sharp(Buffer.from(svg)).png().toBuffer())));
  return model.imageFeatures(prepared);
}

describe('built-in image tower blocks', () => {
  it('has the blocks the manifest counts', () => {
    expect(blocks.reduce((a, b) => a + b.dim, 0)).toBe(model.manifest.image.featureDim);
    expect(path.basename(model.manifest.image.file)).toBe('image_tower.onnx');
  });

  it('names the colour of a plain photo', async () => {
    const named = COLOUR_PROTOTYPES.filter(([name]) => ['black', 'white', 'gray', 'red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'brown'].includes(name));
    const f = await features(named.map(([, [r, g, b]]) => `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="120"><rect width="100%" height="100%" fill="rgb(${r},${g},${b})"/></svg>`));
    named.forEach(([name], i) => {
      const shares = [...block(f[i]!, 'colour 1×1')];
      expect(COLOUR_PROTOTYPES[shares.indexOf(Math.max(...shares))]![0], name).toBe(name);
    });
  });

  it('tells where a colour is in the grid blocks, not in the whole-photo one', async () => {
    const at = (x: number) => sceneSvg({ background: '#ffffff', items: [{ shape: 'square', colour: 'red', x, y: 0.5, size: 0.3, rotation: 0 }] }, 224);
    const [left, right] = await features([at(0.2), at(0.8)]);
    for (const grid of ['colour 2×2', 'colour 3×3']) {
      expect(distance(block(left!, grid), block(right!, grid))).toBeGreaterThan(5 * distance(block(left!, 'colour 1×1'), block(right!, 'colour 1×1')));
    }
  });

  it('gives each colour block half the length of a map block', async () => {
    const [f] = await features([sceneSvg({ background: '#ffffff', items: [{ shape: 'circle', colour: 'blue', x: 0.5, y: 0.5, size: 0.4, rotation: 0 }] }, 224)]);
    const length = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    expect(length(block(f!, blocks[0]!.name))).toBeCloseTo(1, 4);
    for (const b of blocks.filter((x) => x.name.startsWith('colour'))) expect(length(block(f!, b.name))).toBeCloseTo(0.5, 4);
  });

  it("adds the detector's class blocks when asked (a measured candidate): the shipped blocks unchanged, 80 scores of unit length", async () => {
    const tower = buildCocoImageTowerOnnx(224, { ...COCO_POOLS, classes: { blocks: ['max', 'count', 'grid'], weight: 1 } });
    expect(tower.blocks.slice(-3)).toEqual([
      { name: 'classes max', dim: COCO_CLASSES.length },
      { name: 'classes count', dim: COCO_CLASSES.length },
      { name: 'classes grid', dim: 9 * COCO_CLASSES.length },
    ]);
    const session = await ort.InferenceSession.create(tower.onnx);
    try {
      const svg = sceneSvg({ background: '#ffffff', items: [{ shape: 'circle', colour: 'blue', x: 0.5, y: 0.5, size: 0.4, rotation: 0 }] }, 224);
      const prepared = await model.prepareImage(await sharp(Buffer.from(svg)).png().toBuffer());
      const [shipped] = await model.imageFeatures([prepared]);
      const out = (await session.run({ pixel_values: new ort.Tensor('float32', prepared.tensor, [1, 224, 224, 3]) })).features!.data as Float32Array;
      expect(out.length).toBe(tower.featureDim);
      const D = model.manifest.image.featureDim;
      let diff = 0;
      for (let i = 0; i < D; i++) diff = Math.max(diff, Math.abs(out[i]! - shipped![i]!));
      expect(diff).toBeLessThan(1e-4);
      const scores = out.subarray(D, D + COCO_CLASSES.length);
      expect(Math.min(...scores)).toBeGreaterThanOrEqual(0);
      expect(Math.sqrt(scores.reduce((a, x) => a + x * x, 0))).toBeCloseTo(1, 4);
      const counts = out.subarray(D + COCO_CLASSES.length, D + 2 * COCO_CLASSES.length);
      expect(counts.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
      // The grid's cells: each class's best cell is its score over the whole photo.
      const grid = out.subarray(D + 2 * COCO_CLASSES.length);
      const cellMax = Array.from({ length: COCO_CLASSES.length }, (_, k) => Math.max(...Array.from({ length: 9 }, (_, c) => grid[k * 9 + c]!)));
      const gridNorm = Math.sqrt(grid.reduce((a, x) => a + x * x, 0));
      expect(gridNorm).toBeCloseTo(1, 4);
      expect(cellMax.indexOf(Math.max(...cellMax))).toBe(Array.from(scores).indexOf(Math.max(...scores)));
    } finally {
      await session.release();
    }
  }, 60_000);
});

describe('a photo described by several views (the built-in manifest)', () => {
  const prepare = async (svg: string) => model.prepareImage(await sharp(Buffer.from(svg)).png().toBuffer());
  const at = (x: number) => sceneSvg({ background: '#ffffff', items: [{ shape: 'square', colour: 'red', x, y: 0.5, size: 0.3, rotation: 0 }, { shape: 'circle', colour: 'blue', x: 1 - x, y: 0.3, size: 0.2, rotation: 0 }] }, 224);

  it('ships the views the tower build writes', () => {
    expect(model.manifest.image.views).toEqual(cocoPhotoViews(buildCocoImageTowerOnnx(224, COCO_POOLS).blocks, false));
    expect(model.photoFeatureKey.startsWith(`${model.imageTowerKey}#photo-`)).toBe(true);
  });

  it('averages the tower over the photo, its mirror and its middle, in one run', async () => {
    const p = await prepare(at(0.25));
    const layout = model.manifest.image.preprocess.layout;
    const [photo, mirror, middle] = await model.imageFeatures([p, viewOf('hflip', layout)(p), viewOf('crop-center', layout)(p)]);
    const [f] = await model.photoFeatures([p]);
    const g = block(f!, blocks[4]!.name);
    const mean = (name: string, of: Float32Array[]) => Array.from(block(of[0]!, name), (_, i) => of.reduce((s, v) => s + block(v, name)[i]!, 0) / of.length);
    for (const b of blocks.filter((x) => !/colour [23]/.test(x.name))) expect(distance(block(f!, b.name), Float32Array.from(mean(b.name, [photo!, mirror!, middle!])))).toBeLessThan(1e-5);
    expect(distance(g, block(photo!, blocks[4]!.name))).toBeGreaterThan(1e-3); // the views did change it
  });

  it('keeps left and right apart in the colour grids (a mirrored photo differs there)', async () => {
    const [left, right] = await model.photoFeatures([await prepare(at(0.25)), await prepare(at(0.75))]);
    for (const grid of ['colour 2×2', 'colour 3×3']) {
      expect(distance(block(left!, grid), block(right!, grid))).toBeGreaterThan(5 * distance(block(left!, 'colour 1×1'), block(right!, 'colour 1×1')));
    }
  });

  it('gives the same features one photo at a time as in a batch', async () => {
    const ps = await Promise.all([at(0.25), at(0.5), at(0.75)].map(prepare));
    const batch = await model.photoFeatures(ps);
    const [one] = await model.photoFeatures([ps[1]!]);
    expect(distance(one!, batch[1]!)).toBeLessThan(1e-4);
    expect(await model.photoFeatures([])).toEqual([]);
  });
});

