/**
 * Tower features for a captioned set, through a cache keyed by (tower key, content hash): images by the
 * sha256 of their file bytes, captions by the sha256 of their text. Only what the cache lacks is decoded and
 * run through the towers (in batches), so a second training run on the same set decodes no photo.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { EmbeddingModel, TextFeatures } from '../model/types';
import type { Store } from '../store';
import type { CaptionedImage, CaptionSet, ReadProblem } from './readers';
import type { CaptionFeatures } from './trainer';

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

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
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
  onProgress?: (p: FeatureProgress) => void;
  signal?: AbortSignal;
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) {
    const e = new Error('Cancelled.');
    e.name = 'AbortError';
    throw e;
  }
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

  // 1. Content hashes of the photos.
  const hashes: (string | null)[] = [];
  for (let i = 0; i < set.images.length; i++) {
    if (i % 64 === 0) {
      checkAbort(opts.signal);
      progress({ stage: 'Reading photos', done: i, total: set.images.length });
    }
    const bytes = await fs.readFile(set.images[i]!.path).catch(() => null);
    hashes.push(bytes ? sha256(bytes) : null);
  }

  // 2. Image features: cached, or decoded + image tower for the missing ones.
  const imgKey = model.imageTowerKey;
  const known = new Map<string, Float32Array>();
  const wanted = [...new Set(hashes.filter((h): h is string => !!h))];
  for (const [h, v] of await cache.get(imgKey, wanted)) known.set(h, v instanceof Float32Array ? v : v.data);
  const missing: number[] = [];
  const queued = new Set<string>();
  hashes.forEach((h, i) => {
    if (h && !known.has(h) && !queued.has(h)) {
      missing.push(i);
      queued.add(h);
    }
  });
  let decoded = 0;
  for (let s = 0; s < missing.length; s += batchSize) {
    checkAbort(opts.signal);
    progress({ stage: 'Computing photo features', done: s, total: missing.length });
    const idx = missing.slice(s, s + batchSize);
    const prepared = await Promise.all(
      idx.map((i) =>
        model.prepareImage(set.images[i]!.path).catch((e: Error) => {
          unreadable.count++;
          if (unreadable.examples.length < 5) unreadable.examples.push(`${set.images[i]!.file}: ${e.message}`);
          return null;
        }),
      ),
    );
    const ok = idx.filter((_, k) => prepared[k]);
    const feats = ok.length ? await model.imageFeatures(prepared.filter((p) => p !== null)) : [];
    decoded += ok.length;
    const entries: FeatureEntry[] = ok.map((i, k) => ({ hash: hashes[i]!, data: feats[k]! }));
    for (const e of entries) known.set(e.hash, e.data);
    if (entries.length) await cache.put(imgKey, entries);
  }
  if (missing.length) progress({ stage: 'Computing photo features', done: missing.length, total: missing.length });

  const images: CaptionedImage[] = [];
  const imageFeatures: Float32Array[] = [];
  set.images.forEach((im, i) => {
    const f = hashes[i] ? known.get(hashes[i]!) : undefined;
    if (f) {
      images.push(im);
      imageFeatures.push(f);
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
  return { images, imageFeatures, captions, problems, decoded, textComputed: todo.length };
}
