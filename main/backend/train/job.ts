/**
 * The whole retraining job: read the set → tower features (cached) → split by photo → recall of the base
 * model → train the heads → save a new model version → recall of the saved model (run by the ONNX runtime,
 * as search will). `trainModel` runs in-process; `runTrainingInWorker` runs it in a worker thread so the
 * caller's event loop never blocks, with progress, per-epoch events and cancel.
 */
import path from 'node:path';
import type { DataProblem, EvalResult, SetEvalResult, TrainEpoch, TrainResult } from '../../../shared/api';
import { loadHeads, type Heads } from '../model/heads-format';
import { resolveModelFolder } from '../catalog/resolve';
import { loadModel } from '../model/model';
import type { EmbeddingModel, ModelManifest } from '../model/types';
import { explainStorageError, Store } from '../store';
import { runInWorker } from '../worker-relay';
import { evaluateEmbeddings } from './evaluate';
import { computeSetFeatures, MemoryFeatureCache, storeFeatureCache, type FeatureCache, type ImageView, type SetFeatures } from './features';
import type { LossKind } from './loss';
import { readCaptionSet } from './readers';
import { saveTrainedModel, type SaveStage } from './save';
import { splitByPhoto } from './split';
import { initTf, type TfBackend } from './tf';
import { trainHeads, TRAINING_CANCELLED } from './trainer';
import { dataPaths } from '../paths';

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
   * Fine-tune the base heads (lower rate, no warm-up, WiSE-FT blend chosen on the held-out photos) instead of
   * training them as if new. Default: when the base heads already work (a trained model or CLIP adapters).
   */
  fineTune?: boolean;
  backend?: TfBackend;
}

export interface TrainModelOptions extends TrainJobOptions {
  /** In-process only: a feature cache (else the data directory's store, else memory). */
  cache?: FeatureCache;
  /** In-process only: an already loaded base model (tests count its decodes). */
  model?: EmbeddingModel;
  onEpoch?: (e: TrainEpoch) => void;
  /** The starting model's held-out recall, before the first epoch (the chart's baseline). */
  onBaseline?: (before: EvalResult) => void;
  onProgress?: (p: JobProgress) => void;
  signal?: AbortSignal;
  /** Test hook passed to the saver. */
  onSaveStage?: (stage: SaveStage) => void | Promise<void>;
}

export const MIN_PHOTOS = 5;

/** Bytes of image features (all views) the trainer may hold: well under wasm's 4 GB heap, with room for the rest. */
export const FEATURE_MEMORY_BUDGET = 1.5e9;

/**
 * The training recipe used unless a caller or the base model's own recipe (below) says otherwise: batches
 * of up to 128 photos with all their captions as shared positives, AdamW (lr 2e-3, decoupled weight decay
 * 0.1), the learning rate halved when held-out recall stalls, early stopping, the best epoch kept. Robust on
 * small sets; the built-in model records a fixed cosine schedule instead (docs/BENCHMARKS.md, "Built-in model").
 */
export const DEFAULT_TRAINING = {
  epochs: 40,
  schedule: 'plateau' as 'plateau' | 'cosine',
  maxBatchSize: 128,
  captionsPerPhoto: 5,
  lr: 2e-3,
  weightDecay: 0.1,
  patience: 4,
  augment: [] as ImageView[],
  featureDropout: 0,
  /** Fine-tuning trained heads uses this share of `lr` (see trainModel). */
  fineTuneLrFactor: 0.1,
};

/** Photos per step: up to 128, but at least ~8 steps per epoch on small sets (and never below 16). */
export function defaultBatchSize(trainPhotos: number): number {
  let b = 16;
  while (b * 2 <= DEFAULT_TRAINING.maxBatchSize && b * 2 * 8 <= trainPhotos) b *= 2;
  return b;
}

export interface Recipe {
  augment: ImageView[];
  featureDropout: number;
  schedule: 'plateau' | 'cosine';
  epochs: number;
}

/**
 * The data and schedule recipe a base model was trained with (its manifest's `training.options`):
 * augmented views and feature dropout suit some towers and not others (dropping 30% of a 6,992-d
 * concatenation of CNN layers regularizes; of a 32-d feature it destroys the signal; a random test tower's
 * features of a mirrored photo are unrelated), so retraining a model keeps what its own training used
 * unless the caller says otherwise.
 */
export function baseRecipe(manifest: ModelManifest): Recipe {
  const o = manifest.training?.options ?? {};
  const augment = Array.isArray(o.augment) ? o.augment.filter((v): v is ImageView => v === 'hflip') : DEFAULT_TRAINING.augment;
  const fd = typeof o.featureDropout === 'number' && o.featureDropout >= 0 && o.featureDropout < 1 ? o.featureDropout : DEFAULT_TRAINING.featureDropout;
  const schedule = o.schedule === 'cosine' || o.schedule === 'plateau' ? o.schedule : DEFAULT_TRAINING.schedule;
  const epochs = schedule === o.schedule && Number.isInteger(o.epochs) && (o.epochs as number) >= 1 && (o.epochs as number) <= 200 ? (o.epochs as number) : DEFAULT_TRAINING.epochs;
  return { augment, featureDropout: fd, schedule, epochs };
}

/** Recall of a model (its ONNX heads) on some photos of a featurised set. */
async function recallOn(model: EmbeddingModel, f: SetFeatures, photos: number[]): Promise<EvalResult> {
  const index = new Map(photos.map((p, i) => [p, i]));
  const caps = f.captions.filter((c) => index.has(c.photo));
  const img = await model.embedImageFeatures(photos.map((p) => f.imageFeatures[p]!));
  const txt = await model.embedTextFeatures(caps.map((c) => c.features));
  return evaluateEmbeddings(img, txt, caps.map((c) => index.get(c.photo)!));
}

function outOfMemory(e: unknown): boolean {
  const msg = String((e as Error)?.message ?? e);
  return e instanceof RangeError || /out of memory|allocation failed|Array buffer allocation|OOM/i.test(msg);
}

export async function trainModel(opts: TrainModelOptions): Promise<TrainResult> {
  const started = Date.now();
  const progress = (p: Partial<JobProgress> & { stage: string }) => opts.onProgress?.({ done: 0, total: 0, etaSeconds: null, ...p });
  const backend = await initTf(opts.backend);
  progress({ stage: 'Reading the captioned set' });
  const set = await readCaptionSet(opts.set);
  if (set.images.length < MIN_PHOTOS) {
    throw new Error(`Captioned set ${set.dir} has ${set.images.length} usable photo(s); training needs at least ${MIN_PHOTOS}. Add photos and captions.`);
  }
  let store: Store | null = null;
  let cache = opts.cache;
  if (!cache && opts.dataDir) {
    store = new Store(dataPaths(opts.dataDir).db);
    cache = storeFeatureCache(store);
  }
  cache ??= new MemoryFeatureCache();
  const model = opts.model ?? (await loadModel(opts.baseModelDir));
  try {
    const resolved = await resolveModelFolder(opts.baseModelDir);
    const recipe = baseRecipe(resolved.manifest);
    let augment = opts.augment ?? recipe.augment;
    // The trainer holds every view of every photo's features in one tensor (in wasm's heap, at most 4 GB):
    // a set too large for the extra views trains on the photos as they are.
    const viewBytes = set.images.length * model.manifest.image.featureDim * 4;
    if (augment.length && viewBytes * (1 + augment.length) > (opts.featureMemoryBudget ?? FEATURE_MEMORY_BUDGET)) {
      progress({ stage: `Training without mirrored photos: ${set.images.length.toLocaleString('en-US')} photos' features would not fit in memory twice` });
      augment = [];
    }
    const f = await computeSetFeatures(model, set, cache, {
      views: augment,
      signal: opts.signal,
      onProgress: (p) => progress({ stage: p.stage, done: p.done, total: p.total }),
    });
    if (f.images.length < MIN_PHOTOS) {
      throw new Error(`Captioned set ${set.dir} has ${f.images.length} readable photo(s); training needs at least ${MIN_PHOTOS}. Check the photos in Images/.`);
    }
    const seed = opts.seed ?? 42;
    // A tenth of the photos are held out, a fifth for small sets (so recall is measured on enough photos).
    const valFraction = opts.valFraction ?? (f.images.length >= 1000 ? 0.1 : 0.2);
    const split = splitByPhoto(f.images.length, { seed, valFraction });

    progress({ stage: 'Measuring the current model' });
    const before = await recallOn(model, f, split.val);
    opts.onBaseline?.(before);

    const base: Heads = resolved.heads ?? (await loadHeads(path.resolve(opts.baseModelDir, resolved.manifest.heads)));
    // Heads that already work (trained ones, or a CLIP's identity adapters) are fine-tuned, not retrained:
    // a tenth of the learning rate with no warm-up spike, then the blend of old and new heads that does best
    // on the held-out photos — so retraining adds what the set teaches without wrecking what the model knew.
    const fineTune = opts.fineTune ?? (!!resolved.manifest.training || base.spec.kind === 'adapter');
    const options = {
      epochs: opts.epochs ?? recipe.epochs,
      loss: opts.loss ?? 'default',
      seed,
      batchSize: opts.batchSize ?? defaultBatchSize(split.train.length),
      captionsPerPhoto: opts.captionsPerPhoto ?? DEFAULT_TRAINING.captionsPerPhoto,
      lr: opts.lr ?? DEFAULT_TRAINING.lr * (fineTune ? DEFAULT_TRAINING.fineTuneLrFactor : 1),
      fineTune,
      weightDecay: opts.weightDecay ?? DEFAULT_TRAINING.weightDecay,
      valFraction,
      patience: opts.patience ?? DEFAULT_TRAINING.patience,
      augment,
      featureDropout: opts.featureDropout ?? recipe.featureDropout,
      schedule: opts.schedule ?? recipe.schedule,
    };
    const trained = await trainHeads({
      ...options,
      heads: base,
      imageFeatures: f.imageFeatures,
      imageViews: f.imageViews,
      captions: f.captions,
      trainPhotos: split.train,
      valPhotos: split.val,
      warmup: !fineTune,
      interpolate: fineTune,
      signal: opts.signal,
      onStep: (s) => progress({ stage: `Epoch ${s.epoch} of ${s.epochs}`, done: (s.epoch - 1) * s.steps + s.step, total: s.epochs * s.steps, etaSeconds: s.etaSeconds }),
      onEpoch: opts.onEpoch,
    });
    const trainSeconds = Math.round(trained.seconds * 10) / 10;

    progress({ stage: 'Saving the new model' });
    const saved = await saveTrainedModel({
      modelsDir: opts.modelsDir,
      baseDir: opts.baseModelDir,
      baseManifest: resolved.manifest,
      heads: trained.heads,
      trainedTexts: f.captions.map((c) => c.text),
      id: opts.id,
      name: opts.name,
      onStage: opts.onSaveStage,
      training: {
        dataset: set.dir,
        options: { ...options, bestEpoch: trained.best.epoch, blend: trained.blend, trainPhotos: split.train.length, valPhotos: split.val.length, captions: f.captions.length },
        metrics: { before, after: trained.best.val },
        trainSeconds,
        backend,
      },
    });

    // Recall of the saved model as the runtime runs it (ONNX heads), on the same validation photos.
    const after = await loadModel(saved.dir);
    let val: EvalResult;
    try {
      val = await recallOn(after, f, split.val);
    } finally {
      await after.dispose();
    }
    progress({ stage: 'Done' });
    void started;
    return {
      model: saved.id,
      epochs: trained.history.length,
      trainSeconds,
      before,
      val,
      history: trained.history,
      bestEpoch: trained.best.epoch,
      blend: trained.blend,
      problems: mergeProblems(set.problems, f.problems),
    };
  } catch (e) {
    if (outOfMemory(e)) {
      throw new Error(`Not enough memory to train on ${set.dir} (${set.images.length} photos). Close other apps or train on a smaller set.`, { cause: e });
    }
    // A full disk (library file or the new model's folder) or a damaged library file, in words.
    throw store ? store.explain(e) : (explainStorageError(e, path.join(opts.modelsDir, 'library.db')) ?? e);
  } finally {
    if (!opts.model) await model.dispose();
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
  if (f.images.length === 0) throw new Error(`No readable photos in ${set.dir}. Check the photos in Images/.`);
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
      new Error(
        e.code === 'ERR_WORKER_OUT_OF_MEMORY' || outOfMemory(e)
          ? `Not enough memory to train on ${job.set}. Close other apps or train on a smaller set.`
          : `Training stopped unexpectedly: ${e.message}`,
        { cause: e },
      ),
    exited: (code) => new Error(`Training worker exited with code ${code} before finishing.`),
    // A worker stuck in a long native call gets terminated after a grace period.
    killAfterCancelMs: 5000,
  });
}
