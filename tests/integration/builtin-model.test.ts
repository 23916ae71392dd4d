/**
 * The built-in model as installed: towers built by `npm run build:model` (npm install runs it), heads
 * committed. It must load with no network, embed photos and text to unit vectors, and shrug off unknown words.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../main/backend/model/model';
import { builtinModelDir, ModelRegistry } from '../../main/backend/model/registry';
import type { EmbeddingModel } from '../../main/backend/model/types';
import { readManifest } from '../../main/backend/model/manifest';
import { MemoryFeatureCache } from '../../main/backend/train/features';
import { trainModel } from '../../main/backend/train/job';
import { initTf } from '../../main/backend/train/tf';
import { makeCaptionedSet } from '../helpers/captioned-set';
import { makePhotos } from '../helpers/fixtures';

const dir = builtinModelDir();
let model: EmbeddingModel;
let tmp: string;

const norm = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-builtin-'));
  model = await loadModel(dir);
});

afterAll(async () => {
  await model?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('built-in model', () => {
  it('is complete after install and is the default model', () => {
    for (const f of ['model.json', 'heads.json', 'heads.bin', 'image_tower.onnx', 'text_tower.onnx', 'tokenizer.json']) {
      expect(existsSync(path.join(dir, f)), `${f} in ${dir}`).toBe(true);
    }
    const registry = new ModelRegistry(path.join(tmp, 'models'));
    expect(registry.defaultId()).toBe('builtin');
    expect(model.manifest.training?.dataset).toMatch(/Flickr8k/);
  });

  it('embeds photos and texts to unit vectors of the same size', async () => {
    const photos = await makePhotos(path.join(tmp, 'p'), 3, 11);
    const prepared = await Promise.all(photos.map((p) => model.prepareImage(p.path)));
    const img = await model.embedImageFeatures(await model.imageFeatures(prepared));
    const txt = await model.embedTexts(['two dogs running on the beach', 'a man in a red shirt climbs a rock']);
    for (const v of [...img, ...txt]) {
      expect(v.length).toBe(model.embedDim);
      expect(norm(v)).toBeCloseTo(1, 4);
    }
    // Different photos and different sentences land in different places.
    expect(dot(img[0], img[1])).toBeLessThan(0.9999);
    expect(dot(txt[0], txt[1])).toBeLessThan(0.99);
  });

  it('ignores unknown words and punctuation instead of letting them dominate', async () => {
    const [plain, noisy] = await model.embedTexts(['a dog on the beach', 'a dog, on the beach!! zxqv wubbalubba']);
    expect(dot(plain, noisy)).toBeGreaterThan(0.999);
    const [unknown] = await model.embedTexts(['zxqv wubbalubba']);
    expect(unknown.every((x) => Number.isFinite(x))).toBe(true);
  });

  it("retrains with its own recipe (mirrored views, attention-pooled words, cosine schedule)", async () => {
    await initTf();
    const set = path.join(tmp, 'set');
    await makeCaptionedSet(set, { photos: 24, seed: 5, layout: 'captions.txt' });
    const cache = new MemoryFeatureCache();
    const r = await trainModel({ set, baseModelDir: dir, modelsDir: path.join(tmp, 'models'), cache, model, epochs: 2, seed: 1 });
    // Both views of every photo went through the real image tower.
    expect(cache.size(model.imageTowerKey)).toBe(24);
    expect(cache.size(`${model.imageTowerKey}#hflip`)).toBe(24);
    expect(r.epochs).toBe(2); // a fixed schedule: no early stop
    const saved = await readManifest(path.join(tmp, 'models', r.model));
    expect(saved.training?.options).toMatchObject({ augment: ['hflip'], schedule: 'cosine', epochs: 2 });
    const retrained = await loadModel(path.join(tmp, 'models', r.model));
    const [v] = await retrained.embedTexts(['a red circle on the left']);
    await retrained.dispose();
    expect(v!.length).toBe(model.embedDim);
    expect(norm(v!)).toBeCloseTo(1, 4);
  });
});
