/**
 * The built-in model as installed: towers built by `npm run build:model` (npm install runs it), heads
 * committed. It must load with no network, embed photos and text to unit vectors, and shrug off unknown words.
 */
import { existsSync, mkdtempSync, promises as fs, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel } from '../../main/backend/catalog/open-model';
import { builtinModelDir, ModelRegistry } from '../../main/backend/catalog/registry';
import type { EmbeddingModel } from '../../main/backend/model/types';
import { readManifest } from '../../main/backend/catalog/manifest';
import { loadHeads } from '../../main/backend/model/heads-format';
import { memoryRowBytes } from '../../main/backend/model/caption-memory';
import { MemoryFeatureCache } from '../../main/backend/train/features';
import { readCaptionSet } from '../../main/backend/train/readers';
import { trainModel } from '../../main/backend/train/job';
import { initTf } from '../../main/backend/train/tf';
import { BUILTIN_RECIPE } from '../../main/backend/train/recipe';
import { makeCaptionedSet } from '../helpers/captioned-set';
import { makePhotos } from '../helpers/fixtures';

const dir = builtinModelDir();
let model: EmbeddingModel;
let tmp: string;

const norm = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-builtin-'));
  model = await openModel(dir);
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
    // A query moves toward the photos of its nearest captions in the shipped caption memory: a little, not away.
    const queries = await model.embedQueries(['two dogs running on the beach', 'a man in a red shirt climbs a rock']);
    queries.forEach((q, i) => {
      expect(norm(q)).toBeCloseTo(1, 4);
      expect(dot(q, txt[i]!)).toBeLessThan(0.9999);
      expect(dot(q, txt[i]!)).toBeGreaterThan(0.8);
    });
  });

  it('reads a typed query like a caption (case, spaces, final period) and gives every text a vector', async () => {
    const [caption, typed, other] = await model.embedTexts(['A dog runs on the beach .', '  a dog runs on the BEACH', 'a man climbs a rock']);
    expect(dot(caption, typed)).toBeGreaterThan(0.99999);
    expect(dot(caption, other)).toBeLessThan(0.9);
    // Words the sentence encoder never saw are cut into pieces it knows, not dropped.
    const [unknown, emoji, empty] = await model.embedTexts(['zxqv wubbalubba', '🐕🌊', '']);
    for (const v of [unknown, emoji, empty]) {
      expect(norm(v!)).toBeCloseTo(1, 4);
      expect(v!.every((x) => Number.isFinite(x))).toBe(true);
    }
    // Search asks the word list first, so such queries get "no known words" instead of confident nonsense.
    expect(await model.knowsAnyWord('zxqv wubbalubba')).toBe(false);
    expect(await model.knowsAnyWord('🐕🌊')).toBe(false);
    expect(await model.knowsAnyWord('a fire hydrant')).toBe(true);
    expect(await model.knowsAnyWord('zxqv dog')).toBe(true);
  });

  it("retrains as a fine-tune with its recipe's views (the mirrored photo, three crops) and cosine schedule", async () => {
    await initTf();
    const set = path.join(tmp, 'set');
    await makeCaptionedSet(set, { photos: 24, seed: 5, layout: 'captions.txt' });
    const cache = new MemoryFeatureCache();
    const r = await trainModel({ set, modelsDir: path.join(tmp, 'models'), cache, model, epochs: 2, seed: 1 });
    // Every view of every photo went through the real image tower.
    expect(BUILTIN_RECIPE.augment).toEqual(['hflip', 'crop-center', 'crop-tl', 'crop-br']);
    expect(cache.size(model.imageTowerKey)).toBe(24);
    for (const v of BUILTIN_RECIPE.augment) expect(cache.size(`${model.imageTowerKey}#${v}`)).toBe(24);
    // --epochs caps both sizes of step; the epochs chosen on the held-out photos are recorded.
    expect(r.epochs).toBeLessThanOrEqual(2);
    const saved = await readManifest(path.join(tmp, 'models', r.model));
    expect(saved.training?.options).toMatchObject({ augment: BUILTIN_RECIPE.augment, schedule: 'cosine', epochs: r.heldOut!.choice!.epochs, fineTune: true });
    expect(r.heldOut!.choice!.epochs).toBeLessThanOrEqual(2);
    // The built-in heads are three trained apart, mixed into one 256-value embedding; a fine-tune keeps all three.
    expect(model.heads.spec.members).toBe(BUILTIN_RECIPE.memberSeeds.length);
    const tuned = await loadHeads(path.join(tmp, 'models', r.model, saved.heads));
    expect(tuned.spec).toMatchObject({ members: 3, embedDim: 256 });
    expect(tuned.weights.get('mix.weight')!.shape).toEqual([768, 256]);
    // The query bank's captions go along; the base's embedded rows (its heads', not these) do not.
    expect(saved.text.queryBank).toEqual({ file: 'query-bank.txt', beta: 15, lambda: 0.75 });
    expect(existsSync(path.join(tmp, 'models', r.model, 'query-bank.txt'))).toBe(true);
    expect(existsSync(path.join(tmp, 'models', r.model, 'query-bank.f32'))).toBe(false);
    // …and the set's captions join it, so what is typical of the new photos is in the bank too.
    const grown = (await fs.readFile(path.join(tmp, 'models', r.model, 'query-bank.txt'), 'utf8')).trim().split('\n');
    const baseBank = (await fs.readFile(path.join(builtinModelDir(), 'query-bank.txt'), 'utf8')).trim().split('\n');
    const setCaptions = new Set((await readCaptionSet(set)).images.flatMap((im) => im.captions.map((c) => c.replace(/\s+/g, ' ').trim())));
    expect(grown.slice(0, baseBank.length)).toEqual(baseBank);
    expect(grown.length).toBeGreaterThan(baseBank.length);
    for (const c of grown.slice(baseBank.length)) expect(setCaptions.has(c)).toBe(true);
    // The caption memory: the base's rows and one per photo the saved heads were trained on (model/caption-memory.ts),
    // with the base's settings and weight (a fine-tune that rehearses keeps it).
    expect(saved.text.captionMemory).toEqual(model.manifest.text.captionMemory);
    expect(r.heldOut!.choice!.memoryWeight).toBe(model.manifest.text.captionMemory!.weight);
    // Every step replayed one of the base's captioned photos for every two of the set's (rehearsal.ts); 1,000 others
    // checked that what the base knew stays (R@1 among them, before and after).
    expect(saved.training?.options.rehearsal).toBe(Math.max(8, (saved.training?.options.batchSize as number) / 2));
    expect(r.heldOut!.choice!.kept).toMatchObject({ photos: 1000 });
    expect(r.heldOut!.choice!.kept!.before).toBeGreaterThan(50);
    const rowBytes = memoryRowBytes(model.manifest.image.featureDim, model.manifest.text.featureDim);
    const baseRows = statSync(path.join(builtinModelDir(), 'caption-memory.bin')).size / rowBytes;
    expect(baseRows).toBe(6000);
    expect(statSync(path.join(tmp, 'models', r.model, 'caption-memory.bin')).size / rowBytes).toBe(baseRows + (r.heldOut!.finalTrainPhotos > 0 ? 24 : 0));
    const retrained = await openModel(path.join(tmp, 'models', r.model));
    const [v] = await retrained.embedTexts(['a red circle on the left']);
    // The bank is embedded as queries are: moved by the caption memory.
    const bank = (await retrained.queryBank())!;
    const [first] = await retrained.embedQueries([(await fs.readFile(path.join(tmp, 'models', r.model, 'query-bank.txt'), 'utf8')).split('\n')[0]!]);
    const row = bank.vectors.subarray(0, bank.dim);
    expect(Math.max(...first!.map((x, j) => Math.abs(x - row[j]!)))).toBeLessThan(1e-5);
    await retrained.dispose();
    expect(v!.length).toBe(model.embedDim);
    expect(norm(v!)).toBeCloseTo(1, 4);
  }, 240_000);

  it('learns words it has never seen from a captioned set, and keeps working on ordinary captions', async () => {
    await initTf();
    // Shapes named by invented words: nothing in the towers knows them.
    const words = { circle: 'zorblat', square: 'quibbix', triangle: 'flarnel' } as const;
    const set = path.join(tmp, 'invented');
    const test = path.join(tmp, 'invented-test');
    await makeCaptionedSet(set, { photos: 120, seed: 21, shapeWords: words, size: 96 });
    const photos = await makeCaptionedSet(test, { photos: 60, seed: 22, shapeWords: words, size: 96 });
    const cache = new MemoryFeatureCache();
    /** Share of the 10 best photos for "a <word>" that show that shape, over the three words. */
    const precision = async (m: EmbeddingModel) => {
      const prepared = await Promise.all(photos.map((p) => m.prepareImage(path.join(test, 'Images', p.file))));
      const img = await m.embedImageFeatures(await m.imageFeatures(prepared));
      let hits = 0;
      for (const [shape, word] of Object.entries(words)) {
        const [q] = await m.embedTexts([`a ${word}`]);
        const top = img.map((v, i) => ({ i, s: dot(v, q!) })).sort((a, b) => b.s - a.s).slice(0, 10);
        hits += top.filter((t) => photos[t.i]!.shape === shape).length;
      }
      return hits / 30;
    };
    const before = await precision(model);
    const r = await trainModel({ set, modelsDir: path.join(tmp, 'models'), cache, model, epochs: 8, seed: 2 });
    const retrained = await openModel(path.join(tmp, 'models', r.model));
    const after = await precision(retrained);
    // The words the set taught are known to the new version (not to the built-in model).
    expect(await model.knowsAnyWord('zorblat')).toBe(false);
    expect(await retrained.knowsAnyWord('zorblat')).toBe(true);
    // Ordinary captions still land where the built-in model puts them (the fine-tune blends, it does not replace).
    const sentences = ['two dogs running on the beach', 'a man in a red shirt climbs a rock', 'children playing in a fountain'];
    const base = await model.embedTexts(sentences);
    const now = await retrained.embedTexts(sentences);
    await retrained.dispose();
    expect(after).toBeGreaterThan(0.7);
    expect(after).toBeGreaterThan(before + 0.25);
    for (let i = 0; i < sentences.length; i++) expect(dot(base[i]!, now[i]!)).toBeGreaterThan(0.8);
  }, 600_000); // trains twice on 120 photos: over a minute on a quiet 2-core machine, several on a busy one
});
