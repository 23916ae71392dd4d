/**
 * A training run's data as tensors, and the loss of one batch: every view of every photo's image features in
 * one tensor, the captions' text features (pooled, or padded sequences with a mask), which captions belong to
 * which photo, and the seeded choice of captions for a batch of photos.
 */
import { AppError } from '../errors';
import { memberCount } from '../model/heads-format';
import type { CaptionFeatures } from './features';
import { l2normalize, type TfHeads } from './heads-tf';
import { clipLoss, tutorialLoss, type LossKind } from './loss';
import { shuffleInPlace } from './split';
import { tf } from './tf';

/** Text features as tensors: pooled [N, D], or padded sequences [N, L, D] + mask [N, L]. */
interface TextStore {
  x: tf.Tensor;
  mask: tf.Tensor2D | null;
}

function buildTextStore(captions: CaptionFeatures[], heads: TfHeads, extra: readonly Float32Array[]): TextStore {
  const D = heads.spec.textInDim;
  const sequence = heads.spec.textPool !== 'none';
  const n = captions.length;
  if (extra.length && sequence && heads.textPoolIsTrainable) throw new AppError('internal', 'Rehearsal rows are pooled text features; these heads pool token rows themselves.');
  for (const c of captions) {
    const want = sequence ? c.features.length * D : D;
    if (c.features.data.length !== want) {
      throw new AppError('model_error', `Text features have ${c.features.data.length} values but the heads expect ${sequence ? `${c.features.length}×${D}` : D}: the model's text tower and heads do not match.`);
    }
  }
  for (const t of extra) if (t.length !== D) throw new AppError('model_error', `Rehearsal text features have ${t.length} values but the heads expect ${D}.`);
  // Rehearsal rows (already pooled) follow the captions: row n + m is rehearsal row m.
  const withExtra = (flat: Float32Array) => {
    extra.forEach((t, m) => flat.set(t, (n + m) * D));
    return { x: tf.tensor2d(flat, [n + extra.length, D]), mask: null };
  };
  if (!sequence) {
    const flat = new Float32Array((n + extra.length) * D);
    captions.forEach((c, i) => flat.set(c.features.data, i * D));
    return withExtra(flat);
  }
  if (!heads.textPoolIsTrainable) {
    // Masked mean with no weights before it: pool once here instead of every step.
    const flat = new Float32Array((n + extra.length) * D);
    captions.forEach((c, i) => {
      const L = c.features.length;
      const o = i * D;
      for (let l = 0; l < L; l++) for (let d = 0; d < D; d++) flat[o + d]! += c.features.data[l * D + d]!;
      if (L > 0) for (let d = 0; d < D; d++) flat[o + d]! /= L;
    });
    return withExtra(flat);
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

/**
 * Pairs the base model was trained on, replayed with the new photos so that a fine-tune does not forget what the
 * base knew (rehearsal): one photo's features and one caption's (pooled) text features each.
 */
export interface RehearsalRows {
  images: readonly Float32Array[];
  texts: readonly Float32Array[];
}

export class TrainingBatches {
  /** The starting heads' unit embeddings of the rehearsal rows (keepRehearsal), which replayed rows are held to. */
  private targets: { images: tf.Tensor2D; texts: tf.Tensor2D; weight: number } | null = null;
  /** Members after the first of an ensemble, fixed (fixOtherMembers): their unit outputs per image row and caption. */
  private fixedMembers: { images: tf.Tensor2D; texts: tf.Tensor2D } | null = null;
  /** Row v·N + p is view v of photo p (view 0 = the original features). */
  readonly images: tf.Tensor2D;
  readonly texts: TextStore;
  readonly capsByPhoto = new Map<number, number[]>();
  /** Photos (originals) in the feature list. */
  readonly photoCount: number;
  readonly viewCount: number;
  /** Rehearsal rows held (after every view of the photos in `images`, after the captions in `texts`). */
  readonly rehearsalCount: number;
  private readonly captionCount: number;

  constructor(
    imageFeatures: Float32Array[],
    imageViews: Float32Array[][] | undefined,
    captions: CaptionFeatures[],
    heads: TfHeads,
    private readonly lossKind: LossKind,
    private readonly temperature: number,
    rehearsal?: RehearsalRows,
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
    const R = rehearsal?.images.length ?? 0;
    if (rehearsal && rehearsal.texts.length !== R) throw new AppError('internal', 'Every rehearsal photo needs one text row.');
    if (rehearsal?.images.some((f) => f.length !== Di)) throw new AppError('model_error', `Rehearsal image features do not have the ${Di} values the heads expect.`);
    const imgFlat = new Float32Array((views.length * N + R) * Di);
    views.forEach((view, v) => view.forEach((f, i) => imgFlat.set(f, (v * N + i) * Di)));
    rehearsal?.images.forEach((f, m) => imgFlat.set(f, (views.length * N + m) * Di));
    this.images = tf.tensor2d(imgFlat, [views.length * N + R, Di]);
    this.texts = buildTextStore(captions, heads, rehearsal?.texts ?? []);
    this.photoCount = N;
    this.viewCount = views.length;
    this.rehearsalCount = R;
    this.captionCount = captions.length;
  }

  /** Where rehearsal row `m` is: its photo's row in `images`, its text's row in `texts`. */
  rehearsalRow(m: number): { image: number; text: number } {
    return { image: this.viewCount * this.photoCount + m, text: this.captionCount + m };
  }

  /**
   * Unit embeddings of some rows of `images` and `texts` in eval mode, with the fixed members' outputs when they were
   * computed (fixOtherMembers: valid for blends too, since those members never move), so only the first is run.
   */
  embedRows(h: TfHeads, imageRows: tf.Tensor1D, textRows: tf.Tensor1D): { images: tf.Tensor2D; texts: tf.Tensor2D } {
    return tf.tidy(() => {
      const fixed = this.fixedMembers;
      const images = h.imageForward(tf.gather(this.images, imageRows) as tf.Tensor2D, false, 0, fixed ? (tf.gather(fixed.images, imageRows) as tf.Tensor2D) : undefined);
      const texts = h.textForward(tf.gather(this.texts.x, textRows), undefined, false, 0, fixed ? (tf.gather(fixed.texts, textRows) as tf.Tensor2D) : undefined);
      return { images: l2normalize(images), texts: l2normalize(texts) };
    });
  }

  /** Rehearsal rows `ms` added to a batch: their rows in `images` and `texts` (one caption each). */
  withRehearsal(photos: number[], rows: number[], caps: BatchCaptions, ms: number[]): { photos: number[]; rows: number[]; caps: BatchCaptions } {
    return {
      photos: [...photos, ...ms.map((m) => -1 - m)],
      rows: [...rows, ...ms.map((m) => this.rehearsalRow(m).image)],
      caps: { capIdx: [...caps.capIdx, ...ms.map((m) => this.rehearsalRow(m).text)], capPhoto: [...caps.capPhoto, ...ms.map((_, i) => photos.length + i)] },
    };
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
   * Hold replayed rows to where the starting heads `h` put them: the loss then adds `weight` × the squared distance
   * of each replayed photo's and caption's unit embedding from its start (distillation, as in learning without
   * forgetting), so the heads keep the base's map where the base's photos are and move freely elsewhere.
   */
  keepRehearsal(h: TfHeads, weight: number): void {
    const R = this.rehearsalCount;
    if (R === 0 || weight <= 0) return;
    const base = this.rehearsalRow(0);
    const inChunks = (embed: (s: number, n: number) => tf.Tensor2D): tf.Tensor2D => {
      const parts: tf.Tensor2D[] = [];
      for (let s = 0; s < R; s += 2048) parts.push(tf.tidy(() => embed(s, Math.min(2048, R - s))));
      const out = tf.concat(parts, 0) as tf.Tensor2D;
      tf.dispose(parts);
      return out;
    };
    this.targets = {
      images: inChunks((s, n) => h.embedImages(tf.slice(this.images, [base.image + s, 0], [n, -1]) as tf.Tensor2D)),
      texts: inChunks((s, n) => h.embedTexts(tf.slice(this.texts.x, [base.text + s, 0], [n, -1]) as tf.Tensor2D)),
      weight,
    };
  }

  /**
   * The contrastive loss of a batch. `rows`: the photos' rows in `images` (a view of each photo); the photos
   * themselves when omitted. Feature dropout applies in training only. `replayed`: the rehearsal rows that end the
   * batch (its last photos and captions), held to their start when keepRehearsal was called.
   */
  loss(h: TfHeads, photos: number[], caps: BatchCaptions, training: boolean, dropSeed: number, featureDropout = 0, rows = photos, replayed: number[] = []): tf.Scalar {
    let x = tf.gather(this.images, rows) as tf.Tensor2D;
    if (training && featureDropout > 0) x = tf.dropout(x, featureDropout, undefined, dropSeed + 2) as tf.Tensor2D;
    const t = this.textRows(caps.capIdx);
    const fixed = this.fixedMembers;
    const img = h.imageForward(x, training, dropSeed, fixed ? (tf.gather(fixed.images, rows) as tf.Tensor2D) : undefined);
    const txt = h.textForward(t.x, t.mask, training, dropSeed + 1, fixed ? (tf.gather(fixed.texts, caps.capIdx) as tf.Tensor2D) : undefined);
    let loss: tf.Scalar;
    if (this.lossKind === 'tutorial') loss = tutorialLoss(img, txt, this.temperature);
    else loss = clipLoss(img, txt, tf.tensor1d(photos.map((_, i) => i), 'int32'), tf.tensor1d(caps.capPhoto, 'int32'), h.logitScale);
    const keep = this.targets;
    if (!keep || !replayed.length) return loss;
    const r = replayed.length;
    const idx = tf.tensor1d(replayed, 'int32');
    const drift = (now: tf.Tensor2D, start: tf.Tensor2D) => tf.mean(tf.sum(tf.square(tf.sub(l2normalize(tf.slice(now, [now.shape[0] - r, 0], [r, -1]) as tf.Tensor2D), tf.gather(start, idx))), 1));
    return tf.add(loss, tf.mul(tf.add(drift(img, keep.images), drift(txt, keep.texts)), keep.weight)) as tf.Scalar;
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
    if (this.targets) tf.dispose([this.targets.images, this.targets.texts]);
    if (this.fixedMembers) tf.dispose([this.fixedMembers.images, this.fixedMembers.texts]);
    tf.dispose([this.images, this.texts.x, ...(this.texts.mask ? [this.texts.mask] : [])]);
  }
}
