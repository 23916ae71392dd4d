/**
 * The whole retraining job: read the set → tower features (cached) → split by photo → recall of the base
 * model → train the heads → save a new model version → recall of the saved model (run by the ONNX runtime,
 * as search will). `trainModel` runs in-process; `runTrainingInWorker` runs it in a worker thread so the
 * caller's event loop never blocks, with progress, per-epoch events and cancel.
 */
import path from 'node:path';
import type { DataProblem, EvalResult, SetEvalResult, TrainEpoch, TrainResult } from '../../../shared/api';
import { AppError } from '../errors';
import { openModel } from '../catalog/open-model';
import type { Heads } from '../model/heads-format';
import { hubPenalties } from '../model/query-bank';
import { MEMORY_WEIGHTS, memoryEntries, readMemoryEntries } from '../model/caption-memory';
import { memoryScorer } from './memory-recall';
import { rehearsalRows } from './rehearsal';
import type { EmbeddingModel } from '../model/types';
import { dataPaths } from '../paths';
import { explainStorageError, Store } from '../store';
import { runInWorker } from '../worker-relay';
import { crossValidatedFineTune, poolResults, type StepCandidate } from './cross-validate';
import { evaluateEmbeddings } from './evaluate';
import { computeSetFeatures, MemoryFeatureCache, storeFeatureCache, type FeatureCache, type SetFeatures } from './features';
import type { ImageView } from '../model/types';
import type { LossKind } from './loss';
import { readCaptionSet, type CaptionSet } from './readers';
import { baseRecipe, DEFAULT_TRAINING, defaultBatchSize, FINE_TUNE, fineTunes } from './recipe';
import { saveTrainedModel, type SaveStage } from './save';
import { foldsByPhoto, splitByPhoto, type PhotoSplit as Fold } from './split';
import { initTf, type TfBackend } from './tf';
import { trainHeads, TRAINING_CANCELLED } from './trainer';

export interface JobProgress {
  stage: string;
  done: number;
  total: number;
  etaSeconds: number | null;
}

/** Options that can cross to a worker (plain data). */
export interface TrainJobOptions {
  set: string;
  baseModelDir: string;
  modelsDir: string;
  /** Data directory: its library.db holds the feature cache shared with indexing. */
  dataDir?: string;
  name?: string;
  id?: string;
  epochs?: number;
  loss?: LossKind;
  seed?: number;
  batchSize?: number;
  captionsPerPhoto?: number;
  lr?: number;
  weightDecay?: number;
  valFraction?: number;
  patience?: number;
  /** Augmented views whose features are also computed and trained on (default: the base model's recipe, see baseRecipe). */
  augment?: ImageView[];
  /** Bytes the image features of all views may take (default FEATURE_MEMORY_BUDGET); above it, no augmented views. */
  featureMemoryBudget?: number;
  /** Dropout on the image tower features while training. */
  featureDropout?: number;
  /** 'plateau' (early stopping on the held-out photos) or a fixed 'cosine' schedule (see trainHeads). */
  schedule?: 'plateau' | 'cosine';
  /**
   * Fine-tune the base heads (FINE_TUNE: lower rate, fixed schedule, last epoch blended with the start) instead of
   * training them as if new. Default: when the base heads already work (a trained model or CLIP adapters).
   */
  fineTune?: boolean;
  /** A fine-tune replays its base's caption memory next to the new photos (rehearsal.ts; default true). */
  rehearse?: boolean;
  backend?: TfBackend;
}

/** Options of an in-process run: the job's settings plus the loaded base model and the feature cache. */
export interface TrainModelOptions extends Omit<TrainJobOptions, 'baseModelDir' | 'dataDir'> {
  /** The base model, loaded: its manifest, heads and folder are what the new version starts from. */
  model: EmbeddingModel;
  /** Where tower features are kept between runs (the library's store, or memory). */
  cache: FeatureCache;
  onEpoch?: (e: TrainEpoch) => void;
  /** The starting model's held-out recall, before the first epoch (the chart's baseline). */
  onBaseline?: (before: EvalResult) => void;
  onProgress?: (p: JobProgress) => void;
  signal?: AbortSignal;
  /** Test hook passed to the saver. */
  onSaveStage?: (stage: SaveStage) => void | Promise<void>;
}

export const MIN_PHOTOS = 5;

/** The fine-tune's step candidates: FINE_TUNE's, or the one the caller's learning rate or epochs describe. */
function fineTuneSteps(opts: Pick<TrainJobOptions, 'lr' | 'epochs'>): StepCandidate[] {
  const steps = FINE_TUNE.steps.map((s) => ({ name: s.name, lr: DEFAULT_TRAINING.lr * s.lrFactor, epochs: opts.epochs ?? s.epochs, warmup: s.warmup }));
  if (opts.lr === undefined) return steps;
  const whole = opts.lr >= DEFAULT_TRAINING.lr;
  return [{ ...steps[whole ? 1 : 0]!, lr: opts.lr }];
}

/** Bytes of image features (all views) the trainer may hold: well under wasm's 4 GB heap, with room for the rest. */
export const FEATURE_MEMORY_BUDGET = 1.5e9;

/** Recall of a model (its ONNX heads) on some photos of a featurised set. */
async function recallOn(model: EmbeddingModel, f: SetFeatures, photos: number[]): Promise<EvalResult> {
  const index = new Map(photos.map((p, i) => [p, i]));
  const caps = f.captions.filter((c) => index.has(c.photo));
  const img = await model.embedImageFeatures(photos.map((p) => f.imageFeatures[p]!));
  // Ranked as search ranks them: captions embedded as queries are (the caption memory), with the model's hubness
  // correction when it has a query bank.
  const txt = await model.expandQueries(await model.embedTextFeatures(caps.map((c) => c.features)));
  return evaluateEmbeddings(img, txt, caps.map((c) => index.get(c.photo)!), hubPenalties(await model.queryBank(), img));
}

/** An allocation that failed (not every RangeError: a stack overflow is one too, and it is not about memory). */
export function outOfMemory(e: unknown): boolean {
  const msg = String((e as Error)?.message ?? e);
  return /out of memory|allocation failed|Array buffer allocation|OOM/i.test(msg);
}

type Progress = (p: Partial<JobProgress> & { stage: string }) => void;

/** What the fit produced, whichever way: the heads to save and how they measured. */
interface Fitted {
  heads: Heads;
  /** The caption memory's weight chosen for the result (a cross-validated fine-tune of a model with a memory). */
  memoryWeight?: number;
  history: TrainEpoch[];
  bestEpoch: number;
  blend: number;
  after: EvalResult;
  seconds: number;
}

/** The settings a run uses, as recorded in the new version's manifest. */
type RunOptions = Record<string, unknown> & {
  epochs: number;
  loss: LossKind;
  seed: number;
  batchSize: number;
  captionsPerPhoto: number;
  lr: number;
  fineTune: boolean;
  weightDecay: number;
  valFraction: number;
  patience: number;
  augment: ImageView[];
  featureDropout: number;
  schedule: 'plateau' | 'cosine';
  /** Base pairs replayed per step of a fine-tune (rehearsal.ts); 0 for none. */
  rehearsal: number;
};

/** The set's tower features (every view the recipe asks for, if they fit in memory), with a readable-photo check. */
async function setFeatures(opts: TrainModelOptions, set: CaptionSet, augmentWanted: ImageView[], progress: Progress): Promise<{ f: SetFeatures; augment: ImageView[] }> {
  const { model } = opts;
  let augment = augmentWanted;
  // The trainer holds every view of every photo's features in one tensor (in wasm's heap, at most 4 GB):
  // a set too large for the extra views trains on the photos as they are.
  const viewBytes = set.images.length * model.manifest.image.featureDim * 4;
  if (augment.length && viewBytes * (1 + augment.length) > (opts.featureMemoryBudget ?? FEATURE_MEMORY_BUDGET)) {
    progress({ stage: `Training without mirrored or cropped photos: ${set.images.length.toLocaleString('en-US')} photos' features would not fit in memory ${1 + augment.length} times` });
    augment = [];
  }
  const f = await computeSetFeatures(model, set, opts.cache, {
    views: augment,
    signal: opts.signal,
    onProgress: (p) => progress({ stage: p.stage, done: p.done, total: p.total }),
  });
  if (f.images.length < MIN_PHOTOS) {
    throw new AppError('bad_dataset', `Captioned set ${set.dir} has ${f.images.length} readable photo(s); training needs at least ${MIN_PHOTOS}. Check the photos in Images/.`);
  }
  return { f, augment };
}

/** The trainer's options shared by every run of a job. */
function commonRunOptions(opts: TrainModelOptions, options: RunOptions, f: SetFeatures) {
  return {
    heads: opts.model.heads,
    loss: options.loss,
    seed: options.seed,
    batchSize: options.batchSize,
    captionsPerPhoto: options.captionsPerPhoto,
    weightDecay: options.weightDecay,
    featureDropout: options.featureDropout,
    imageFeatures: f.imageFeatures,
    imageViews: f.imageViews,
    captions: f.captions,
    signal: opts.signal,
  };
}

/**
 * Fine-tune: the size of the step chosen and measured on held-out photos, then trained on every photo
 * (cross-validate.ts). A learning rate or epoch count given by the caller is the only step tried.
 */
async function fineTuneOnFolds(opts: TrainModelOptions, options: RunOptions, f: SetFeatures, folds: Fold[], progress: Progress) {
  const n = f.images.length;
  const steps = fineTuneSteps(opts);
  const stepsPerRun = (photos: number, epochs: number) => Math.ceil(photos / options.batchSize) * epochs;
  // Runs stop early when held-out recall stops rising, so the total is an upper bound until the last run.
  // A model with a caption memory is measured as search will rank with the saved model (memory-recall.ts): each
  // fold is run again up to its choice.
  const baseMemory = await readMemoryEntries(opts.model.manifest, (rel) => path.resolve(opts.model.dir, rel));
  const rescore = baseMemory ? memoryScorer(opts.model, f, baseMemory) : null;
  // The base's memory is also what a fine-tune rehearses (rehearsal.ts), one pair a step for every two new photos.
  const rehearsal = options.rehearsal && baseMemory?.length && memoryEntries(f, []) ? rehearsalRows(baseMemory, f.captions, options.rehearsal, options.seed) : undefined;
  if (!rehearsal) options.rehearsal = 0;
  const longest = Math.max(...steps.map((s) => s.epochs));
  const runs = steps.length + (rescore ? 1 : 0);
  const total = runs * folds.reduce((b, fold) => b + stepsPerRun(fold.train.length, longest), 0) + stepsPerRun(n, longest);
  const cvStart = Date.now();
  let done = 0;
  const startWeight = opts.model.manifest.text.captionMemory?.weight ?? 0;
  const cv = await crossValidatedFineTune({
    // With rehearsal the result keeps its base's memory weight: a weight chosen on the set alone serves the set, not
    // the base's kind (taught generated scenes, it chose 0 and gave up the memory's 2.4 points on Flickr8k dev).
    ...(rescore ? { memory: { rescore, startWeight, weights: rehearsal ? [] : [...MEMORY_WEIGHTS] } } : {}),
    ...(rehearsal ? { rehearsal } : {}),
    ...commonRunOptions(opts, options, f),
    folds,
    allPhotos: f.images.map((_, i) => i),
    steps,
    shares: FINE_TUNE.shares,
    patience: options.patience,
    onEpoch: opts.onEpoch,
    onStep: (s, fold, step) => {
      done++;
      const what = `${step.name} step`;
      const stage = fold === null ? `Training on all ${n.toLocaleString('en-US')} photos (${what}): epoch ${s.epoch} of ${s.epochs}` : `Measuring on held-out photos (${what}, ${fold} of ${folds.length}): epoch ${s.epoch} of ${s.epochs} at most`;
      const perStep = (Date.now() - cvStart) / 1000 / done;
      progress({ stage, done: Math.min(done, total), total, etaSeconds: perStep * Math.max(0, total - done) });
    },
  });
  const trained: Fitted = { heads: cv.heads, memoryWeight: cv.choice.memoryWeight, history: cv.history, bestEpoch: cv.choice.share > 0 ? cv.choice.epochs : 0, blend: cv.choice.share, after: cv.after, seconds: cv.seconds };
  const heldOut: NonNullable<TrainResult['heldOut']> = { folds: folds.length, photos: folds.reduce((a, fold) => a + fold.val.length, 0), gainR5: cv.gainR5, finalTrainPhotos: cv.choice.share > 0 ? n : 0, choice: cv.choice };
  Object.assign(options, { lr: cv.choice.lr, epochs: cv.choice.epochs, schedule: 'cosine' });
  // The folds' own measure of the start (the trainer's forward pass), paired caption by caption with the result.
  return { trained, heldOut, before: cv.before };
}

/** Heads trained as new on the training part of one split, early-stopped (or scheduled) on its held-out part. */
async function trainOnSplit(opts: TrainModelOptions, options: RunOptions, f: SetFeatures, split: Fold, progress: Progress): Promise<Fitted> {
  const r = await trainHeads({
    ...commonRunOptions(opts, options, f),
    lr: options.lr,
    epochs: options.epochs,
    schedule: options.schedule,
    patience: options.patience,
    warmup: true,
    trainPhotos: split.train,
    valPhotos: split.val,
    onStep: (s) => progress({ stage: `Epoch ${s.epoch} of ${s.epochs}`, done: (s.epoch - 1) * s.steps + s.step, total: s.epochs * s.steps, etaSeconds: s.etaSeconds }),
    onEpoch: opts.onEpoch,
  });
  return { heads: r.heads, history: r.history, bestEpoch: r.best.epoch, blend: r.blend, after: r.best.val, seconds: r.seconds };
}

export async function trainModel(opts: TrainModelOptions): Promise<TrainResult> {
  const progress: Progress = (p) => opts.onProgress?.({ done: 0, total: 0, etaSeconds: null, ...p });
  const backend = await initTf(opts.backend);
  const { model } = opts;
  progress({ stage: 'Reading the captioned set' });
  const set = await readCaptionSet(opts.set);
  if (set.images.length < MIN_PHOTOS) {
    throw new AppError('bad_dataset', `Captioned set ${set.dir} has ${set.images.length} usable photo(s); training needs at least ${MIN_PHOTOS}. Add photos and captions.`);
  }
  try {
    const recipe = baseRecipe(model.manifest);
    // Heads that already work (trained ones, or a CLIP's identity adapters) are fine-tuned (see FINE_TUNE).
    const fineTune = opts.fineTune ?? fineTunes(model.manifest, () => model.heads.spec.kind);
    // A fine-tune keeps the base's views too: fine-tuning crop-trained heads on 1,000 Flickr8k train photos, the
    // crops gained +1.24 ± 0.38 R@5 against +0.96 ± 0.30 without them (docs/BENCHMARKS.md).
    const { f, augment } = await setFeatures(opts, set, opts.augment ?? recipe.augment, progress);
    const seed = opts.seed ?? 42;
    const n = f.images.length;
    // A fine-tune is measured by cross-validation (every photo held out once) on sets under FINE_TUNE.foldsBelow
    // photos, then trained on all of them. Otherwise a tenth of the photos are held out, a fifth for small sets
    // (so recall is measured on enough photos); heads trained as new keep the held-out photos out (early stopping).
    const crossValidate = fineTune && opts.valFraction === undefined && n < FINE_TUNE.foldsBelow && n >= 4;
    const valFraction = opts.valFraction ?? (n >= 1000 ? 0.1 : 0.2);
    const split = splitByPhoto(n, { seed, valFraction });
    const folds = crossValidate ? foldsByPhoto(n, { seed, folds: FINE_TUNE.folds }) : fineTune ? [split] : null;

    progress({ stage: 'Measuring the current model' });
    let before = folds ? poolResults(await Promise.all(folds.map((fold) => recallOn(model, f, fold.val)))) : await recallOn(model, f, split.val);
    opts.onBaseline?.(before);
    const options: RunOptions = {
      epochs: opts.epochs ?? recipe.epochs,
      loss: opts.loss ?? 'default',
      seed,
      batchSize: opts.batchSize ?? defaultBatchSize((folds?.[0] ?? split).train.length),
      captionsPerPhoto: opts.captionsPerPhoto ?? DEFAULT_TRAINING.captionsPerPhoto,
      lr: opts.lr ?? DEFAULT_TRAINING.lr,
      fineTune,
      weightDecay: opts.weightDecay ?? DEFAULT_TRAINING.weightDecay,
      valFraction,
      patience: opts.patience ?? (fineTune ? FINE_TUNE.patience : DEFAULT_TRAINING.patience),
      augment,
      featureDropout: opts.featureDropout ?? recipe.featureDropout,
      schedule: opts.schedule ?? recipe.schedule,
      rehearsal: 0,
    };
    if (fineTune && opts.rehearse !== false) options.rehearsal = Math.max(8, options.batchSize / 2);
    let trained: Fitted;
    let heldOut: TrainResult['heldOut'];
    if (folds) ({ trained, heldOut, before } = await fineTuneOnFolds(opts, options, f, folds, progress));
    else trained = await trainOnSplit(opts, options, f, split, progress);
    const trainSeconds = Math.round(trained.seconds * 10) / 10;

    progress({ stage: 'Saving the new model' });
    const saved = await saveTrainedModel({
      modelsDir: opts.modelsDir,
      baseDir: model.dir,
      baseManifest: model.manifest,
      heads: trained.heads,
      trainedTexts: f.captions.map((c) => c.text),
      // The photos the saved heads were trained on join the caption memory (none when the start was kept).
      memoryEntries: memoryEntries(f, heldOut ? (heldOut.finalTrainPhotos > 0 ? f.images.map((_, i) => i) : []) : split.train),
      memoryWeight: trained.memoryWeight,
      id: opts.id,
      name: opts.name,
      onStage: opts.onSaveStage,
      training: {
        dataset: set.dir,
        options: {
          ...options,
          bestEpoch: trained.bestEpoch,
          blend: trained.blend,
          ...(heldOut ? { folds: heldOut.folds, trainPhotos: heldOut.finalTrainPhotos, valPhotos: heldOut.photos } : { trainPhotos: split.train.length, valPhotos: split.val.length }),
          captions: f.captions.length,
        },
        metrics: { before, after: trained.after, ...(heldOut ? { gainR5: heldOut.gainR5 } : {}) },
        trainSeconds,
        backend,
      },
    });

    // Heads trained without the held-out photos: their recall as the runtime runs them (ONNX heads). A fine-tune's
    // saved heads have seen every photo; its held-out figures are the folds'.
    const val = heldOut ? trained.after : await savedRecall(saved.dir, f, split.val);
    progress({ stage: 'Done' });
    return {
      model: saved.id,
      epochs: trained.history.length,
      trainSeconds,
      before,
      val,
      history: trained.history,
      bestEpoch: trained.bestEpoch,
      blend: trained.blend,
      ...(heldOut ? { heldOut } : {}),
      problems: mergeProblems(set.problems, f.problems),
    };
  } catch (e) {
    if (outOfMemory(e)) {
      throw new AppError('bad_dataset', `Not enough memory to train on ${set.dir} (${set.images.length} photos). Close other apps or train on a smaller set.`, { cause: e });
    }
    // A full disk while saving the new model's folder, in words.
    throw explainStorageError(e, path.join(opts.modelsDir, 'library.db')) ?? e;
  }
}

/** Recall of a saved model folder on some photos, as the runtime runs it. */
async function savedRecall(dir: string, f: SetFeatures, photos: number[]): Promise<EvalResult> {
  const after = await openModel(dir);
  try {
    return await recallOn(after, f, photos);
  } finally {
    await after.dispose();
  }
}

/**
 * The worker's whole job from plain options: open the data directory's store as the feature cache (memory
 * without one), load the base model, train, and close both.
 */
export async function trainModelFromFolders(opts: TrainJobOptions & Omit<TrainModelOptions, 'model' | 'cache'>): Promise<TrainResult> {
  const { baseModelDir, dataDir, ...rest } = opts;
  const store = dataDir ? new Store(dataPaths(dataDir).db) : null;
  try {
    const model = await openModel(baseModelDir);
    try {
      return await trainModel({ ...rest, model, cache: store ? storeFeatureCache(store) : new MemoryFeatureCache() });
    } finally {
      await model.dispose();
    }
  } catch (e) {
    // A full disk or a damaged library file (the feature cache), in words.
    throw store ? store.explain(e) : e;
  } finally {
    store?.close();
  }
}

/** The reader's and the feature step's problems as one list, one entry per kind (counts added). */
export function mergeProblems(...lists: readonly DataProblem[][]): DataProblem[] {
  const byKind = new Map<string, DataProblem>();
  for (const p of lists.flat()) {
    const have = byKind.get(p.kind);
    if (!have) byKind.set(p.kind, { kind: p.kind, count: p.count, examples: [...p.examples] });
    else {
      have.count += p.count;
      have.examples = [...have.examples, ...p.examples].slice(0, 5);
    }
  }
  return [...byKind.values()];
}

/** Recall of a model on a whole captioned set (the CLI `eval`), with the rows and photos it had to drop. */
export async function evaluateModelOnSet(model: EmbeddingModel, setDir: string, cache: FeatureCache = new MemoryFeatureCache()): Promise<SetEvalResult> {
  const set = await readCaptionSet(setDir);
  const f = await computeSetFeatures(model, set, cache);
  if (f.images.length === 0) throw new AppError('bad_dataset', `No readable photos in ${set.dir}. Check the photos in Images/.`);
  return { ...(await recallOn(model, f, f.images.map((_, i) => i))), problems: mergeProblems(set.problems, f.problems) };
}

// ---- worker ---------------------------------------------------------------------------------------------

/** What the training worker reports while it runs (relayed by worker-relay.ts). */
export type TrainWorkerEvent =
  | { type: 'progress'; progress: JobProgress }
  | { type: 'epoch'; epoch: TrainEpoch }
  | { type: 'baseline'; before: EvalResult };

export interface RunInWorkerOptions extends TrainJobOptions {
  onEpoch?: (e: TrainEpoch) => void;
  onBaseline?: (before: EvalResult) => void;
  onProgress?: (p: JobProgress) => void;
  signal?: AbortSignal;
}

/** Run `trainModel` in a worker thread. Rejects with Cancelled when cancelled. */
export function runTrainingInWorker(opts: RunInWorkerOptions): Promise<TrainResult> {
  const { onEpoch, onBaseline, onProgress, signal, ...job } = opts;
  return runInWorker<TrainResult, TrainWorkerEvent>({
    dir: __dirname,
    name: 'train-worker',
    input: job,
    signal,
    onEvent: (m) => {
      if (m.type === 'progress') onProgress?.(m.progress);
      else if (m.type === 'epoch') onEpoch?.(m.epoch);
      else onBaseline?.(m.before);
    },
    cancelMessage: TRAINING_CANCELLED,
    crashed: (e) =>
      e.code === 'ERR_WORKER_OUT_OF_MEMORY' || outOfMemory(e)
        ? new AppError('bad_dataset', `Not enough memory to train on ${job.set}. Close other apps or train on a smaller set.`, { cause: e })
        : new AppError('internal', `Training stopped unexpectedly: ${e.message}`, { cause: e }),
    exited: (code) => new AppError('internal', `Training worker exited with code ${code} before finishing.`),
    // A worker stuck in a long native call gets terminated after a grace period.
    killAfterCancelMs: 5000,
  });
}
