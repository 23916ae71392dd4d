/**
 * Indexing throughput against its ceiling, the image tower alone, in the same run:
 *
 *   modelOnly = prepareImage every photo first (decode outside the clock), then time imageFeatures in
 *               batches — what onnxruntime can do on this machine;
 *   pipeline  = indexFolders on a fresh data directory (walk, hash, decode, tower, heads, SQLite,
 *               thumbnails) — what a user gets.
 *
 * ratio = pipeline / modelOnly: near 1 means indexing is bound by the tower; well below 1 means decode,
 * I/O or the store are the bottleneck. `photo-search bench index FOLDER` prints it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../errors';
import { indexFolders } from '../library/indexer';
import { walkPhotos } from '../library/walk';
import type { EmbeddingModel, PreparedImage } from '../model/types';
import { dataPaths, ensureDataDir } from '../paths';
import { Store } from '../store';

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
}

const DEFAULT_BATCH = 16;
const DEFAULT_LIMIT = 2000;

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
  await model.imageFeatures(prepared.slice(0, Math.min(batchSize, prepared.length)));
  const tModel = performance.now();
  for (let i = 0; i < prepared.length; i += batchSize) await model.imageFeatures(prepared.slice(i, i + batchSize));
  const modelOnlySeconds = (performance.now() - tModel) / 1000;
  const modelOnlyCount = prepared.length;
  prepared.length = 0; // free the tensors before the pipeline run
  log(`image tower: ${(modelOnlyCount / modelOnlySeconds).toFixed(1)} photos/s`);

  // 3. The whole pipeline on a fresh library (no feature cache, so every photo goes through the tower).
  const tmp = opts.dataDir ? null : mkdtempSync(path.join(os.tmpdir(), 'photo-search-bench-index-'));
  const dataDir = opts.dataDir ?? (tmp as string);
  const paths = ensureDataDir(dataDir);
  const store = new Store(dataPaths(dataDir).db);
  try {
    if (store.countPhotos() > 0) {
      throw new AppError('invalid_input', `The data folder ${dataDir} already holds a library; the benchmark needs an empty one. Omit --data or pass a new folder.`);
    }
    const tPipe = performance.now();
    const summary = await indexFolders({ store, model, roots: [opts.folder], thumbnailsDir: paths.thumbnails, batchSize });
    const pipelineSeconds = (performance.now() - tPipe) / 1000;
    const indexed = summary.added + summary.updated;
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
    };
  } finally {
    store.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}
