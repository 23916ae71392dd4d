/**
 * Tower features for a captioned set, through a cache keyed by (tower key, content hash): images by the
 * sha256 of their file bytes, captions by the sha256 of their text. Only what the cache lacks is decoded and
 * run through the towers (in batches), so a second training run on the same set decodes no photo.
 */
import { AppError, Cancelled } from '../errors';
import type { EmbeddingModel, PreparedImage, TextFeatures } from '../model/types';
import type { Store } from '../store';
import type { CaptionedImage, CaptionSet, ReadProblem } from './readers';
import { sha256 } from '../fs/hash';
import { MAX_PHOTO_BYTES, readRegularFile } from '../fs/safe-read';

/** A caption's text-tower features and the photo it describes. */
export interface CaptionFeatures {
  /** Index of the caption's photo in `imageFeatures`. */
  photo: number;
  features: TextFeatures;
}

/** A cached feature: a flat vector, or [length, dim] rows for sequence text features. */
export type CachedFeature = Float32Array | { data: Float32Array; length: number };

export interface FeatureEntry {
  hash: string;
  data: Float32Array;
  /** Rows for sequence features; 1 (or absent) for one vector. */
  length?: number;
}

/** Where tower features are kept between runs. Methods may be sync (SQLite) or async (a worker proxy). */
export interface FeatureCache {
  get(towerKey: string, hashes: string[]): Map<string, CachedFeature> | Promise<Map<string, CachedFeature>>;
  put(towerKey: string, entries: FeatureEntry[]): void | Promise<void>;
}

/** In-memory cache (tests, one-off evaluations). */
export class MemoryFeatureCache implements FeatureCache {
  readonly maps = new Map<string, Map<string, CachedFeature>>();
  get(towerKey: string, hashes: string[]): Map<string, CachedFeature> {
    const m = this.maps.get(towerKey);
    const out = new Map<string, CachedFeature>();
    if (m) for (const h of hashes) {
      const v = m.get(h);
      if (v) out.set(h, v);
    }
    return out;
  }
  put(towerKey: string, entries: FeatureEntry[]): void {
    let m = this.maps.get(towerKey);
    if (!m) this.maps.set(towerKey, (m = new Map()));
    for (const e of entries) m.set(e.hash, (e.length ?? 1) > 1 ? { data: e.data, length: e.length! } : e.data);
  }
  size(towerKey: string): number {
    return this.maps.get(towerKey)?.size ?? 0;
  }
}

/** The SQLite store as a feature cache (its `features` table). */
export function storeFeatureCache(store: Store): FeatureCache {
  return {
    get: (towerKey, hashes) => store.getFeatures(towerKey, hashes),
    put: (towerKey, entries) => store.putFeatures(towerKey, entries.map((e) => ({ hash: e.hash, data: e.data, length: e.length ?? 1 }))),
  };
}


export interface FeatureProgress {
  stage: string;
  done: number;
  total: number;
}

export interface SetFeatures {
  /** Photos whose features are known (unreadable ones dropped), in set order. */
  images: CaptionedImage[];
  imageFeatures: Float32Array[];
  /** Features of the augmented views asked for (`FeatureOptions.views`), `imageViews[v][p]` for photo p. */
  imageViews: Float32Array[][];
  /** Every caption of the kept photos, `photo` indexing `images`. */
  captions: (CaptionFeatures & { text: string })[];
  problems: ReadProblem[];
  /** Photos decoded and run through the image tower in this call (0 when all were cached). */
  decoded: number;
  /** Captions run through the text tower in this call. */
  textComputed: number;
}

/**
 * Augmented views of a photo whose tower features can be computed (and cached) for training: the mirrored
 * photo, and three square crops resized back to the tower's size (the middle 80% of each side, and 85% from
 * the top-left and from the bottom-right corner).
 */
export type ImageView = 'hflip' | 'crop-center' | 'crop-tl' | 'crop-br';

export const IMAGE_VIEWS: readonly ImageView[] = ['hflip', 'crop-center', 'crop-tl', 'crop-br'];

export interface FeatureOptions {
  batchSize?: number;
  /** Also compute the features of these views of every photo (training augmentation), from the same decode. */
  views?: ImageView[];
  onProgress?: (p: FeatureProgress) => void;
  signal?: AbortSignal;
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new Cancelled();
}

/** Captions whose meaning a left-right mirror changes. */
const DIRECTIONAL = /\b(left|right|leftmost|rightmost)\b/i;

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
  // Channel c of pixel (y, x) in the tower's layout.
  const at = layout === 'nchw' ? (y: number, x: number, c: number) => (c * S + y) * S + x : (y: number, x: number, c: number) => (y * S + x) * 3 + c;
  const out = new Float32Array(t.length);
  for (let y = 0; y < S; y++) {
    const sy = Math.min(S - 1, Math.max(0, y0 + (y + 0.5) * side - 0.5));
    const ya = Math.floor(sy);
    const yb = Math.min(S - 1, ya + 1);
    const wy = sy - ya;
    for (let x = 0; x < S; x++) {
      const sx = Math.min(S - 1, Math.max(0, x0 + (x + 0.5) * side - 0.5));
      const xa = Math.floor(sx);
      const xb = Math.min(S - 1, xa + 1);
      const wx = sx - xa;
      for (let c = 0; c < 3; c++) {
        const top = (1 - wx) * t[at(ya, xa, c)]! + wx * t[at(ya, xb, c)]!;
        const bottom = (1 - wx) * t[at(yb, xa, c)]! + wx * t[at(yb, xb, c)]!;
        out[at(y, x, c)] = (1 - wy) * top + wy * bottom;
      }
    }
  }
  return { ...p, tensor: out };
}

function asTextFeatures(v: CachedFeature): TextFeatures {
  return v instanceof Float32Array ? { data: v, length: 1 } : { data: v.data, length: v.length };
}

export async function computeSetFeatures(
  model: EmbeddingModel,
  set: Pick<CaptionSet, 'images'>,
  cache: FeatureCache,
  opts: FeatureOptions = {},
): Promise<SetFeatures> {
  const batchSize = opts.batchSize ?? 16;
  const progress = opts.onProgress ?? (() => {});
  const problems: ReadProblem[] = [];
  const unreadable: ReadProblem = { kind: 'unreadable image', count: 0, examples: [] };

  // 1. Photos in batches, each file read once: its bytes give the content hash (the cache key) and, when the
  //    cache lacks a feature of the photo, are decoded for the image tower (and the augmented views).
  const views = opts.views ?? [];
  const layout = model.manifest.image.preprocess.layout;
  const keys = [model.imageTowerKey, ...views.map((v) => `${model.imageTowerKey}#${v}`)];
  const viewOf: Record<ImageView, (p: PreparedImage) => PreparedImage> = {
    hflip: (p) => flipPrepared(p, layout),
    'crop-center': (p) => cropPrepared(p, layout, 0.8, 0.5, 0.5),
    'crop-tl': (p) => cropPrepared(p, layout, 0.85, 0, 0),
    'crop-br': (p) => cropPrepared(p, layout, 0.85, 1, 1),
  };
  const transforms: ((p: PreparedImage) => PreparedImage)[] = [(p) => p, ...views.map((v) => viewOf[v])];
  const known = keys.map(() => new Map<string, Float32Array>());
  const hashes: (string | null)[] = [];
  const tried = new Set<string>();
  let decoded = 0;
  for (let s = 0; s < set.images.length; s += batchSize) {
    checkAbort(opts.signal);
    progress({ stage: 'Computing photo features', done: s, total: set.images.length });
    const batch = set.images.slice(s, s + batchSize);
    const bytes = await Promise.all(batch.map((im) => readRegularFile(im.path, MAX_PHOTO_BYTES).catch(() => null)));
    const batchHashes = bytes.map((b) => (b ? sha256(b) : null));
    hashes.push(...batchHashes);
    const fresh = [...new Set(batchHashes.filter((h): h is string => !!h && !tried.has(h)))];
    for (let v = 0; v < keys.length; v++) {
      for (const [h, val] of await cache.get(keys[v]!, fresh)) known[v]!.set(h, val instanceof Float32Array ? val : val.data);
    }
    // Photos with a view still missing, each content once.
    const todo: { k: number; h: string }[] = [];
    batchHashes.forEach((h, k) => {
      if (h && !tried.has(h) && known.some((m) => !m.has(h))) todo.push({ k, h });
      if (h) tried.add(h);
    });
    const prepared = await Promise.all(
      todo.map(({ k }) =>
        model.prepareImage(bytes[k]!).catch((e: Error) => {
          unreadable.count++;
          if (unreadable.examples.length < 5) unreadable.examples.push(`${batch[k]!.file}: ${e.message}`);
          return null;
        }),
      ),
    );
    const ok = todo.map((x, j) => ({ h: x.h, p: prepared[j] })).filter((x): x is { h: string; p: PreparedImage } => x.p !== null);
    decoded += ok.length;
    for (let v = 0; v < keys.length; v++) {
      const need = ok.filter((x) => !known[v]!.has(x.h));
      if (!need.length) continue;
      const feats = await model.imageFeatures(need.map((x) => transforms[v]!(x.p)));
      const entries: FeatureEntry[] = need.map((x, j) => ({ hash: x.h, data: feats[j]! }));
      for (const e of entries) known[v]!.set(e.hash, e.data);
      await cache.put(keys[v]!, entries);
    }
  }
  progress({ stage: 'Computing photo features', done: set.images.length, total: set.images.length });

  const images: CaptionedImage[] = [];
  const imageFeatures: Float32Array[] = [];
  const imageViews: Float32Array[][] = views.map(() => []);
  set.images.forEach((im, i) => {
    const f = hashes[i] ? known[0]!.get(hashes[i]!) : undefined;
    // A photo is used only with every view (a view is missing when the photo cannot be decoded any more).
    if (f && known.every((m) => m.has(hashes[i]!))) {
      images.push(im);
      imageFeatures.push(f);
      // A mirrored photo no longer matches a caption that says "left" or "right": such photos keep their
      // original features as the flipped view.
      const directional = im.captions.some((c) => DIRECTIONAL.test(c));
      imageViews.forEach((list, v) => list.push(views[v] === 'hflip' && directional ? f : known[v + 1]!.get(hashes[i]!)!));
    } else if (!hashes[i]) {
      unreadable.count++;
      if (unreadable.examples.length < 5) unreadable.examples.push(`${im.file}: cannot be read`);
    }
  });
  if (unreadable.count) problems.push(unreadable);

  // 3. Text features, one per unique caption text.
  const txtKey = model.textTowerKey;
  const texts = [...new Set(images.flatMap((im) => im.captions))];
  const textHash = new Map(texts.map((t) => [t, sha256(t)]));
  const textFeat = new Map<string, TextFeatures>();
  for (const [h, v] of await cache.get(txtKey, [...new Set(textHash.values())])) textFeat.set(h, asTextFeatures(v));
  const todo = texts.filter((t) => !textFeat.has(textHash.get(t)!));
  const textBatch = 64;
  for (let s = 0; s < todo.length; s += textBatch) {
    checkAbort(opts.signal);
    progress({ stage: 'Computing caption features', done: s, total: todo.length });
    const chunk = todo.slice(s, s + textBatch);
    const feats = await model.textFeatures(chunk);
    const entries: FeatureEntry[] = chunk.map((t, k) => ({ hash: textHash.get(t)!, data: feats[k]!.data, length: feats[k]!.length }));
    chunk.forEach((t, k) => textFeat.set(textHash.get(t)!, feats[k]!));
    await cache.put(txtKey, entries);
  }

  const captions: SetFeatures['captions'] = [];
  images.forEach((im, p) => {
    for (const text of im.captions) captions.push({ photo: p, text, features: textFeat.get(textHash.get(text)!)! });
  });
  return { images, imageFeatures, imageViews, captions, problems, decoded, textComputed: todo.length };
}
