/**
 * Indexing throughput against its ceiling, the image tower alone, in the same run:
 *
 *   modelOnly = prepareImage every photo first (decode outside the clock), then time photoFeatures in
 *               batches (the tower over every view of the photo the model averages) — what onnxruntime can
 *               do on this machine;
 *   pipeline  = indexFolders on a fresh data directory (walk, read, hash, header, decode, tower, heads,
 *               SQLite; thumbnails are made on first display, not while indexing) — what a user gets.
 *
 * ratio = pipeline / modelOnly: near 1 means indexing is bound by the tower; well below 1 means decode,
 * I/O or the store are the bottleneck. `photo-search bench index FOLDER` prints it.
 *
 * `coreMs` explains the ratio in CPU time per photo (process.cpuUsage, all threads): each step of the
 * indexer run one photo at a time (before the timed runs), the tower and the heads on the timed batches,
 * and the whole pipeline. On a CPU-bound machine ratio ≈ tower / pipeline core time.
 *
 * `thumbnailP50Ms` / `thumbnailP95Ms`: a cold thumbnail (none cached) as the first display makes it, from
 * the file, one at a time, wall-clock; `coreMs.thumbnail` its CPU time. Not part of the pipeline.
 */
import { sha256 } from '../main/backend/fs/hash';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../main/backend/errors';
import { indexFolders } from '../main/backend/library/indexer';
import { makeThumbnail } from '../main/backend/library/thumbnails';
import { walkPhotos } from '../main/backend/library/walk';
import { normalize, recycleTensor } from '../main/backend/model/preprocess';
import type { EmbeddingModel, PreparedImage } from '../main/backend/model/types';
import { dataPaths, ensureDataDir } from '../main/backend/paths';
import { decodeImage, readImageInfo } from '../main/backend/photos/decode';
import { pixelHashOfTensor } from '../main/backend/photos/pixel-hash';
import { Store } from '../main/backend/store';

export interface BenchIndexOptions {
  folder: string;
  model: EmbeddingModel;
  /**
   * A data directory to index into; it must not hold a library yet (the run has to decode every photo).
   * Default: a temp folder, removed afterwards.
   */
  dataDir?: string;
  /** Accepted for the CLI's call; the model is already loaded. */
  modelDir?: string;
  /** Photos per tower run, for both measurements (the indexer's default is 16). */
  batchSize?: number;
  /** Cap on photos (the pre-decoded tensors are held in memory: ~0.6 MB each at 224 px). */
  limit?: number;
  onProgress?: (message: string) => void;
}

export interface BenchIndexResult {
  images: number;
  /** Whole pipeline (indexFolders), photos indexed per second. */
  imagesPerSec: number;
  /** Image tower alone on pre-decoded tensors. */
  modelOnlyImagesPerSec: number;
  ratio: number;
  pipelineSeconds: number;
  modelOnlySeconds: number;
  /** Decode + preprocess alone (sharp), photos per second, measured while preparing the tensors. */
  decodeImagesPerSec: number;
  skipped: number;
  batchSize: number;
  /** Cold thumbnail made from the file (first display), wall-clock milliseconds per photo. */
  thumbnailP50Ms: number;
  thumbnailP95Ms: number;
  /** CPU time (all threads) per photo, in milliseconds: the indexer's steps one at a time, then the totals. */
  coreMs: CoreMs;
}

export interface CoreMs {
  read: number;
  sha256: number;
  /** Size, orientation, EXIF date, pixel limit (readImageInfo). */
  header: number;
  /** sharp: decode, rotate, resize to the tower's size (decodeImage). */
  decode: number;
  /** uint8 HWC → float32 in the tower's layout (normalize). */
  toFloat: number;
  /** The perceptual hash of the tower's view, for the duplicate finder (photos/pixel-hash.ts). */
  pixelHash: number;
  /** Heads on the tower features of one batch, per photo. */
  heads: number;
  /** Writing one batch (photos, features, embeddings) in one transaction, per photo. */
  store: number;
  /** The image tower in the timed batches. */
  tower: number;
  /** The whole indexFolders run, divided by the photos it indexed. */
  pipeline: number;
  /** A cold thumbnail (read, shrink-on-load decode, rotate, resize, JPEG encode, write); not in the pipeline. */
  thumbnail: number;
}

const DEFAULT_BATCH = 16;
const DEFAULT_LIMIT = 2000;
/** Photos the step-by-step breakdown runs over (enough for stable figures, a second or two). */
const BREAKDOWN_PHOTOS = 100;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Each step of the indexer on one photo at a time, CPU ms per photo. */
async function stepBreakdown(files: string[], model: EmbeddingModel): Promise<Pick<CoreMs, 'read' | 'sha256' | 'header' | 'decode' | 'toFloat' | 'pixelHash'>> {
  const pre = model.manifest.image.preprocess;
  const sum = { read: 0, sha256: 0, header: 0, decode: 0, toFloat: 0, pixelHash: 0 };
  let n = 0;
  for (const [i, f] of files.slice(0, BREAKDOWN_PHOTOS + 2).entries()) {
    try {
      const t0 = cpuMs();
      const buf = readFileSync(f);
      const t1 = cpuMs();
      sha256(buf);
      const t2 = cpuMs();
      await readImageInfo(buf);
      const t3 = cpuMs();
      const raw = await decodeImage(buf, pre);
      const t4 = cpuMs();
      const tensor = normalize(raw.data, raw.channels, pre);
      const t5 = cpuMs();
      pixelHashOfTensor(tensor, pre);
      const t6 = cpuMs();
      recycleTensor(tensor); // as the indexer does after the tower
      if (i < 2) continue; // warm-up
      sum.read += t1 - t0;
      sum.sha256 += t2 - t1;
      sum.header += t3 - t2;
      sum.decode += t4 - t3;
      sum.toFloat += t5 - t4;
      sum.pixelHash += t6 - t5;
      n++;
    } catch {
      // unreadable photo: the indexer skips it
    }
  }
  const per = (v: number) => (n > 0 ? v / n : 0);
  return { read: per(sum.read), sha256: per(sum.sha256), header: per(sum.header), decode: per(sum.decode), toFloat: per(sum.toFloat), pixelHash: per(sum.pixelHash) };
}

/** Cold thumbnails of the first photos, one at a time into an empty cache: wall p50/p95 and CPU ms per photo. */
async function coldThumbnails(files: string[]): Promise<{ p50: number; p95: number; coreMs: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'photo-search-bench-thumbs-'));
  const wall: number[] = [];
  let cpu = 0;
  try {
    for (const [i, f] of files.slice(0, BREAKDOWN_PHOTOS + 2).entries()) {
      const key = sha256(`${i}:${f}`); // a new key each time: never a cache hit
      const c0 = cpuMs();
      const t0 = performance.now();
      try {
        await makeThumbnail(f, key, dir);
      } catch {
        continue; // unreadable photo
      }
      if (i < 2) continue; // warm-up
      wall.push(performance.now() - t0);
      cpu += cpuMs() - c0;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (wall.length === 0) return { p50: 0, p95: 0, coreMs: 0 };
  wall.sort((a, b) => a - b);
  const at = (q: number) => wall[Math.min(wall.length - 1, Math.floor(q * wall.length))];
  return { p50: at(0.5), p95: at(0.95), coreMs: cpu / wall.length };
}

/** Heads and one store transaction on real tower features, CPU ms per photo (a throwaway store). */
async function headsAndStore(model: EmbeddingModel, features: Float32Array[]): Promise<Pick<CoreMs, 'heads' | 'store'>> {
  await model.embedImageFeatures(features); // warm-up
  const t0 = cpuMs();
  const embeddings = await model.embedImageFeatures(features);
  const heads = (cpuMs() - t0) / features.length;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'photo-search-bench-store-'));
  const store = new Store(dataPaths(dir).db);
  try {
    const items = features.map((f, i) => ({
      photo: { path: path.join(dir, `p${i}.jpg`), root: dir, size: 1, mtimeMs: 1, contentHash: sha256(String(i)), width: 1, height: 1, takenAt: null },
      features: { towerKey: model.imageTowerKey, data: f },
      embedding: { modelId: model.id, data: embeddings[i] },
    }));
    const t1 = cpuMs();
    store.writeBatch(items);
    return { heads, store: (cpuMs() - t1) / features.length };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchIndex(opts: BenchIndexOptions): Promise<BenchIndexResult> {
  const { model } = opts;
  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  const log = opts.onProgress ?? (() => undefined);

  // Photos the walk finds (the same files the indexer will see), capped.
  const files: string[] = [];
  for await (const ev of walkPhotos([opts.folder])) {
    if (ev.kind === 'file') files.push(ev.path);
    if (files.length >= (opts.limit ?? DEFAULT_LIMIT)) break;
  }
  if (files.length === 0) throw new AppError('invalid_input', `No photos found in ${opts.folder}. Point the benchmark at a folder of JPEG/PNG/WebP photos.`);

  // 0. The indexer's steps one photo at a time (CPU time), before anything is timed.
  const steps = await stepBreakdown(files, model);
  const thumbs = await coldThumbnails(files);

  // 1. Decode everything first, outside the tower's clock.
  const prepared: PreparedImage[] = [];
  const tDecode = performance.now();
  for (const f of files) {
    try {
      prepared.push(await model.prepareImage(f));
    } catch {
      // unreadable photo: the indexer will skip it too
    }
  }
  const decodeSeconds = (performance.now() - tDecode) / 1000;
  if (prepared.length === 0) throw new AppError('invalid_input', `None of the ${files.length} files in ${opts.folder} could be decoded.`);
  log(`decoded ${prepared.length} photos in ${decodeSeconds.toFixed(1)} s`);

  // 2. The tower alone: warm the session on one batch, then time every batch.
  await model.photoFeatures(prepared.slice(0, Math.min(batchSize, prepared.length)));
  let lastFeatures: Float32Array[] = [];
  const cpuModel = cpuMs();
  const tModel = performance.now();
  for (let i = 0; i < prepared.length; i += batchSize) lastFeatures = await model.photoFeatures(prepared.slice(i, i + batchSize));
  const modelOnlySeconds = (performance.now() - tModel) / 1000;
  const modelOnlyCount = prepared.length;
  const towerCoreMs = (cpuMs() - cpuModel) / modelOnlyCount;
  prepared.length = 0; // free the tensors before the pipeline run
  log(`image tower: ${(modelOnlyCount / modelOnlySeconds).toFixed(1)} photos/s`);
  const afterTower = await headsAndStore(model, lastFeatures);

  // 3. The whole pipeline on a fresh library (no feature cache, so every photo goes through the tower).
  const tmp = opts.dataDir ? null : mkdtempSync(path.join(os.tmpdir(), 'photo-search-bench-index-'));
  const dataDir = opts.dataDir ?? (tmp as string);
  ensureDataDir(dataDir);
  const store = new Store(dataPaths(dataDir).db);
  try {
    if (store.countPhotos() > 0) {
      throw new AppError('invalid_input', `The data folder ${dataDir} already holds a library; the benchmark needs an empty one. Omit --data or pass a new folder.`);
    }
    const cpuPipe = cpuMs();
    const tPipe = performance.now();
    const summary = await indexFolders({ store, model, roots: [opts.folder], batchSize });
    const pipelineSeconds = (performance.now() - tPipe) / 1000;
    const indexed = summary.added + summary.updated;
    const pipelineCoreMs = (cpuMs() - cpuPipe) / Math.max(1, indexed);
    const imagesPerSec = indexed / pipelineSeconds;
    const modelOnlyImagesPerSec = modelOnlyCount / modelOnlySeconds;
    log(`pipeline: ${imagesPerSec.toFixed(1)} photos/s`);
    return {
      images: indexed,
      imagesPerSec,
      modelOnlyImagesPerSec,
      ratio: imagesPerSec / modelOnlyImagesPerSec,
      pipelineSeconds,
      modelOnlySeconds,
      decodeImagesPerSec: modelOnlyCount / decodeSeconds,
      skipped: summary.skipped,
      batchSize,
      thumbnailP50Ms: thumbs.p50,
      thumbnailP95Ms: thumbs.p95,
      coreMs: { ...steps, ...afterTower, tower: towerCoreMs, pipeline: pipelineCoreMs, thumbnail: thumbs.coreMs },
    };
  } finally {
    store.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}
