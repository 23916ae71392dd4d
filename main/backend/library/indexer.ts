/**
 * Index folders into the library, incrementally:
 *
 *   walk → stat → unchanged? (size + mtime, and embedded by this model) → skip
 *        → read bytes once → sha256 → header check (pixel limit, EXIF date; JS, no decode) → prepareImage
 *        → [batch] tower features (from the cache by content hash, else the image tower)
 *        → heads → ONE transaction per batch (photos + features + embeddings + cleared skips)
 *
 * Decoding runs ahead of inference (bounded queue), so sharp and onnxruntime work at the same time.
 * Thumbnails are not made here: they are made on first display (thumbnails.ts, Backend.photoFile), so
 * indexing spends its CPU on the one decode the tower needs (docs/BENCHMARKS.md, "Indexing throughput").
 * A bad file is recorded as skipped with a one-line reason and never stops the run. Photos gone from
 * disk leave the index only for roots whose walk completed. Cancel stops after the batch in flight;
 * committed batches stay (and a kill -9 loses at most that batch: WAL + one transaction per batch).
 */
import { promises as fsp, type Stats } from 'node:fs';
import os from 'node:os';
import type { IndexSummary, UnavailableFolder } from '../../../shared/api';
import { Cancelled } from '../errors';
import { sha256 } from '../fs/hash';
import { MAX_PHOTO_BYTES, readRegularFileSync } from '../fs/safe-read';
import { recycleTensor } from '../model/preprocess';
import type { EmbeddingModel, PreparedImage } from '../model/types';
import { DEFAULT_PIXEL_LIMIT, readImageInfo, skipReason } from '../photos/decode';
import type { BatchItem, Store } from '../store';
import { normalizeRoots, walkPhotos } from './walk';
import { oneLine } from '../../../shared/format';

export interface IndexProgress {
  stage: string;
  done: number;
  /** Photo files to look at, counted before indexing starts (0 while counting: the bar is indeterminate). */
  total: number;
  etaSeconds: number | null;
  /** Files looked at per second since counting ended. */
  rate: number | null;
  /** Photos in the library now (changes as batches commit). */
  images: number;
}

export interface IndexOptions {
  store: Store;
  model: EmbeddingModel;
  roots: readonly string[];
  signal?: AbortSignal;
  onProgress?: (p: IndexProgress) => void;
  /** Photos per tower run and per transaction (default 16). */
  batchSize?: number;
  /** Files decoded at once (default: the number of cores). */
  decodeConcurrency?: number;
  /** Width × height above which a photo is skipped (default 100 megapixels). */
  maxPixels?: number;
}

/** What a cancelled run says; its Cancelled error's `partial` counts what was committed before it stopped. */
export const INDEX_CANCELLED = 'Indexing was cancelled. Photos indexed so far are kept; run it again to continue.';

/** The same limit the model's decoder applies by default. */
export const DEFAULT_MAX_PIXELS = DEFAULT_PIXEL_LIMIT;

/** A file ready for the tower: decoded (`prepared`) or with tower features already cached. */
interface Pending {
  path: string;
  root: string;
  size: number;
  mtimeMs: number;
  hash: string;
  width: number | null;
  height: number | null;
  takenAt: string | null;
  prepared: PreparedImage | null;
  isNew: boolean;
}

/** A bounded async queue: `push` waits while full; `take` waits for a full batch or the end. */
class BatchQueue<T> {
  private items: T[] = [];
  private closed = false;
  private wakeTaker: (() => void) | null = null;
  private wakePushers: (() => void)[] = [];

  constructor(private readonly capacity: number) {}

  async push(item: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.closed) await new Promise<void>((r) => this.wakePushers.push(r));
    if (this.closed) return; // dropped: the run is stopping
    this.items.push(item);
    this.wakeTaker?.();
  }

  /** Up to `n` items once `n` are queued or the queue is closed; null at the end. */
  async take(n: number): Promise<T[] | null> {
    while (this.items.length < n && !this.closed) await new Promise<void>((r) => (this.wakeTaker = r));
    this.wakeTaker = null;
    if (this.items.length === 0) return null;
    const out = this.items.splice(0, n);
    for (const wake of this.wakePushers.splice(0)) wake();
    return out;
  }

  close(): void {
    this.closed = true;
    this.wakeTaker?.();
    for (const wake of this.wakePushers.splice(0)) wake();
  }

  /** Stop now: drop what is queued and release waiting pushers. */
  abort(): void {
    this.items = [];
    this.close();
  }
}

/** At most `n` decodes at once. */
class Slots {
  private free: number;
  private waiters: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiters.push(r));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}

/** No visible entry (hidden files such as .DS_Store do not count: the walk ignores them too). */
async function isEmptyFolder(dir: string): Promise<boolean> {
  try {
    return (await fsp.readdir(dir)).every((n) => n.startsWith('.'));
  } catch {
    return false;
  }
}

export async function indexFolders(opts: IndexOptions): Promise<IndexSummary> {
  const { store, model } = opts;
  const started = Date.now();
  const batchSize = Math.max(1, opts.batchSize ?? 16);
  const concurrency = Math.max(1, opts.decodeConcurrency ?? os.availableParallelism());
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const towerKey = model.imageTowerKey;
  const roots = normalizeRoots(opts.roots);

  // Our own controller: an internal failure stops the walk the same way a user cancel does.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();

  const counts = { added: 0, updated: 0, removed: 0, unchanged: 0, skipped: 0 };
  const unavailable: UnavailableFolder[] = [];
  let total = 0;
  let done = 0;
  let lastProgress = 0;
  let indexStarted = started;

  const progress = (force = false) => {
    if (!opts.onProgress) return;
    const t = Date.now();
    if (!force && t - lastProgress < 200) return;
    lastProgress = t;
    const elapsed = (t - indexStarted) / 1000;
    const rate = done > 0 && elapsed > 0 ? done / elapsed : null;
    const etaSeconds = rate ? Math.round(Math.max(0, total - done) / rate) : null;
    opts.onProgress({ stage: 'Indexing photos', done, total, etaSeconds, rate, images: store.countPhotos() });
  };

  // Count first: the walk alone is cheap next to decoding, and a bar whose total is "files found so far"
  // sits near full while most of the work is still ahead. Files that appear meanwhile raise the total.
  {
    let found = 0;
    let lastCount = 0;
    const report = () => opts.onProgress?.({ stage: found ? `Counting photos (${found.toLocaleString('en-US')} found)` : 'Counting photos', done: 0, total: 0, etaSeconds: null, rate: null, images: store.countPhotos() });
    report();
    for await (const ev of walkPhotos(roots, stop.signal)) {
      if (ev.kind === 'file' || ev.kind === 'skip') found++;
      const t = Date.now();
      if (t - lastCount >= 200) {
        lastCount = t;
        report();
      }
    }
    total = found;
    indexStarted = Date.now();
  }

  const skip = (file: string, root: string, stat: Stats | null, reason: string) => {
    store.recordSkip({ path: file, root, size: stat?.size ?? null, mtimeMs: stat?.mtimeMs ?? null, reason: oneLine(reason).trim() });
    counts.skipped++;
    done++;
    progress();
  };

  const queue = new BatchQueue<Pending>(batchSize * 2);
  const slots = new Slots(concurrency);

  /** Read once, hash, check the header, decode unless the tower features are cached. */
  const decode = async (file: string, root: string, stat: Stats, isNew: boolean): Promise<void> => {
    let item: Pending;
    let buf: Buffer | null = null;
    const bufOf = (_e: unknown) => buf;
    try {
      // Sync: a photo is one read, and fs.readFile's open/stat/read/close round trips through the
      // thread pool cost ~3× the CPU. Indexing runs in a worker thread, so no UI waits on it.
      buf = readRegularFileSync(file, MAX_PHOTO_BYTES);
      if (buf.length === 0) throw new Error('empty file');
      const hash = sha256(buf);
      const info = await readImageInfo(buf, { limitInputPixels: maxPixels });
      // Same bytes seen before (another path, or an earlier run): the tower need not run again.
      const prepared = store.hasFeatures(towerKey, hash) ? null : await model.prepareImage(buf);
      item = {
        path: file,
        root,
        size: stat.size,
        mtimeMs: stat.mtimeMs,
        hash,
        width: prepared?.width ?? info.width,
        height: prepared?.height ?? info.height,
        takenAt: info.takenAt,
        prepared,
        isNew,
      };
    } catch (e) {
      skip(file, root, stat, await skipReason(e, file, bufOf(e)));
      return;
    }
    await queue.push(item);
  };

  const present = new Map<string, Set<string>>(roots.map((r) => [r, new Set<string>()]));
  const failedDirs = new Map<string, string[]>(roots.map((r) => [r, []]));

  let seen = 0;
  const produce = async () => {
    const inflight = new Set<Promise<void>>();
    try {
      for await (const ev of walkPhotos(roots, stop.signal)) {
        if (ev.kind === 'file') {
          seen++;
          if (seen > total) total = seen;
          present.get(ev.root)!.add(ev.path);
          const state = store.photoState(ev.path, model.id);
          const same = state !== null && state.size === ev.stat.size && state.mtimeMs === ev.stat.mtimeMs;
          if (same && state.embedded) {
            counts.unchanged++;
            done++;
            progress();
            continue;
          }
          if (same && store.hasFeatures(towerKey, state.contentHash)) {
            // Unchanged, but not embedded by this model: heads only, from the cached tower features.
            await queue.push({
              path: ev.path,
              root: ev.root,
              size: state.size,
              mtimeMs: state.mtimeMs,
              hash: state.contentHash,
              width: state.width,
              height: state.height,
              takenAt: state.takenAt,
              prepared: null,
              isNew: false,
            });
            continue;
          }
          await slots.acquire();
          if (stop.signal.aborted) {
            slots.release();
            break;
          }
          const p = decode(ev.path, ev.root, ev.stat, state === null).finally(() => {
            slots.release();
            inflight.delete(p);
          });
          inflight.add(p);
        } else if (ev.kind === 'skip') {
          seen++;
          if (seen > total) total = seen;
          present.get(ev.root)!.add(ev.path);
          skip(ev.path, ev.root, null, ev.reason);
        } else if (ev.kind === 'dir-error') {
          failedDirs.get(ev.root)!.push(ev.path);
          present.get(ev.root)!.add(ev.path);
          store.recordSkip({ path: ev.path, root: ev.root, size: null, mtimeMs: null, reason: ev.reason });
          if (ev.path === ev.root) unavailable.push({ path: ev.root, photos: store.countPhotosUnder(ev.root), reason: ev.reason });
        } else if (ev.kind === 'root-done') {
          // An unmounted drive leaves its mount point as an empty folder: a root that had photos and is now
          // empty is unavailable, not emptied, so its photos stay until it is back (or the folder is removed).
          const kept = present.get(ev.root)!.size === 0 ? store.countPhotosUnder(ev.root) : 0;
          if (kept > 0 && (await isEmptyFolder(ev.root))) {
            const reason = 'the folder is empty (an unmounted or unplugged drive?)';
            store.recordSkip({ path: ev.root, root: ev.root, size: null, mtimeMs: null, reason: `${reason}: its ${kept} photos are kept until it is back` });
            unavailable.push({ path: ev.root, photos: kept, reason });
            present.set(ev.root, new Set());
            continue;
          }
          // The walk of this root finished: what it did not find is gone (unreadable sub-folders excepted).
          counts.removed += store.markMissingUnder(ev.root, present.get(ev.root)!, failedDirs.get(ev.root)!);
          present.set(ev.root, new Set()); // free the memory
        }
      }
    } finally {
      await Promise.all(inflight);
      queue.close();
    }
  };

  const consume = async () => {
    for (;;) {
      const batch = await queue.take(batchSize);
      if (!batch) return;
      await embedBatch(batch);
      progress(true);
      if (stop.signal.aborted) return; // stop after the batch in flight
    }
  };

  const embedBatch = async (batch: Pending[]) => {
    // Tower features: cached by content hash, else computed once per distinct content in the batch.
    const feats = store.getFeatures(towerKey, batch.filter((b) => !b.prepared).map((b) => b.hash));
    const fresh = new Map<string, Float32Array>();
    /** One tower run over distinct contents (hash → decoded photo); fills `fresh`. */
    const runTower = async (prepared: Map<string, PreparedImage>) => {
      if (prepared.size === 0) return;
      const out = await model.imageFeatures([...prepared.values()]);
      [...prepared.keys()].forEach((h, i) => fresh.set(h, out[i]));
    };
    const toRun = new Map<string, PreparedImage>();
    for (const b of batch) if (b.prepared && !feats.has(b.hash)) toRun.set(b.hash, b.prepared);
    await runTower(toRun);
    for (const b of batch) if (b.prepared) recycleTensor(b.prepared.tensor); // the tower is done with them
    // Features that were cached when the photo was queued may be gone now (`compact` run by another
    // process): read and decode those photos again, as if they had never been cached.
    const gone = new Map<string, Pending>();
    for (const b of batch) if (!fresh.has(b.hash) && !feats.has(b.hash) && !gone.has(b.hash)) gone.set(b.hash, b);
    if (gone.size > 0) {
      const again = new Map<string, PreparedImage>();
      for (const [h, b] of gone) {
        try {
          const buf = readRegularFileSync(b.path, MAX_PHOTO_BYTES);
          if (sha256(buf) === h) again.set(h, await model.prepareImage(buf));
        } catch {
          // unreadable now: skipped below with the reason
        }
      }
      await runTower(again);
      for (const p of again.values()) recycleTensor(p.tensor);
    }
    const ready: Pending[] = [];
    const features: Float32Array[] = [];
    for (const b of batch) {
      const f = fresh.get(b.hash) ?? feats.get(b.hash)?.data;
      if (f) {
        ready.push(b);
        features.push(f);
      } else {
        skip(b.path, b.root, null, 'the file changed or became unreadable while it was indexed; run the index again');
      }
    }
    if (ready.length === 0) return;
    const embeddings = await model.embedImageFeatures(features);
    const written = new Set<string>();
    const items: BatchItem[] = ready.map((b, i) => {
      // Cache each fresh feature vector once, with the first photo that produced it.
      const put = fresh.has(b.hash) && !written.has(b.hash);
      if (put) written.add(b.hash);
      return {
        photo: {
          path: b.path,
          root: b.root,
          size: b.size,
          mtimeMs: b.mtimeMs,
          contentHash: b.hash,
          width: b.width,
          height: b.height,
          takenAt: b.takenAt,
        },
        features: put ? { towerKey, data: fresh.get(b.hash)! } : undefined,
        embedding: { modelId: model.id, data: embeddings[i] },
      };
    });
    store.writeBatch(items);
    for (const b of ready) {
      if (b.isNew) counts.added++;
      else counts.updated++;
    }
    done += ready.length;
  };

  progress(true);
  const producer = produce();
  let failure: unknown = null;
  try {
    await consume();
  } catch (e) {
    failure = e;
  }
  // Stop the walk (on failure or cancel) and let in-flight decodes settle before returning.
  if (failure || stop.signal.aborted) {
    stop.abort();
    queue.abort();
  }
  try {
    await producer;
  } catch (e) {
    failure ??= e;
  }
  opts.signal?.removeEventListener('abort', onAbort);
  if (failure) throw failure;

  const summary: IndexSummary = { ...counts, images: store.countPhotos(), seconds: (Date.now() - started) / 1000, unavailable };
  if (opts.signal?.aborted) throw new Cancelled(INDEX_CANCELLED, summary);
  const elapsed = (Date.now() - indexStarted) / 1000;
  opts.onProgress?.({ stage: 'Done', done, total: Math.max(total, done), etaSeconds: 0, rate: elapsed > 0 && done > 0 ? done / elapsed : null, images: summary.images });
  return summary;
}

export interface ReembedResult {
  /** Photos embedded from cached tower features. */
  embedded: number;
  /** Photos without cached features for this model's image tower: they need a real re-index. */
  missing: number;
  missingPaths: string[];
}

/**
 * Embed photos that lack an embedding for `model.id` from their cached tower features (heads only, no
 * decode). Photos whose features are not cached are counted in `missing` for the caller to re-index.
 */
export async function reembedFromCache(opts: {
  store: Store;
  model: EmbeddingModel;
  signal?: AbortSignal;
  /** `done` counts photos looked at; `embedded`, those embedded so far (the others have no cached features). */
  onProgress?: (p: Pick<IndexProgress, 'stage' | 'done' | 'total' | 'etaSeconds'> & { embedded: number }) => void;
  batchSize?: number;
}): Promise<ReembedResult> {
  const { store, model } = opts;
  const batchSize = opts.batchSize ?? 256;
  const photos = store.photosMissingEmbedding(model.id);
  const result: ReembedResult = { embedded: 0, missing: 0, missingPaths: [] };
  const started = Date.now();
  for (let i = 0; i < photos.length; i += batchSize) {
    if (opts.signal?.aborted) break;
    const chunk = photos.slice(i, i + batchSize);
    const feats = store.getFeatures(model.imageTowerKey, chunk.map((p) => p.contentHash));
    const have = chunk.filter((p) => feats.has(p.contentHash));
    for (const p of chunk) {
      if (feats.has(p.contentHash)) continue;
      result.missing++;
      result.missingPaths.push(p.path);
    }
    if (have.length > 0) {
      const vecs = await model.embedImageFeatures(have.map((p) => feats.get(p.contentHash)!.data));
      result.embedded += store.putEmbeddingsChecked(
        model.id,
        have.map((p, j) => ({ photoId: p.id, hash: p.contentHash, data: vecs[j] })),
      );
    }
    const done = Math.min(i + batchSize, photos.length);
    const elapsed = (Date.now() - started) / 1000;
    opts.onProgress?.({
      stage: 'Re-embedding photos',
      done,
      total: photos.length,
      etaSeconds: Math.round(((photos.length - done) * elapsed) / done),
      embedded: result.embedded,
    });
  }
  return result;
}
