/**
 * Views of a prepared photo, from the same decode (no second read of the file): the mirror and square crops that
 * training learns from, and the mean of several views' tower features that a model with `image.views` describes
 * a photo by (test-time augmentation, types.ts PhotoViews).
 */
import { sha256 } from '../fs/hash';
import { AppError } from '../errors';
import type { ImageView, PhotoViews, PreparedImage } from './types';

export const IMAGE_VIEWS = ['hflip', 'crop-center', 'crop-tl', 'crop-br'] as const satisfies readonly ImageView[];

/** The photo mirrored left-right, in the tower's own layout (same as flipping the photo before resizing). */
export function flipPrepared(p: PreparedImage, layout: 'nchw' | 'nhwc'): PreparedImage {
  const t = p.tensor;
  const S = Math.round(Math.sqrt(t.length / 3));
  if (S * S * 3 !== t.length) throw new AppError('internal', `Cannot flip a ${t.length}-value image tensor: it is not square.`);
  const out = new Float32Array(t.length);
  if (layout === 'nchw') {
    for (let row = 0; row < 3 * S; row++) {
      const o = row * S;
      for (let x = 0; x < S; x++) out[o + x] = t[o + S - 1 - x]!;
    }
  } else {
    for (let y = 0; y < S; y++) {
      const o = y * S * 3;
      for (let x = 0; x < S; x++) {
        const a = o + x * 3;
        const b = o + (S - 1 - x) * 3;
        out[a] = t[b]!;
        out[a + 1] = t[b + 1]!;
        out[a + 2] = t[b + 2]!;
      }
    }
  }
  return { ...p, tensor: out };
}

/**
 * A square crop of the prepared photo resized back to its size (bilinear): `side` is the crop's share of each
 * side, `fx`/`fy` where it sits in the free margin (0 = left/top, 1 = right/bottom). Cropping the tower's input
 * instead of the photo costs no second decode; the crop is slightly softer than one taken at full resolution.
 */
export function cropPrepared(p: PreparedImage, layout: 'nchw' | 'nhwc', side: number, fx: number, fy: number): PreparedImage {
  const t = p.tensor;
  const S = Math.round(Math.sqrt(t.length / 3));
  if (S * S * 3 !== t.length) throw new AppError('internal', `Cannot crop a ${t.length}-value image tensor: it is not square.`);
  const x0 = fx * (S - side * S);
  const y0 = fy * (S - side * S);
  // Strides of a row, a pixel and a channel in the tower's layout.
  const [row, px, ch] = layout === 'nchw' ? [S, 1, S * S] : [S * 3, 3, 1];
  // Where each output column samples (the same for every row): two source columns and the weight of the second.
  const xa = new Int32Array(S);
  const xb = new Int32Array(S);
  const wx = new Float64Array(S);
  for (let x = 0; x < S; x++) {
    const sx = Math.min(S - 1, Math.max(0, x0 + (x + 0.5) * side - 0.5));
    const a = Math.floor(sx);
    xa[x] = a * px;
    xb[x] = Math.min(S - 1, a + 1) * px;
    wx[x] = sx - a;
  }
  const out = new Float32Array(t.length);
  for (let y = 0; y < S; y++) {
    const sy = Math.min(S - 1, Math.max(0, y0 + (y + 0.5) * side - 0.5));
    const ya = Math.floor(sy);
    const wy = sy - ya;
    const ra = ya * row;
    const rb = Math.min(S - 1, ya + 1) * row;
    const ro = y * row;
    for (let c = 0; c < 3; c++) {
      const o = c * ch;
      for (let x = 0; x < S; x++) {
        const w = wx[x]!;
        const top = (1 - w) * t[ra + xa[x]! + o]! + w * t[ra + xb[x]! + o]!;
        const bottom = (1 - w) * t[rb + xa[x]! + o]! + w * t[rb + xb[x]! + o]!;
        out[ro + x * px + o] = (1 - wy) * top + wy * bottom;
      }
    }
  }
  return { ...p, tensor: out };
}

/** The transform that makes `view` of a prepared photo, in the tower's layout. */
export function viewOf(view: ImageView, layout: 'nchw' | 'nhwc'): (p: PreparedImage) => PreparedImage {
  switch (view) {
    case 'hflip':
      return (p) => flipPrepared(p, layout);
    case 'crop-center':
      return (p) => cropPrepared(p, layout, 0.8, 0.5, 0.5);
    case 'crop-tl':
      return (p) => cropPrepared(p, layout, 0.85, 0, 0);
    case 'crop-br':
      return (p) => cropPrepared(p, layout, 0.85, 1, 1);
  }
}

/** Why `views` cannot describe features of length `dim` (null when it can). */
export function photoViewsProblem(views: PhotoViews, dim: number): string | null {
  if (!Array.isArray(views.views) || views.views.some((v) => !IMAGE_VIEWS.includes(v))) return `image.views.views must list views among ${IMAGE_VIEWS.join(', ')}`;
  if (!Array.isArray(views.average)) return 'image.views.average must be a list of ranges';
  for (const r of views.average) {
    if (!(Number.isInteger(r.from) && Number.isInteger(r.to) && r.from >= 0 && r.from < r.to && r.to <= dim)) return `image.views.average range [${r.from}, ${r.to}) is not within the ${dim} features`;
    if (!Array.isArray(r.over) || r.over.length === 0 || r.over.some((v) => v !== 'photo' && !views.views.includes(v))) return `image.views.average range [${r.from}, ${r.to}) averages views the model does not run`;
  }
  return null;
}

/** The cache key of a photo's features under `views`: inside the tower's key range (`towerKey#…`). */
export function photoFeatureKey(imageTowerKey: string, views: PhotoViews | undefined): string {
  return views ? `${imageTowerKey}#photo-${sha256(JSON.stringify(views)).slice(0, 12)}` : imageTowerKey;
}

/**
 * A photo's features from its own and its views' tower features: each range the mean over its views, the rest the
 * photo's own values.
 */
export function combineViews(views: PhotoViews, photo: Float32Array, of: ReadonlyMap<ImageView, Float32Array>): Float32Array {
  const out = Float32Array.from(photo);
  for (const r of views.average) {
    const parts = r.over.map((v) => {
      const f = v === 'photo' ? photo : of.get(v);
      if (!f || f.length !== photo.length) throw new AppError('internal', `The ${v} view's features are missing or of another length.`);
      return f;
    });
    const w = 1 / parts.length;
    for (let i = r.from; i < r.to; i++) {
      let s = 0;
      for (const f of parts) s += f[i]!;
      out[i] = s * w;
    }
  }
  return out;
}
