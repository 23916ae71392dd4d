/**
 * Tower features for a captioned set, through a cache keyed by (tower key, content hash): images by the
 * sha256 of their file bytes, captions by the sha256 of their text. Only what the cache lacks is decoded and
 * run through the towers (in batches), so a second training run on the same set decodes no photo.
 */
import { Cancelled } from '../errors';
import type { EmbeddingModel, ImageView, PreparedImage, TextFeatures } from '../model/types';
import { combineViews, viewOf } from '../model/views';
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
  /** Each photo's features as search sees them (`model.photoFeatures`: its views averaged when the model has them). */
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
  // A model that describes a photo by several views (image.views) needs those views' features too.
  const photoViews = model.manifest.image.views;
  const computed = [...new Set([...views, ...(photoViews?.views ?? [])])];
  const keys = [model.imageTowerKey, ...computed.map((v) => `${model.imageTowerKey}#${v}`)];
  const transforms: ((p: PreparedImage) => PreparedImage)[] = [(p) => p, ...computed.map((v) => viewOf(v, layout))];
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
      const of = new Map(computed.map((v, k) => [v, known[k + 1]!.get(hashes[i]!)!]));
      images.push(im);
      // The photo as search sees it: its views averaged when the model says so.
      imageFeatures.push(photoViews ? combineViews(photoViews, f, of) : f);
      // A mirrored photo no longer matches a caption that says "left" or "right": such photos keep their
      // original features as the flipped view.
      const directional = im.captions.some((c) => DIRECTIONAL.test(c));
      imageViews.forEach((list, v) => list.push(views[v] === 'hflip' && directional ? f : of.get(views[v]!)!));
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
