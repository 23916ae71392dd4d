/**
 * One indexing run, in named stages: count the photo files (so the bar has a real total), plan each file as
 * it is walked (unchanged, heads only from cached features, or to decode; skipped files and vanished ones),
 * decode (read once, hash, header check, prepare for the tower; bounded by decode slots), and commit each
 * batch (tower, heads, one transaction). Decoding runs ahead of the tower through a bounded queue.
 */
import type { Stats } from 'node:fs';
import os from 'node:os';
import type { IndexSummary, UnavailableFolder } from '../../../shared/api';
import { oneLine } from '../../../shared/format';
import { Cancelled } from '../errors';
import { sha256 } from '../fs/hash';
import { MAX_PHOTO_BYTES, readRegularFileSync } from '../fs/safe-read';
import { recycleTensor } from '../model/preprocess';
import type { EmbeddingModel, ImagePreprocess, PreparedImage } from '../model/types';
import { DEFAULT_PIXEL_LIMIT, readImageInfo, skipReason } from '../photos/decode';
import { pixelHashOfTensor, pixelViewOf } from '../photos/pixel-hash';
import type { BatchItem, PhotoInput, PixelHash, Store } from '../store';
import { BatchQueue, Slots } from './index-queue';
import { closeRoot, countPhotoFiles, fillPixelHash, nearestPlace, refreshStaleMeta } from './index-upkeep';
import { normalizeRoots, walkPhotos, type WalkEvent } from './walk';

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
  /** GPS position → place (offline); without it, positions are stored and places left empty. */
  places?: (gps: { lat: number; lon: number }) => Promise<PhotoInput['place']>;
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
  /** The offset, position and place (read with the header; carried over for a heads-only update). */
  meta: Pick<PhotoInput, 'takenOffset' | 'gps' | 'place' | 'metaRead'>;
  prepared: PreparedImage | null;
  /** Its pixel hash (null: kept as stored, the content being unchanged). */
  pixels: PixelHash | null;
  isNew: boolean;
}

export class IndexRun {
  private readonly store: Store;
  private readonly model: EmbeddingModel;
  private readonly started = Date.now();
  private readonly batchSize: number;
  private readonly maxPixels: number;
  private readonly towerKey: string;
  /** How the tower's view is made (the pixel hash is computed from it), and that view's name. */
  private readonly pre: ImagePreprocess;
  private readonly pixelView: string;
  private readonly roots: string[];
  /** Our own controller: an internal failure stops the walk the same way a user cancel does. */
  private readonly stop = new AbortController();
  private readonly counts = { added: 0, updated: 0, removed: 0, unchanged: 0, skipped: 0 };
  private readonly unavailable: UnavailableFolder[] = [];
  private total = 0;
  private done = 0;
  private seen = 0;
  private lastProgress = 0;
  private indexStarted: number;
  private readonly queue: BatchQueue<Pending>;
  private readonly slots: Slots;
  /** Paths the walk found, per root (what it did not find is gone once that root's walk completes). */
  private readonly present: Map<string, Set<string>>;
  /** Sub-folders that could not be read, per root: their photos are kept. */
  private readonly failedDirs: Map<string, string[]>;

  constructor(private readonly opts: IndexOptions) {
    this.store = opts.store;
    this.model = opts.model;
    this.batchSize = Math.max(1, opts.batchSize ?? 16);
    this.maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
    this.towerKey = opts.model.photoFeatureKey;
    this.pre = opts.model.manifest.image.preprocess;
    this.pixelView = pixelViewOf(this.pre);
    this.roots = normalizeRoots(opts.roots);
    this.indexStarted = this.started;
    this.queue = new BatchQueue<Pending>(this.batchSize * 2);
    this.slots = new Slots(Math.max(1, opts.decodeConcurrency ?? os.availableParallelism()));
    this.present = new Map(this.roots.map((r) => [r, new Set<string>()]));
    this.failedDirs = new Map(this.roots.map((r) => [r, []]));
  }

  async run(): Promise<IndexSummary> {
    const { opts, stop } = this;
    const onAbort = () => stop.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) stop.abort();
    await this.count();
    this.progress(true);
    const planner = this.plan();
    let failure: unknown = null;
    try {
      await this.commitAll();
    } catch (e) {
      failure = e;
    }
    // Stop the walk (on failure or cancel) and let in-flight decodes settle before returning.
    if (failure || stop.signal.aborted) {
      stop.abort();
      this.queue.abort();
    }
    try {
      await planner;
    } catch (e) {
      failure ??= e;
    }
    if (!failure && !stop.signal.aborted) {
      try {
        await this.refreshMeta();
      } catch (e) {
        failure = e;
      }
    }
    opts.signal?.removeEventListener('abort', onAbort);
    if (failure) throw failure;
    const summary: IndexSummary = { ...this.counts, images: this.store.countPhotos(), seconds: (Date.now() - this.started) / 1000, unavailable: this.unavailable };
    if (opts.signal?.aborted) throw new Cancelled(INDEX_CANCELLED, summary);
    const elapsed = (Date.now() - this.indexStarted) / 1000;
    const done = this.done;
    opts.onProgress?.({ stage: 'Done', done, total: Math.max(this.total, done), etaSeconds: 0, rate: elapsed > 0 && done > 0 ? done / elapsed : null, images: summary.images });
    return summary;
  }

  private progress(force = false): void {
    if (!this.opts.onProgress) return;
    const t = Date.now();
    if (!force && t - this.lastProgress < 200) return;
    this.lastProgress = t;
    const elapsed = (t - this.indexStarted) / 1000;
    const rate = this.done > 0 && elapsed > 0 ? this.done / elapsed : null;
    const etaSeconds = rate ? Math.round(Math.max(0, this.total - this.done) / rate) : null;
    this.opts.onProgress({ stage: 'Indexing photos', done: this.done, total: this.total, etaSeconds, rate, images: this.store.countPhotos() });
  }

  /** Stage 1, count (index-upkeep.ts); files that appear meanwhile raise the total. */
  private async count(): Promise<void> {
    this.total = await countPhotoFiles(this.roots, this.stop.signal, (found) =>
      this.opts.onProgress?.({ stage: found ? `Counting photos (${found.toLocaleString('en-US')} found)` : 'Counting photos', done: 0, total: 0, etaSeconds: null, rate: null, images: this.store.countPhotos() }),
    );
    this.indexStarted = Date.now();
  }

  private skip(file: string, root: string, stat: Stats | null, reason: string): void {
    this.store.recordSkip({ path: file, root, size: stat?.size ?? null, mtimeMs: stat?.mtimeMs ?? null, reason: oneLine(reason).trim() });
    this.counts.skipped++;
    this.done++;
    this.progress();
  }

  private found(root: string, file: string): void {
    this.seen++;
    if (this.seen > this.total) this.total = this.seen;
    this.present.get(root)!.add(file);
  }

  /** Stage 2, plan: walk again and decide each file's fate; decodes start here (up to the decode slots). */
  private async plan(): Promise<void> {
    const inflight = new Set<Promise<void>>();
    try {
      for await (const ev of walkPhotos(this.roots, this.stop.signal)) {
        if (ev.kind === 'file') {
          this.found(ev.root, ev.path);
          const decodeIt = await this.planFile(ev);
          if (!decodeIt) continue;
          await this.slots.acquire();
          if (this.stop.signal.aborted) {
            this.slots.release();
            break;
          }
          const work = decodeIt.pixelsOnly ? this.pixelsOnly(ev.path) : this.decode(ev.path, ev.root, ev.stat, decodeIt.isNew);
          const p = work.finally(() => {
            this.slots.release();
            inflight.delete(p);
          });
          inflight.add(p);
        } else if (ev.kind === 'skip') {
          this.found(ev.root, ev.path);
          this.skip(ev.path, ev.root, null, ev.reason);
        } else if (ev.kind === 'dir-error') {
          this.failedDirs.get(ev.root)!.push(ev.path);
          this.present.get(ev.root)!.add(ev.path);
          this.store.recordSkip({ path: ev.path, root: ev.root, size: null, mtimeMs: null, reason: ev.reason });
          if (ev.path === ev.root) this.unavailable.push({ path: ev.root, photos: this.store.countPhotosUnder(ev.root), reason: ev.reason });
        } else if (ev.kind === 'root-done') {
          await this.rootDone(ev.root);
        }
      }
    } finally {
      await Promise.all(inflight);
      this.queue.close();
    }
  }

  /**
   * A photo file: unchanged (counted), heads only from cached features (queued), to decode ({isNew}), or
   * unchanged but without a pixel hash of this model's view ({pixelsOnly}: indexed before pixel hashes).
   */
  private async planFile(ev: Extract<WalkEvent, { kind: 'file' }>): Promise<{ isNew: boolean; pixelsOnly?: boolean } | null> {
    const state = this.store.photoState(ev.path, this.model.id);
    const same = state !== null && state.size === ev.stat.size && state.mtimeMs === ev.stat.mtimeMs;
    if (same && state.embedded && state.pixelView !== this.pixelView) return { isNew: false, pixelsOnly: true };
    if (same && state.embedded) {
      this.counts.unchanged++;
      this.done++;
      this.progress();
      return null;
    }
    if (same && this.store.hasFeatures(this.towerKey, state.contentHash)) {
      // Unchanged, but not embedded by this model: heads only, from the cached tower features.
      await this.queue.push({
        path: ev.path,
        root: ev.root,
        size: state.size,
        mtimeMs: state.mtimeMs,
        hash: state.contentHash,
        width: state.width,
        height: state.height,
        takenAt: state.takenAt,
        meta: { takenOffset: state.takenOffset, gps: state.gps, place: state.place, metaRead: state.metaRead },
        prepared: null,
        pixels: null,
        isNew: false,
      });
      return null;
    }
    return { isNew: state === null };
  }

  /** The walk of a root finished: what it did not find is gone (see closeRoot). */
  private async rootDone(root: string): Promise<void> {
    this.counts.removed += await closeRoot(this.store, root, this.present.get(root)!, this.failedDirs.get(root)!, this.unavailable);
    this.present.set(root, new Set()); // free the memory
  }

  /** Stage 3, decode: read once, hash, check the header, decode unless the tower features are cached. */
  private async decode(file: string, root: string, stat: Stats, isNew: boolean): Promise<void> {
    let item: Pending;
    let buf: Buffer | null = null;
    try {
      // Sync: a photo is one read, and fs.readFile's open/stat/read/close round trips through the
      // thread pool cost ~3× the CPU. Indexing runs in a worker thread, so no UI waits on it.
      buf = readRegularFileSync(file, MAX_PHOTO_BYTES);
      if (buf.length === 0) throw new Error('empty file');
      const hash = sha256(buf);
      const info = await readImageInfo(buf, { limitInputPixels: this.maxPixels });
      // Same bytes seen before (another path, or an earlier run): neither the tower nor the pixel hash is computed again.
      const knownPixels = this.store.pixelHashOfContent(hash, this.pixelView);
      const prepared = knownPixels && this.store.hasFeatures(this.towerKey, hash) ? null : await this.model.prepareImage(buf);
      item = {
        path: file,
        root,
        size: stat.size,
        mtimeMs: stat.mtimeMs,
        hash,
        width: prepared?.width ?? info.width,
        height: prepared?.height ?? info.height,
        takenAt: info.takenAt,
        meta: { takenOffset: info.takenOffset, gps: info.gps, place: info.gps ? await this.placeOf(info.gps) : null },
        prepared,
        // From the pixels the tower will see, before the tensor is recycled.
        pixels: { view: this.pixelView, hash: knownPixels ?? pixelHashOfTensor(prepared!.tensor, this.pre) },
        isNew,
      };
    } catch (e) {
      this.skip(file, root, stat, await skipReason(e, file, buf));
      return;
    }
    await this.queue.push(item);
  }

  /** The place a GPS position resolves to, offline; null where no place is known (open sea) or the data cannot load. */
  private async placeOf(gps: { lat: number; lon: number }): Promise<PhotoInput['place']> {
    return (this.opts.places ?? nearestPlace)(gps);
  }

  /** Stage 5: dates and places of photos indexed before they were read (see refreshStaleMeta). */
  private async refreshMeta(): Promise<void> {
    const onBatch = () =>
      this.opts.onProgress?.({ stage: 'Reading dates and places of earlier photos', done: this.done, total: Math.max(this.total, this.done), etaSeconds: null, rate: null, images: this.store.countPhotos() });
    await refreshStaleMeta(this.store, this.roots, { maxPixels: this.maxPixels, placeOf: (gps) => this.placeOf(gps), signal: this.stop.signal, onBatch });
  }

  /** Stage 3 for an unchanged photo indexed before pixel hashes: the hash alone (see fillPixelHash). */
  private async pixelsOnly(file: string): Promise<void> {
    await fillPixelHash(this.store, this.model, this.pre, this.pixelView, file);
    this.counts.unchanged++;
    this.done++;
    this.progress();
  }

  /** Stage 4, commit: batch by batch until the queue ends; a cancel stops after the batch in flight. */
  private async commitAll(): Promise<void> {
    for (;;) {
      const batch = await this.queue.take(this.batchSize);
      if (!batch) return;
      await this.commit(batch);
      this.progress(true);
      if (this.stop.signal.aborted) return;
    }
  }

  /** Tower features (cached by content hash, else computed once per distinct content), heads, one transaction. */
  private async commit(batch: Pending[]): Promise<void> {
    const { store, model, towerKey } = this;
    // Every photo's cached features, decoded or not: one decoded only for its pixel hash needs no tower run.
    const feats = store.getFeatures(towerKey, batch.map((b) => b.hash));
    const fresh = await towerFeatures(model, batch, feats);
    const ready: Pending[] = [];
    const features: Float32Array[] = [];
    for (const b of batch) {
      const f = fresh.get(b.hash) ?? feats.get(b.hash)?.data;
      if (f) {
        ready.push(b);
        features.push(f);
      } else {
        this.skip(b.path, b.root, null, 'the file changed or became unreadable while it was indexed; run the index again');
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
        photo: { path: b.path, root: b.root, size: b.size, mtimeMs: b.mtimeMs, contentHash: b.hash, width: b.width, height: b.height, takenAt: b.takenAt, ...b.meta, pixels: b.pixels },
        features: put ? { towerKey, data: fresh.get(b.hash)! } : undefined,
        embedding: { modelId: model.id, data: embeddings[i] },
      };
    });
    store.writeBatch(items);
    for (const b of ready) {
      if (b.isNew) this.counts.added++;
      else this.counts.updated++;
    }
    this.done += ready.length;
  }
}

/** The image tower over the batch's decoded photos whose features are not cached (hash → features). */
async function towerFeatures(model: EmbeddingModel, batch: Pending[], feats: Map<string, { data: Float32Array }>): Promise<Map<string, Float32Array>> {
  const fresh = new Map<string, Float32Array>();
  const runTower = async (prepared: Map<string, PreparedImage>) => {
    if (prepared.size === 0) return;
    const out = await model.photoFeatures([...prepared.values()]);
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
  return fresh;
}
