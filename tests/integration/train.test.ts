import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalResult, TrainEpoch } from '../../shared/api';
import { generateTestModel } from '../helpers/generate-model';
import { loadHeads, type Heads } from '../../main/backend/model/heads-format';
import { initHeads } from '../../main/backend/model/heads';
import { readManifest } from '../../main/backend/catalog/manifest';
import { openModel } from '../../main/backend/catalog/open-model';
import type { EmbeddingModel } from '../../main/backend/model/types';
import { MemoryFeatureCache } from '../../main/backend/train/features';
import { evaluateModelOnSet, runTrainingInWorker, trainModel } from '../../main/backend/train/job';
import { FINE_TUNE } from '../../main/backend/train/recipe';
import { saveTrainedModel } from '../../main/backend/train/save';
import { crossValidatedFineTune } from '../../main/backend/train/cross-validate';
import { foldsByPhoto, makeRng } from '../../main/backend/train/split';
import { initTf, tf } from '../../main/backend/train/tf';
import { blendHeads, rankScore, trainHeads, type ShareScores } from '../../main/backend/train/trainer';
import { recallFromScores, recallScore, textToImageRanks } from '../../main/backend/train/evaluate';
import { TfHeads } from '../../main/backend/train/heads-tf';
import { dataPaths } from '../../main/backend/paths';
import { Store } from '../../main/backend/store';
import { makeCaptionedSet } from '../helpers/captioned-set';

process.env.PHOTO_SEARCH_QUIET = '1';

const PHOTOS = 150;
let tmp: string;
let baseDir: string;
let setDir: string;
const cache = new MemoryFeatureCache();
let model: EmbeddingModel;
let decodes = 0;
/** Decodes given a path (the file read a second time) instead of the bytes already read for the hash. */
let decodesByPath = 0;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'train-int-'));
  baseDir = path.join(tmp, 'base');
  setDir = path.join(tmp, 'set');
  await generateTestModel(baseDir, { seed: 1, embedDim: 32 });
  await makeCaptionedSet(setDir, { photos: PHOTOS, seed: 3, layout: 'captions.txt' });
  model = await openModel(baseDir);
  // Count decodes: the second run on the same set must decode nothing.
  const prepare = model.prepareImage.bind(model);
  (model as { prepareImage: EmbeddingModel['prepareImage'] }).prepareImage = (input) => {
    decodes++;
    if (typeof input === 'string') decodesByPath++;
    return prepare(input);
  };
  await initTf();
});

afterAll(async () => {
  await model?.dispose();
  await fs.rm(tmp, { recursive: true, force: true });
});

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const p = path.join(e.parentPath, e.name);
      out[path.relative(dir, p)] = (await fs.readFile(p)).toString('base64');
    }
  }
  return out;
}

describe('retraining on a captioned set', () => {
  let firstModelId = '';

  it('a short seeded training lifts text→image R@5 far above chance and saves a new version', async () => {
    const baseBefore = await snapshot(baseDir);
    const epochs: TrainEpoch[] = [];
    const stages = new Set<string>();
    const modelsDir = path.join(tmp, 'models');
    const r = await trainModel({
      set: setDir,
      modelsDir,
      cache,
      model,
      name: 'Shapes',
      epochs: 8,
      batchSize: 16,
      captionsPerPhoto: 2,
      lr: 5e-3,
      seed: 1,
      onEpoch: (e) => epochs.push(e),
      onProgress: (p) => stages.add(p.stage.replace(/\d+ of \d+/, 'N of M')),
    });
    expect(decodes).toBe(PHOTOS);
    // Each photo file is read once: its bytes give both the cache key and the decode.
    expect(decodesByPath).toBe(0);
    // The base model records no training recipe: no augmented views.
    expect(cache.size(model.imageTowerKey)).toBe(PHOTOS);
    expect(cache.size(`${model.imageTowerKey}#hflip`)).toBe(0);
    // 30 validation photos: chance R@5 is 5/30 ≈ 16.7 %.
    const chance = (5 / r.val.images) * 100;
    expect(r.val.images).toBe(30);
    expect(r.val.textToImage.r5).toBeGreaterThan(3 * chance);
    expect(r.val.textToImage.r5).toBeGreaterThan(r.before!.textToImage.r5 + 25);
    expect(epochs.length).toBe(r.epochs);
    expect(epochs.length).toBeGreaterThan(0);
    // The kept heads come from an epoch that beat the start (0 would mean the base heads were kept).
    expect(r.bestEpoch).toBeGreaterThan(0);
    expect(r.bestEpoch).toBeLessThanOrEqual(r.epochs);
    expect([...stages]).toEqual(expect.arrayContaining(['Reading the captioned set', 'Computing photo features', 'Epoch N of M', 'Saving the new model']));

    const m = await readManifest(path.join(modelsDir, r.model));
    expect(m.id).toBe(r.model);
    expect(m.parent).toBe((await readManifest(baseDir)).id);
    expect(m.name).toBe('Shapes');
    expect(m.training?.dataset).toBe(path.resolve(setDir));
    expect(m.training?.backend).toMatch(/wasm|cpu|tensorflow/);
    expect((m.training?.metrics as { before: unknown }).before).toEqual(r.before);
    // Towers are hard links of the base model's files.
    const a = await fs.stat(path.join(baseDir, m.image.file));
    const b = await fs.stat(path.join(modelsDir, r.model, m.image.file));
    expect(b.ino).toBe(a.ino);
    // The base model is untouched, and no temp folder is left.
    expect(await snapshot(baseDir)).toEqual(baseBefore);
    expect((await fs.readdir(modelsDir)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    // The saved model's recall (ONNX heads) matches the one reported.
    const saved = await openModel(path.join(modelsDir, r.model));
    const evalAll = await evaluateModelOnSet(saved, setDir, cache);
    await saved.dispose();
    expect(evalAll.images).toBe(PHOTOS);
    expect(evalAll.captions).toBe(PHOTOS * 5);
    expect(evalAll.textToImage.r10).toBeGreaterThan(30);
    firstModelId = r.model;
  });

  it('a second run on the same set decodes no photo (features come from the cache)', async () => {
    const before = decodes;
    const r = await trainModel({ set: setDir, modelsDir: path.join(tmp, 'models'), cache, model, epochs: 1, seed: 2 });
    expect(decodes).toBe(before);
    expect(r.model).not.toBe(firstModelId);
  });

  it("retraining keeps the base model's data recipe (flipped and cropped views from the same decode, feature dropout)", async () => {
    const withRecipe = path.join(tmp, 'base-recipe');
    await fs.cp(baseDir, withRecipe, { recursive: true });
    const manifestFile = path.join(withRecipe, 'model.json');
    const m = JSON.parse(await fs.readFile(manifestFile, 'utf8'));
    await fs.writeFile(manifestFile, JSON.stringify({ ...m, id: 'with-recipe', training: { options: { augment: ['hflip', 'crop-tl'], featureDropout: 0.2 } } }));
    const own = new MemoryFeatureCache();
    const recipeModel = await openModel(withRecipe);
    let ownDecodes = 0;
    const prepare = recipeModel.prepareImage.bind(recipeModel);
    (recipeModel as { prepareImage: EmbeddingModel['prepareImage'] }).prepareImage = (input) => {
      ownDecodes++;
      return prepare(input);
    };
    const modelsDir = path.join(tmp, 'models');
    // A fine-tune keeps the views of its base's recipe (here the mirrored photo and a crop).
    const r = await trainModel({ set: setDir, modelsDir, cache: own, model: recipeModel, epochs: 1, seed: 3 });
    await recipeModel.dispose();
    // One decode per photo serves every view; each is cached under its own key.
    expect(ownDecodes).toBe(PHOTOS);
    expect(own.size(recipeModel.imageTowerKey)).toBe(PHOTOS);
    expect(own.size(`${recipeModel.imageTowerKey}#hflip`)).toBe(PHOTOS);
    expect(own.size(`${recipeModel.imageTowerKey}#crop-tl`)).toBe(PHOTOS);
    const saved = await readManifest(path.join(modelsDir, r.model));
    expect(saved.training?.options).toMatchObject({ augment: ['hflip', 'crop-tl'], featureDropout: 0.2 });

    // A set whose features would not fit in memory three times (the photo and two views) trains without the views, and says so.
    const small = new MemoryFeatureCache();
    const stages: string[] = [];
    const again = await openModel(withRecipe);
    const budget = PHOTOS * again.manifest.image.featureDim * 4 * 2.5;
    const r2 = await trainModel({ set: setDir, modelsDir, cache: small, model: again, epochs: 1, seed: 3, augment: ['hflip', 'crop-tl'], featureMemoryBudget: budget, onProgress: (p) => stages.push(p.stage) });
    await again.dispose();
    expect(small.size(`${again.imageTowerKey}#hflip`)).toBe(0);
    expect(small.size(`${again.imageTowerKey}#crop-tl`)).toBe(0);
    expect(stages).toContain(`Training without mirrored or cropped photos: ${PHOTOS} photos' features would not fit in memory 3 times`);
    expect((await readManifest(path.join(modelsDir, r2.model))).training?.options).toMatchObject({ augment: [] });

    // Asked for the mirrored view only, the crop is left out.
    const plain = new MemoryFeatureCache();
    const third = await openModel(withRecipe);
    const r3 = await trainModel({ set: setDir, modelsDir, cache: plain, model: third, epochs: 1, seed: 3, augment: ['hflip'] });
    await third.dispose();
    expect(plain.size(`${third.imageTowerKey}#hflip`)).toBe(PHOTOS);
    expect(plain.size(`${third.imageTowerKey}#crop-tl`)).toBe(0);
    expect((await readManifest(path.join(modelsDir, r3.model))).training?.options).toMatchObject({ augment: ['hflip'], fineTune: true });
  });

  it('retraining a trained model on more photos of the same kind raises recall on photos neither run saw', async () => {
    const modelsDir = path.join(tmp, 'models');
    const trainedDir = path.join(modelsDir, firstModelId);
    const more = path.join(tmp, 'set-b');
    const unseen = path.join(tmp, 'set-c');
    await makeCaptionedSet(more, { photos: 100, seed: 11, layout: 'captions.txt' });
    await makeCaptionedSet(unseen, { photos: 100, seed: 12, layout: 'captions.txt' });
    const trainedModel = await openModel(trainedDir);
    const before = await evaluateModelOnSet(trainedModel, unseen, cache);
    const progress: { stage: string; done: number; total: number }[] = [];
    const r = await trainModel({ set: more, modelsDir, cache, model: trainedModel, epochs: 6, seed: 5, onProgress: (p) => progress.push(p) });
    // Progress counts every step of both step sizes on the five folds and of the final run, in order, to the end.
    const steps = progress.filter((p) => /^(Measuring on held-out photos \((small|whole) step, \d of 5\): epoch \d of 6 at most|Training on all 100 photos \((small|whole) step\): epoch \d of \d)$/.test(p.stage));
    expect(steps.map((p) => p.done)).toEqual(steps.map((_, i) => i + 1));
    expect(new Set(steps.map((p) => p.total)).size).toBe(1);
    expect(steps.some((p) => p.stage.startsWith('Measuring on held-out photos (small step, 5 of 5)'))).toBe(true);
    expect(steps.some((p) => p.stage.startsWith('Measuring on held-out photos (whole step, 5 of 5)'))).toBe(true);
    const choice = r.heldOut!.choice!;
    expect(steps.at(-1)!.stage).toBe(`Training on all 100 photos (${choice.step} step): epoch ${choice.epochs} of ${choice.epochs}`);
    await trainedModel.dispose();
    const retrained = await openModel(path.join(modelsDir, r.model));
    const after = await evaluateModelOnSet(retrained, unseen, cache);
    await retrained.dispose();
    const search = (e: EvalResult) => (e.textToImage.r1 + e.textToImage.r5 + e.textToImage.r10) / 3;
    // Better on 100 photos that neither the first training nor the fine-tune saw, and on the set's own held-out photos.
    expect(search(after)).toBeGreaterThan(search(before) + 2);
    expect(after.textToImage.r5).toBeGreaterThan(before.textToImage.r5);
    expect(r.val.textToImage.r5).toBeGreaterThanOrEqual(r.before!.textToImage.r5);
    // The gain is measured by 5-fold cross-validation: every photo held out once, before and after pooled over the
    // folds, the paired change agreeing with the two figures; the saved heads are then fine-tuned on all 100 photos.
    expect(r.heldOut).toMatchObject({ folds: 5, photos: 100, finalTrainPhotos: 100 });
    expect(r.before!.images).toBe(100);
    expect(r.val.images).toBe(100);
    expect(r.before!.captions).toBe(500);
    expect(r.heldOut!.gainR5.mean).toBeCloseTo(r.val.textToImage.r5 - r.before!.textToImage.r5, 1);
    expect(r.heldOut!.gainR5.se).toBeGreaterThan(0);
    expect(r.history.every((e) => e.val?.images === 100)).toBe(true);
    // The fine-tune: the step, the epochs and the share chosen on the folds, and said.
    expect(FINE_TUNE.shares).toContain(r.blend);
    expect(choice.share).toBe(r.blend);
    expect(FINE_TUNE.steps.map((s) => s.lrFactor * 2e-3)).toContainEqual(choice.lr);
    expect(r.bestEpoch).toBe(choice.epochs);
    expect(r.epochs).toBeGreaterThanOrEqual(choice.epochs);
    expect(r.epochs).toBeLessThanOrEqual(6);
    const m = await readManifest(path.join(modelsDir, r.model));
    expect(m.training?.options).toMatchObject({ fineTune: true, lr: choice.lr, epochs: choice.epochs, schedule: 'cosine', blend: r.blend, folds: 5, trainPhotos: 100, valPhotos: 100 });
    expect(m.training?.metrics).toMatchObject({ before: r.before, after: r.val, gainR5: r.heldOut!.gainR5 });
    // A model whose heads were never trained (the generated base) trains from scratch at the full rate.
    expect((await readManifest(path.join(modelsDir, firstModelId))).training?.options).toMatchObject({ fineTune: false, lr: 5e-3 });
  });

  it('a fine-tune that is clearly worse across the folds keeps the starting heads', async () => {
    const modelsDir = path.join(tmp, 'models');
    const trainedDir = path.join(modelsDir, firstModelId);
    const trainedModel = await openModel(trainedDir);
    // A learning rate a thousand times too high wrecks every fold.
    const r = await trainModel({ set: setDir, modelsDir, cache, model: trainedModel, epochs: 2, seed: 8, lr: 0.2 });
    await trainedModel.dispose();
    expect(r.heldOut!.gainR5.mean).toBeLessThan(-2 * r.heldOut!.gainR5.se);
    expect(r.blend).toBe(0);
    expect(r.bestEpoch).toBe(0);
    expect(r.heldOut!.finalTrainPhotos).toBe(0);
    const kept = await loadHeads(path.join(modelsDir, r.model, 'heads.json'));
    const start = await loadHeads(path.join(trainedDir, 'heads.json'));
    for (const [name, t] of start.weights) expect([...kept.weights.get(name)!.data]).toEqual([...t.data]);
  });

  it('retraining an imported CLIP (identity adapter heads) starts from its zero-shot recall and does not lose it', async () => {
    const clipDir = path.join(tmp, 'clip-hf');
    await generateTestModel(clipDir, { seed: 4, layout: 'hf' });
    const clip = await openModel(clipDir);
    const r = await trainModel({ set: setDir, modelsDir: path.join(tmp, 'models'), cache: new MemoryFeatureCache(), model: clip, epochs: 3, seed: 6 });
    // "Before" is the zero-shot model on the held-out photos; the result is never below it.
    const zeroShot = await evaluateModelOnSet(clip, setDir, new MemoryFeatureCache());
    await clip.dispose();
    expect(zeroShot.images).toBe(PHOTOS);
    expect(r.val.textToImage.r5).toBeGreaterThanOrEqual(r.before!.textToImage.r5);
    const m = await readManifest(path.join(tmp, 'models', r.model));
    expect(m.training?.options).toMatchObject({ fineTune: true, lr: r.heldOut!.choice!.lr });
  });

  it('a set with too few photos is a clear error', async () => {
    const small = path.join(tmp, 'small');
    await makeCaptionedSet(small, { photos: 3, seed: 9, layout: 'results.csv' });
    const p = trainModel({ set: small, modelsDir: path.join(tmp, 'models'), cache, model });
    await expect(p).rejects.toThrow(/^Captioned set .*small has 3 usable photo\(s\); training needs at least 5/);
    await expect(p).rejects.toMatchObject({ code: 'bad_dataset' });
  });
});

describe('atomic save', () => {
  for (const failAt of ['files', 'heads', 'manifest', 'rename'] as const) {
    it(`a failure at "${failAt}" leaves no folder and the base untouched`, async () => {
      const modelsDir = path.join(tmp, `atomic-${failAt}`);
      const baseBefore = await snapshot(baseDir);
      const manifest = await readManifest(baseDir);
      const heads = await loadHeads(path.join(baseDir, manifest.heads));
      await expect(
        saveTrainedModel({
          modelsDir,
          baseDir,
          baseManifest: manifest,
          heads,
          id: 'broken',
          training: { dataset: 'x' },
          onStage: (s) => {
            if (s === failAt) throw new Error(`injected failure at ${s}`);
          },
        }),
      ).rejects.toThrow(`injected failure at ${failAt}`);
      expect(await fs.readdir(modelsDir)).toEqual([]);
      expect(await snapshot(baseDir)).toEqual(baseBefore);
      // The same save without the failure works and loads.
      const ok = await saveTrainedModel({ modelsDir, baseDir, baseManifest: manifest, heads, id: 'fine', training: { dataset: 'x' } });
      expect(await fs.readdir(modelsDir)).toEqual(['fine']);
      const m = await openModel(ok.dir);
      expect(m.id).toBe('fine');
      await m.dispose();
    });
  }
});

describe('trainer memory and determinism', () => {
  function synthetic(seed: number) {
    const rng = makeRng(seed);
    const spec = { kind: 'projection' as const, embedDim: 16, dropout: 0.1, imageInDim: 20, textInDim: 12, textPool: 'attention' as const, textPoolHidden: 8, textTokenMlp: { hidden: 8 }, logitScale: Math.log(1 / 0.07) };
    const n = 40;
    const imageFeatures = Array.from({ length: n }, () => Float32Array.from({ length: 20 }, () => rng() - 0.5));
    const captions = Array.from({ length: n * 3 }, (_, j) => {
      const L = 2 + (j % 4);
      return { photo: j % n, features: { data: Float32Array.from({ length: L * 12 }, () => rng() - 0.5), length: L } };
    });
    return { heads: initHeads(spec, seed), imageFeatures, captions, trainPhotos: [...Array(32).keys()], valPhotos: [32, 33, 34, 35, 36, 37, 38, 39] };
  }

  it('leaks no tensors across epochs and is reproducible with a seed', async () => {
    const start = tf.memory().numTensors;
    const counts: number[] = [];
    const run = () => trainHeads({ ...synthetic(4), epochs: 4, batchSize: 8, captionsPerPhoto: 2, seed: 7, patience: 10, onEpoch: () => counts.push(tf.memory().numTensors) });
    const a = await run();
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(start);
    const b = await run();
    expect(b.history.map((e) => e.loss)).toEqual(a.history.map((e) => e.loss));
    for (const [k, t] of a.heads.weights) expect(Array.from(b.heads.weights.get(k)!.data)).toEqual(Array.from(t.data));
    // The optimiser did move the weights: the training loss went down over the epochs.
    expect(a.history.at(-1)!.loss).toBeLessThan(a.history[0]!.loss - 0.05);
    const t = await trainHeads({ ...synthetic(4), epochs: 2, batchSize: 8, loss: 'tutorial', seed: 1 });
    expect(t.history.every((e) => Number.isFinite(e.loss))).toBe(true);
    expect(tf.memory().numTensors).toBe(start);
  });

  it('a fixed cosine schedule trains on every photo with no validation, over every epoch, with augmented views', async () => {
    const start = tf.memory().numTensors;
    const base = synthetic(6);
    const rng = makeRng(8);
    // A second view of each photo: the features plus a little noise.
    const view = base.imageFeatures.map((f) => f.map((x) => x + (rng() - 0.5) * 0.05));
    const all = [...Array(40).keys()];
    const lrs: number[] = [];
    const r = await trainHeads({ ...base, imageViews: [view], featureDropout: 0.2, trainPhotos: all, valPhotos: [], schedule: 'cosine', epochs: 5, batchSize: 8, captionsPerPhoto: 2, lr: 1e-2, seed: 3, onStep: (s) => lrs.push(s.lr) });
    expect(r.history.length).toBe(5);
    expect(r.history.every((e) => e.val === null)).toBe(true);
    expect(r.best.epoch).toBe(5);
    // Warm-up to the peak over the first epoch (5 steps), then decay to 0 at the last step.
    expect(lrs[4]).toBeCloseTo(1e-2, 8);
    expect(lrs[0]).toBeCloseTo(2e-3, 8);
    expect(lrs.at(-1)!).toBeLessThan(1e-4);
    expect(r.history.at(-1)!.loss).toBeLessThan(r.history[0]!.loss - 0.05);
    expect(tf.memory().numTensors).toBe(start);
    // Early stopping needs held-out photos; views must match the photos.
    await expect(trainHeads({ ...base, trainPhotos: all, valPhotos: [], epochs: 1 })).rejects.toThrow(/Validation needs at least 1 photo/);
    await expect(trainHeads({ ...base, imageViews: [view.slice(1)], epochs: 1 })).rejects.toThrow(/Every image view needs 40 feature vectors of 20 values/);
  });

  it('blends two heads in weight space (α = 0 is the first, 1 the second)', () => {
    const a = synthetic(1).heads;
    const b = synthetic(2).heads;
    const name = 'image.fc1.weight';
    for (const alpha of [0, 0.3, 1]) {
      const m = blendHeads(a, b, alpha);
      const i = 5;
      expect(m.weights.get(name)!.data[i]).toBeCloseTo((1 - alpha) * a.weights.get(name)!.data[i]! + alpha * b.weights.get(name)!.data[i]!, 6);
      expect(m.spec.logitScale).toBeCloseTo((1 - alpha) * a.spec.logitScale + alpha * b.spec.logitScale, 6);
    }
    expect([...blendHeads(a, b, 0).weights.get(name)!.data]).toEqual([...a.weights.get(name)!.data]);
  });

  /** Photos whose image and caption features share a hidden 6-d code (so there is something to learn). */
  function correlated(seed: number) {
    const rng = makeRng(seed);
    const n = 120;
    const gauss = () => (rng() + rng() + rng() - 1.5) * 1.2;
    const A = Array.from({ length: 20 * 6 }, gauss);
    const B = Array.from({ length: 12 * 6 }, gauss);
    const project = (M: number[], z: number[], out: number, noise: number) => Float32Array.from({ length: out }, (_, i) => z.reduce((s, v, k) => s + M[i * 6 + k]! * v, 0) + noise * gauss());
    const codes = Array.from({ length: n }, () => Array.from({ length: 6 }, gauss));
    const imageFeatures = codes.map((z) => project(A, z, 20, 0.3));
    const captions = Array.from({ length: n * 3 }, (_, j) => ({ photo: j % n, features: { data: project(B, codes[j % n]!, 12, 0.6), length: 1 } }));
    const spec = { kind: 'projection' as const, embedDim: 16, dropout: 0.1, imageInDim: 20, textInDim: 12, textPool: 'none' as const, textTokenMlp: null, logitScale: Math.log(1 / 0.07) };
    return { heads: initHeads(spec, seed), imageFeatures, captions, trainPhotos: [...Array(80).keys()], valPhotos: [...Array(40).keys()].map((i) => 80 + i) };
  }

  it('a fine-tune blends its last epoch with the start, and keeps the start when the blend is clearly worse on the held-out photos', async () => {
    const start = tf.memory().numTensors;
    const data = correlated(9);
    // Good starting heads: a normal training run.
    const good = await trainHeads({ ...data, epochs: 15, batchSize: 16, captionsPerPhoto: 2, lr: 1e-2, seed: 1, patience: 15 });
    expect(recallScore(good.best.val)).toBeGreaterThan(recallScore(good.initial) + 10);
    // A destructive fine-tune (a huge rate, no warm-up): every epoch does worse than the start; the guard keeps the start.
    const wreck = await trainHeads({ ...data, heads: good.heads, epochs: 3, batchSize: 16, captionsPerPhoto: 2, lr: 3, seed: 2, schedule: 'cosine', warmup: false, blend: 0.5 });
    const search = (r: { textToImage: { r1: number; r5: number; r10: number } }) => (r.textToImage.r1 + r.textToImage.r5 + r.textToImage.r10) / 3;
    expect(wreck.history.every((e) => search(e.val!) < search(wreck.initial))).toBe(true);
    expect(wreck.blend).toBe(0);
    expect(wreck.best.epoch).toBe(0);
    expect(wreck.best.val).toEqual(wreck.initial);
    for (const [k, t] of good.heads.weights) expect(Array.from(wreck.heads.weights.get(k)!.data)).toEqual(Array.from(t.data));
    // From random heads: the result is exactly the half-and-half blend of the start and the last epoch.
    const lastOnly = await trainHeads({ ...data, valPhotos: [], epochs: 6, batchSize: 16, captionsPerPhoto: 2, lr: 1e-2, seed: 3, schedule: 'cosine', warmup: false });
    const gentle = await trainHeads({ ...data, epochs: 6, batchSize: 16, captionsPerPhoto: 2, lr: 1e-2, seed: 3, schedule: 'cosine', warmup: false, blend: 0.5 });
    expect(gentle.blend).toBe(0.5);
    expect(gentle.best.epoch).toBe(6);
    expect(search(gentle.best.val)).toBeGreaterThan(search(gentle.initial) + 10);
    const name = 'image.fc1.weight';
    const expected = blendHeads(data.heads, lastOnly.heads, 0.5).weights.get(name)!.data;
    expect(Array.from(gentle.heads.weights.get(name)!.data)).toEqual(Array.from(expected));
    expect(tf.memory().numTensors).toBe(start);
  });

  it('cross-validation scores every photo once and chooses the step, the epoch and the share on the folds, each fold scored with the choice of the others', async () => {
    const start = tf.memory().numTensors;
    const data = correlated(11);
    const all = [...Array(120).keys()];
    const folds = foldsByPhoto(120, { seed: 4, folds: 4 });
    const recipe = { heads: data.heads, imageFeatures: data.imageFeatures, captions: data.captions, batchSize: 16, captionsPerPhoto: 2, seed: 3, patience: 3 };
    const small = { name: 'small' as const, lr: 1e-4, epochs: 6, warmup: false };
    const whole = { name: 'whole' as const, lr: 1e-2, epochs: 6, warmup: true };
    const epochs: TrainEpoch[] = [];
    // Only the start to choose from: the measured change is exactly zero and the saved heads are the start.
    const still = await crossValidatedFineTune({ ...recipe, folds, allPhotos: all, steps: [small], shares: [0] });
    expect(still.gainR5).toEqual({ mean: 0, se: 0 });
    expect(still.before).toEqual(still.after);
    expect(still.before).toMatchObject({ images: 120, captions: 360 });
    expect(still.choice.share).toBe(0);
    for (const [k, t] of data.heads.weights) expect([...still.heads.weights.get(k)!.data]).toEqual([...t.data]);
    // Random starting heads gain most from the whole step: chosen over the small one, with the whole share.
    const cv = await crossValidatedFineTune({ ...recipe, folds, allPhotos: all, steps: [small, whole], shares: [0.5, 1], onEpoch: (e) => epochs.push(e) });
    expect(cv.choice).toMatchObject({ step: 'whole', lr: 1e-2, share: 1 });
    expect(cv.choice.epochs).toBeGreaterThanOrEqual(1);
    expect(cv.choice.epochs).toBeLessThanOrEqual(6);
    expect(cv.gainR5.mean).toBeGreaterThan(10 + 2 * cv.gainR5.se);
    expect(cv.after.textToImage.r5 - cv.before.textToImage.r5).toBeCloseTo(cv.gainR5.mean, 1);
    // Measured again by the caller (`rescore`, as search with a caption memory would rank): here by the trainer's own
    // score, so nothing may change. Each fold is trained again up to its choice and must give the heads it was made
    // with; the start is scored on the same captions.
    const scoredFolds: number[][] = [];
    const rescore = async (heads: Heads, fold: { val: number[] }, from: number[], weights: readonly number[]) => {
      scoredFolds.push(from);
      expect(weights).toEqual(from.length ? [0.25, 1] : [0.25]);
      const probe = new TfHeads(heads);
      try {
        const caps = data.captions.filter((c) => fold.val.includes(c.photo));
        const capPhoto = caps.map((c) => fold.val.indexOf(c.photo));
        const scores = tf.tidy(() => {
          const img = probe.embedImages(tf.tensor2d(fold.val.map((p) => [...data.imageFeatures[p]!])));
          const txt = probe.embedTexts(tf.tensor2d(caps.map((c) => [...c.features.data])));
          return tf.matMul(txt, img, false, true);
        });
        const flat = (await scores.data()) as Float32Array;
        scores.dispose();
        // The same ranks at every weight (no memory here): ties keep the start's weight.
        return weights.map(() => ({ val: recallFromScores(flat, fold.val.length, capPhoto), ranks: textToImageRanks(flat, fold.val.length, capPhoto) }));
      } finally {
        probe.dispose();
      }
    };
    const again = await crossValidatedFineTune({ ...recipe, folds, allPhotos: all, steps: [small, whole], shares: [0.5, 1], memory: { rescore, startWeight: 0.25, weights: [1, 0.25] } });
    expect(again.choice).toEqual({ ...cv.choice, memoryWeight: 0.25 });
    expect(again.after).toEqual(cv.after);
    expect(again.before).toEqual(cv.before);
    expect(again.gainR5.mean).toBeCloseTo(cv.gainR5.mean, 6);
    // The start with no photos of the set in its memory; each result with its fold's training photos.
    expect(scoredFolds).toEqual(folds.flatMap((fold) => [[], fold.train]));
    // A weight that ranks every caption's photo first is chosen, and the figures are its.
    const perfect = async (heads: Heads, fold: { val: number[] }, from: number[], weights: readonly number[]) => {
      const plain = await rescore(heads, fold, from, weights);
      return weights.map((w, i) => (w === 1 ? { val: { ...plain[i]!.val, textToImage: { r1: 100, r5: 100, r10: 100 } }, ranks: new Int32Array(plain[i]!.ranks.length) } : plain[i]!));
    };
    const leaning = await crossValidatedFineTune({ ...recipe, folds, allPhotos: all, steps: [small, whole], shares: [0.5, 1], memory: { rescore: perfect, startWeight: 0.25, weights: [1] } });
    expect(leaning.choice.memoryWeight).toBe(1);
    expect(leaning.after.textToImage).toEqual({ r1: 100, r5: 100, r10: 100 });
    expect(leaning.gainR5.mean).toBeCloseTo(100 - cv.before.textToImage.r5, 1);
    // One held-out split (big sets): the chosen blend is kept when it is scored, so `rescore` gets exactly the heads a
    // second run to the choice would give, and no such run is made (as many measuring steps as without a memory).
    const split = [{ train: all.filter((p) => p % 5 !== 0), val: all.filter((p) => p % 5 === 0) }];
    let measured = 0;
    const countSteps = (_: unknown, fold: number | null) => void (fold === 1 && measured++);
    await crossValidatedFineTune({ ...recipe, folds: split, allPhotos: all, steps: [small, whole], shares: [0.5, 1], onStep: countSteps });
    const plainSteps = measured;
    measured = 0;
    let given: Heads | null = null;
    const keeping = async (heads: Heads, fold: { val: number[] }, from: number[], weights: readonly number[]) => {
      if (from.length) given = heads;
      return rescore(heads, fold, from, weights);
    };
    const one = await crossValidatedFineTune({ ...recipe, folds: split, allPhotos: all, steps: [small, whole], shares: [0.5, 1], onStep: countSteps, memory: { rescore: keeping, startWeight: 0.25, weights: [1, 0.25] } });
    expect(measured).toBe(plainSteps);
    const chosen = one.choice.step === 'whole' ? whole : small;
    const second = await trainHeads({ ...recipe, lr: chosen.lr, epochs: chosen.epochs, warmup: chosen.warmup, schedule: 'cosine', stopAt: one.choice.epochs, blend: one.choice.share, trainPhotos: split[0]!.train, valPhotos: [] });
    expect(given).not.toBeNull();
    for (const [k, t] of second.heads.weights) expect([...given!.weights.get(k)!.data]).toEqual([...t.data]);
    // The final run replays the choice on all 120 photos: the whole step's schedule, stopped at the chosen epoch.
    const last = await trainHeads({ ...recipe, lr: 1e-2, epochs: 6, warmup: true, schedule: 'cosine', stopAt: cv.choice.epochs, trainPhotos: all, valPhotos: [], blend: 1 });
    expect([...cv.heads.weights.get('image.fc1.weight')!.data]).toEqual([...last.heads.weights.get('image.fc1.weight')!.data]);
    // The chart's line firms up fold by fold: each epoch is pooled over the folds that reached it, per step.
    expect(epochs.filter((e) => e.epoch === 1 && e.step === 'small').map((e) => e.folds)).toEqual([1, 2, 3, 4].map((done) => ({ done, of: 4 })));
    expect(epochs.filter((e) => e.epoch === 1 && e.step === 'whole').map((e) => e.folds)).toEqual([1, 2, 3, 4].map((done) => ({ done, of: 4 })));
    expect(cv.history.every((e) => e.step === 'whole' && e.val!.images === 120)).toBe(true);
    expect(tf.memory().numTensors).toBe(start);
  });

  it('scores the blends of every epoch on the held-out photos and stops when they stop rising', async () => {
    const data = correlated(12);
    // A rate too small to move the heads: held-out recall is flat from the first epoch, so the run stops after `stopWhenFlat` more.
    const flat = await trainHeads({ ...data, epochs: 30, batchSize: 16, captionsPerPhoto: 2, lr: 1e-9, seed: 2, schedule: 'cosine', warmup: false, scoreShares: [0.5, 1], stopWhenFlat: 2 });
    expect(flat.history.length).toBe(3);
    expect(flat.curve!.map((c) => c.epoch)).toEqual([1, 2, 3]);
    expect(flat.curve![0]!.shares.map((x) => x.share)).toEqual([0.5, 1]);
    expect(flat.startRanks!.length).toBe(flat.curve![0]!.shares[0]!.ranks.length);
    // Learning: the curve rises, and the whole share of the last epoch is the run's own last validation.
    const rising = await trainHeads({ ...data, epochs: 5, batchSize: 16, captionsPerPhoto: 2, lr: 1e-2, seed: 2, schedule: 'cosine', scoreShares: [0.25, 1] });
    const top = (c: ShareScores) => Math.max(...c.shares.map((x) => rankScore(x.ranks)));
    expect(top(rising.curve!.at(-1)!)).toBeGreaterThan(rankScore(rising.startRanks!));
    expect(rising.curve!.at(-1)!.shares[1]!.val).toEqual(rising.history.at(-1)!.val);
  });

  it('without warm-up the cosine schedule starts at the full rate and only decays', async () => {
    const lrs: number[] = [];
    await trainHeads({ ...synthetic(6), trainPhotos: [...Array(40).keys()], valPhotos: [], schedule: 'cosine', warmup: false, epochs: 3, batchSize: 8, lr: 1e-2, seed: 3, onStep: (s) => lrs.push(s.lr) });
    expect(lrs[0]).toBeCloseTo(1e-2, 8);
    for (let i = 1; i < lrs.length; i++) expect(lrs[i]!).toBeLessThanOrEqual(lrs[i - 1]! + 1e-12);
    expect(lrs.at(-1)!).toBeLessThan(1e-3);
  });

  it('stops on cancel', async () => {
    const controller = new AbortController();
    await expect(trainHeads({ ...synthetic(5), epochs: 50, batchSize: 8, seed: 1, signal: controller.signal, onStep: () => controller.abort() })).rejects.toThrow('Training cancelled.');
  });
});

describe('training in a worker thread', () => {
  it('runs the whole job with progress and epoch events, using the data directory cache', async () => {
    const dataDir = path.join(tmp, 'data');
    await fs.mkdir(dataDir, { recursive: true });
    const progress: string[] = [];
    const epochs: TrainEpoch[] = [];
    const r = await runTrainingInWorker({
      set: setDir,
      baseModelDir: baseDir,
      modelsDir: path.join(dataDir, 'models'),
      dataDir,
      epochs: 2,
      seed: 1,
      batchSize: 16,
      onProgress: (p) => progress.push(p.stage),
      onEpoch: (e) => epochs.push(e),
    });
    expect(epochs.length).toBeGreaterThan(0);
    expect(r.epochs).toBe(epochs.length);
    expect(progress).toContain('Computing photo features');
    expect((await readManifest(path.join(dataDir, 'models', r.model))).id).toBe(r.model);
    // The features went into the data directory's library file: one image and one text tower key.
    const store = new Store(dataPaths(dataDir).db, { readonly: true });
    try {
      expect(store.db.prepare('SELECT count(DISTINCT tower_key) FROM features').pluck().get()).toBe(2);
    } finally {
      store.close();
    }
  });

  it('cancels', async () => {
    const controller = new AbortController();
    const p = runTrainingInWorker({
      set: setDir,
      baseModelDir: baseDir,
      modelsDir: path.join(tmp, 'cancel-models'),
      epochs: 50,
      signal: controller.signal,
      onProgress: (x) => {
        if (x.stage.startsWith('Epoch')) controller.abort();
      },
    });
    await expect(p).rejects.toMatchObject({ name: 'Cancelled', code: 'cancelled', message: 'Training cancelled.' });
    await expect(fs.readdir(path.join(tmp, 'cancel-models'))).rejects.toThrow();
  });

  it('reports a set with no usable pairs clearly, with its error code across the thread', async () => {
    const bad = path.join(tmp, 'bad');
    await fs.mkdir(path.join(bad, 'Images'), { recursive: true });
    await fs.writeFile(path.join(bad, 'captions.txt'), 'image,caption\nmissing.jpg,a red circle\n');
    const p = runTrainingInWorker({ set: bad, baseModelDir: baseDir, modelsDir: path.join(tmp, 'm2') });
    await expect(p).rejects.toThrow(/^No usable photo-caption pairs in .*bad: 1 missing image/);
    // An AppError in the worker stays one, so the fronts say what kind of problem it is (not 'internal').
    await expect(p).rejects.toMatchObject({ name: 'AppError', code: 'bad_dataset' });
  });
});
