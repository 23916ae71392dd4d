/**
 * The built-in model on a kind of photo Flickr8k does not show: coloured shapes and where they are
 * (tests/helpers/scenes.ts). Untrained, it must see colour; retrained on a small set of such scenes whose shapes
 * have invented names, it must learn them and find the right scene among others it never saw.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModelDir } from '../../main/backend/catalog/registry';
import { openModel } from '../../main/backend/catalog/open-model';
import type { EmbeddingModel } from '../../main/backend/model/types';
import { MemoryFeatureCache } from '../../main/backend/train/features';
import { evaluateModelOnSet, trainModel } from '../../main/backend/train/job';
import { initTf } from '../../main/backend/train/tf';
import { INVENTED_SHAPE_WORDS, makeSceneSet, SCENE_COLOURS, sceneSvg, type SceneShape } from '../helpers/scenes';

let model: EmbeddingModel;
let tmp: string;

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-scenes-'));
  model = await openModel(builtinModelDir());
  await initTf();
});

afterAll(async () => {
  await model?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** One photo per colour: the same shape at the same place, so only the colour tells them apart. */
async function oneShapePerColour(shape: SceneShape, colours: string[]): Promise<Float32Array[]> {
  const prepared = await Promise.all(
    colours.map(async (colour) => {
      const svg = sceneSvg({ background: '#f4f1ea', items: [{ shape, colour, x: 0.5, y: 0.5, size: 0.45, rotation: 0 }] }, 224);
      return model.prepareImage(await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer());
    }),
  );
  return model.embedImageFeatures(await model.imageFeatures(prepared));
}

describe('built-in model on scenes of coloured shapes', () => {
  it('ranks the photo of the named colour first ("a blue square"), untrained', async () => {
    const colours = ['red', 'green', 'blue', 'yellow', 'orange', 'purple', 'pink', 'black'];
    expect(colours.every((c) => c in SCENE_COLOURS)).toBe(true);
    for (const shape of ['square', 'circle'] as const) {
      const photos = await oneShapePerColour(shape, colours);
      const wrong: string[] = [];
      for (const colour of ['blue', 'red', 'green', 'yellow']) {
        const [q] = await model.embedTexts([`a ${colour} ${shape}`]);
        const scores = photos.map((v) => dot(v, q!));
        const top = colours[scores.indexOf(Math.max(...scores))]!;
        if (top !== colour) wrong.push(`"a ${colour} ${shape}" ranked the ${top} ${shape} first`);
      }
      expect(wrong, wrong.join('; ')).toEqual([]);
    }
  }, 60_000);

  it('retrained on 150 scenes whose shapes have invented names, learns them and finds scenes it never saw', async () => {
    const train = path.join(tmp, 'train');
    const test = path.join(tmp, 'test');
    await makeSceneSet(train, { photos: 150, seed: 31, shapeWords: INVENTED_SHAPE_WORDS });
    await makeSceneSet(test, { photos: 60, seed: 32, shapeWords: INVENTED_SHAPE_WORDS });
    expect((await fs.readdir(path.join(train, 'Images'))).length).toBe(150);
    const cache = new MemoryFeatureCache();
    const before = await evaluateModelOnSet(model, test, cache);
    const r = await trainModel({ set: train, modelsDir: path.join(tmp, 'models'), cache, model, seed: 3 });
    // The fine-tune says what it chose on the held-out photos, and the gain it measured there is far beyond its error.
    expect(['small', 'whole']).toContain(r.heldOut?.choice?.step);
    expect(r.heldOut!.choice!.share).toBeGreaterThan(0);
    expect(r.heldOut!.gainR5.mean).toBeGreaterThan(15 + 2 * r.heldOut!.gainR5.se);
    const retrained = await openModel(path.join(tmp, 'models', r.model));
    const after = await evaluateModelOnSet(retrained, test, cache);
    await retrained.dispose();
    // 60 scenes: chance R@5 is 8.3%.
    expect(after.textToImage.r5).toBeGreaterThan(before.textToImage.r5 + 25);
    expect(after.textToImage.r5).toBeGreaterThan(50);
  }, 900_000); // cross-validated fine-tune of 150 photos: minutes on a busy 2-core machine
});
