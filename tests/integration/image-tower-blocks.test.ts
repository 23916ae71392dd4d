/**
 * The built-in image tower's feature blocks (scripts/build-model/coco-image-tower.ts), run by onnxruntime on the
 * tower `npm install` built: the colour shares name the colour of a plain photo, and the grid blocks tell where
 * a thing is while the global ones barely move.
 */
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModelDir } from '../../main/backend/catalog/registry';
import { openModel } from '../../main/backend/catalog/open-model';
import type { EmbeddingModel } from '../../main/backend/model/types';
import { buildCocoImageTowerOnnx, COLOUR_PROTOTYPES, COCO_POOLS } from '../../scripts/build-model/coco-image-tower';
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
});
