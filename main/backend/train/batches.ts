/**
 * A training run's data as tensors, and the loss of one batch: every view of every photo's image features in
 * one tensor, the captions' text features (pooled, or padded sequences with a mask), which captions belong to
 * which photo, and the seeded choice of captions for a batch of photos.
 */
import { AppError } from '../errors';
import { memberCount } from '../model/heads-format';
import type { CaptionFeatures } from './features';
import type { TfHeads } from './heads-tf';
import { clipLoss, tutorialLoss, type LossKind } from './loss';
import { shuffleInPlace } from './split';
import { tf } from './tf';

/** Text features as tensors: pooled [N, D], or padded sequences [N, L, D] + mask [N, L]. */
interface TextStore {
  x: tf.Tensor;
  mask: tf.Tensor2D | null;
}

function buildTextStore(captions: CaptionFeatures[], heads: TfHeads): TextStore {
  const D = heads.spec.textInDim;
  const sequence = heads.spec.textPool !== 'none';
  const n = captions.length;
  for (const c of captions) {
    const want = sequence ? c.features.length * D : D;
    if (c.features.data.length !== want) {
      throw new AppError('model_error', `Text features have ${c.features.data.length} values but the heads expect ${sequence ? `${c.features.length}×${D}` : D}: the model's text tower and heads do not match.`);
    }
  }
  if (!sequence) {
    const flat = new Float32Array(n * D);
    captions.forEach((c, i) => flat.set(c.features.data, i * D));
    return { x: tf.tensor2d(flat, [n, D]), mask: null };
  }
  if (!heads.textPoolIsTrainable) {
    // Masked mean with no weights before it: pool once here instead of every step.
    const flat = new Float32Array(n * D);
    captions.forEach((c, i) => {
      const L = c.features.length;
      const o = i * D;
      for (let l = 0; l < L; l++) for (let d = 0; d < D; d++) flat[o + d]! += c.features.data[l * D + d]!;
      if (L > 0) for (let d = 0; d < D; d++) flat[o + d]! /= L;
    });
    return { x: tf.tensor2d(flat, [n, D]), mask: null };
  }
  const L = Math.max(1, ...captions.map((c) => c.features.length));
  const flat = new Float32Array(n * L * D);
  const mask = new Float32Array(n * L);
  captions.forEach((c, i) => {
    flat.set(c.features.data, i * L * D);
    mask.fill(1, i * L, i * L + c.features.length);
  });
  return { x: tf.tensor3d(flat, [n, L, D]), mask: tf.tensor2d(mask, [n, L]) };
}

export interface BatchCaptions {
  /** Rows of the captions in the text store. */
  capIdx: number[];
  /** For each caption, its photo's position in the batch. */
  capPhoto: number[];
}

export class TrainingBatches {
  /** Members after the first of an ensemble, fixed (fixOtherMembers): their unit outputs per image row and caption. */
  private fixedMembers: { images: tf.Tensor2D; texts: tf.Tensor2D } | null = null;
  /** Row v·N + p is view v of photo p (view 0 = the original features). */
  readonly images: tf.Tensor2D;
  readonly texts: TextStore;
  readonly capsByPhoto = new Map<number, number[]>();
  /** Photos (originals) in the feature list. */
  readonly photoCount: number;
  readonly viewCount: number;

  constructor(
    imageFeatures: Float32Array[],
    imageViews: Float32Array[][] | undefined,
    captions: CaptionFeatures[],
    heads: TfHeads,
    private readonly lossKind: LossKind,
    private readonly temperature: number,
  ) {
    captions.forEach((c, j) => {
      let list = this.capsByPhoto.get(c.photo);
      if (!list) this.capsByPhoto.set(c.photo, (list = []));
      list.push(j);
    });
    const Di = heads.spec.imageInDim;
    for (const f of imageFeatures) {
      if (f.length !== Di) throw new AppError('model_error', `Image features have ${f.length} values but the heads expect ${Di}: the model's image tower and heads do not match.`);
    }
    const N = imageFeatures.length;
    const views = [imageFeatures, ...(imageViews ?? [])];
    for (const view of views) {
      if (view.length !== N || view.some((f) => f.length !== Di)) throw new AppError('internal', `Every image view needs ${N} feature vectors of ${Di} values.`);
    }
    const imgFlat = new Float32Array(views.length * N * Di);
    views.forEach((view, v) => view.forEach((f, i) => imgFlat.set(f, (v * N + i) * Di)));
    this.images = tf.tensor2d(imgFlat, [views.length * N, Di]);
    this.texts = buildTextStore(captions, heads);
    this.photoCount = N;
    this.viewCount = views.length;
  }

  /** The photos among `photos` that have at least one caption. */
  captioned(photos: number[]): number[] {
    return photos.filter((p) => this.capsByPhoto.has(p));
  }

  /** Up to `perPhoto` distinct captions of each photo, drawn with `r`. */
  pickCaptions(photos: number[], perPhoto: number, r: () => number): BatchCaptions {
    const capIdx: number[] = [];
    const capPhoto: number[] = [];
    photos.forEach((p, i) => {
      const list = this.capsByPhoto.get(p)!;
      const chosen = perPhoto >= list.length ? list : shuffleInPlace([...list], r).slice(0, perPhoto);
      for (const j of chosen) {
        capIdx.push(j);
        capPhoto.push(i);
      }
    });
    return { capIdx, capPhoto };
  }

  /** Text features of caption rows (and their mask for sequences). */
  textRows(capIdx: number[]): { x: tf.Tensor; mask: tf.Tensor2D | undefined } {
    const idx = tf.tensor1d(capIdx, 'int32');
    return { x: tf.gather(this.texts.x, idx), mask: this.texts.mask ? (tf.gather(this.texts.mask, idx) as tf.Tensor2D) : undefined };
  }

  /**
   * The contrastive loss of a batch. `rows`: the photos' rows in `images` (a view of each photo); the photos
   * themselves when omitted. Feature dropout applies in training only.
   */
  loss(h: TfHeads, photos: number[], caps: BatchCaptions, training: boolean, dropSeed: number, featureDropout = 0, rows = photos): tf.Scalar {
    let x = tf.gather(this.images, rows) as tf.Tensor2D;
    if (training && featureDropout > 0) x = tf.dropout(x, featureDropout, undefined, dropSeed + 2) as tf.Tensor2D;
    const t = this.textRows(caps.capIdx);
    const fixed = this.fixedMembers;
    const img = h.imageForward(x, training, dropSeed, fixed ? (tf.gather(fixed.images, rows) as tf.Tensor2D) : undefined);
    const txt = h.textForward(t.x, t.mask, training, dropSeed + 1, fixed ? (tf.gather(fixed.texts, caps.capIdx) as tf.Tensor2D) : undefined);
    if (this.lossKind === 'tutorial') return tutorialLoss(img, txt, this.temperature);
    const ip = tf.tensor1d(photos.map((_, i) => i), 'int32');
    const tp = tf.tensor1d(caps.capPhoto, 'int32');
    return clipLoss(img, txt, ip, tp, h.logitScale);
  }

  /**
   * A fine-tune that trains only an ensemble's first member (tuneFirstMember): the other members' unit outputs for
   * every image row and caption, computed once here, when they fit in `budgetBytes`; the steps then run one member
   * instead of all. Returns whether they were computed.
   */
  fixOtherMembers(h: TfHeads, budgetBytes = 512 * 2 ** 20): boolean {
    const k = memberCount(h.spec);
    if (k < 2 || this.texts.mask) return false;
    const rows = this.images.shape[0] + this.texts.x.shape[0]!;
    if (rows * (k - 1) * h.spec.embedDim * 4 > budgetBytes) return false;
    const inChunks = (side: 'image' | 'text', all: tf.Tensor2D): tf.Tensor2D => {
      const parts: tf.Tensor2D[] = [];
      for (let s = 0; s < all.shape[0]; s += 2048) {
        const n = Math.min(2048, all.shape[0] - s);
        parts.push(tf.tidy(() => h.otherMembers(side, tf.slice(all, [s, 0], [n, -1]))));
      }
      const out = tf.concat(parts, 0) as tf.Tensor2D;
      tf.dispose(parts);
      return out;
    };
    this.fixedMembers = { images: inChunks('image', this.images), texts: inChunks('text', this.texts.x as tf.Tensor2D) };
    return true;
  }

  dispose(): void {
    if (this.fixedMembers) tf.dispose([this.fixedMembers.images, this.fixedMembers.texts]);
    tf.dispose([this.images, this.texts.x, ...(this.texts.mask ? [this.texts.mask] : [])]);
  }
}
