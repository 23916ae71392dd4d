/**
 * Every training default in one place: the recipe for heads trained as new (`DEFAULT_TRAINING`), the
 * changes for fine-tuning heads that already work (`FINE_TUNE`), the built-in model's recipe
 * (`BUILTIN_RECIPE`, used by scripts/train-builtin.ts) and what a base model's own recipe passes on.
 */
import { MAX_EPOCHS, MIN_EPOCHS } from '../../../shared/api';
import type { ImageView, ModelManifest } from '../model/types';
import { IMAGE_VIEWS } from '../model/views';

/**
 * Heads trained as new: batches of up to 128 photos with all their captions as shared positives, AdamW
 * (lr 2e-3, decoupled weight decay 0.1), the learning rate halved when held-out recall stalls, early
 * stopping, the best epoch kept. Robust on small sets; the built-in model records a fixed cosine schedule
 * instead (docs/BENCHMARKS.md, "Built-in model").
 */
export const DEFAULT_TRAINING = {
  epochs: 40,
  schedule: 'plateau' as 'plateau' | 'cosine',
  maxBatchSize: 128,
  captionsPerPhoto: 5,
  lr: 2e-3,
  weightDecay: 0.1,
  patience: 4,
  plateauPatience: 1,
  plateauFactor: 0.5,
  augment: [] as ImageView[],
  featureDropout: 0,
};

/**
 * Heads that already work (a trained model, a CLIP's identity adapters) are fine-tuned, not retrained blindly:
 * how far to move from them is chosen on the set's own held-out photos (cross-validate.ts). Two sizes of step
 * are tried: `small`, a tenth of the rate of new heads on a warm-up-free cosine decay (a set like the base's own
 * training photos: on Flickr8k train it gained about a point where bigger steps lost, docs/BENCHMARKS.md), and
 * `whole`, the rate of new heads with a warm-up (a new kind of photo, which the small step barely moves toward:
 * generated scenes of coloured shapes, R@1 34 against 83). After each epoch the blends of the trained heads with
 * the starting ones (WiSE-FT `shares`) are scored on the held-out photos; a run stops when none has risen for
 * `patience` epochs. The step, the epoch and the share with the best held-out recall are kept.
 */
export const FINE_TUNE = {
  steps: [
    { name: 'small' as const, lrFactor: 0.1, epochs: 30, warmup: false },
    { name: 'whole' as const, lrFactor: 1, epochs: 40, warmup: true },
  ],
  shares: [0.25, 0.5, 0.75, 1],
  patience: 5,
  /**
   * How a fine-tune's gain is measured: k-fold cross-validation by photo on sets under `foldsBelow` photos
   * (every photo held out once, so the gain is measured on all of them, not on a tenth), one held-out tenth on
   * bigger sets (already 200+ photos). Either way the saved heads are then fine-tuned on every photo.
   */
  folds: 5,
  foldsBelow: 2000,
};

/**
 * The built-in model's recipe, chosen on a 90/10 split of Flickr8k train (never on dev; docs/BENCHMARKS.md):
 * the mirrored photo and three crops as extra views (the crops added +1.6 R@5 on 1,000 train photos the heads
 * never saw, for one more image-tower pass per view and photo) and a fixed warm-up + cosine schedule of 30
 * epochs; the sentence encoder's vectors need no pooling. It is recorded in model.json, so retraining the built-in model
 * (`photo-search train`) passes its views and schedule on (see baseRecipe).
 */
export const BUILTIN_RECIPE = {
  batchSize: DEFAULT_TRAINING.maxBatchSize,
  captionsPerPhoto: DEFAULT_TRAINING.captionsPerPhoto,
  lr: DEFAULT_TRAINING.lr,
  weightDecay: DEFAULT_TRAINING.weightDecay,
  augment: ['hflip', 'crop-center', 'crop-tl', 'crop-br'] as ImageView[],
  featureDropout: 0,
  schedule: 'cosine' as const,
  epochs: 30,
  /** Seeds of the heads trained apart and shipped as one ensemble (heads-format.ts `members`; scripts/heads-ensemble.ts). */
  memberSeeds: [42, 1, 2],
};

/** Whether retraining a model fine-tunes its heads (FINE_TUNE) rather than training them anew: heads that already work, trained ones or a CLIP's identity adapters. */
export function fineTunes(manifest: ModelManifest, headsKind: () => string | null): boolean {
  // The heads' kind is asked for only when the manifest does not settle it (the model list reads it from disk).
  return !!manifest.training || headsKind() === 'adapter';
}

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
  const augment = Array.isArray(o.augment) ? o.augment.filter((v): v is ImageView => IMAGE_VIEWS.includes(v as ImageView)) : DEFAULT_TRAINING.augment;
  const fd = typeof o.featureDropout === 'number' && o.featureDropout >= 0 && o.featureDropout < 1 ? o.featureDropout : DEFAULT_TRAINING.featureDropout;
  const schedule = o.schedule === 'cosine' || o.schedule === 'plateau' ? o.schedule : DEFAULT_TRAINING.schedule;
  const epochs = schedule === o.schedule && Number.isInteger(o.epochs) && (o.epochs as number) >= MIN_EPOCHS && (o.epochs as number) <= MAX_EPOCHS ? (o.epochs as number) : DEFAULT_TRAINING.epochs;
  return { augment, featureDropout: fd, schedule, epochs };
}
