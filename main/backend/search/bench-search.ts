/**
 * Search latency at scale: N seeded random unit vectors written to a scratch library database (the real
 * Store, batched transactions), loaded into a VectorIndex the way the service loads it, then timed queries.
 * `photo-search bench search --vectors N --dim D` prints the result; docs/BENCHMARKS.md records runs.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EmbeddingModel } from '../model/types';
import { Store, type BatchItem } from '../store';
import { VectorIndex } from './vector-index';
import { seededRandom } from '../../../shared/random';
import { dataPaths } from '../paths';

export interface BenchSearchOptions {
  vectors: number;
  dim: number;
  /** Timed queries (after warm-up); at least 50 are run. */
  queries?: number;
  seed: number;
  k?: number;
  /** When given, each timed query also embeds a caption with this model's text tower (end-to-end latency). */
  textModel?: EmbeddingModel;
  /** Passed to VectorIndex (default auto: int8 snapshot + exact re-rank from QUANT_MIN_ROWS rows). */
  quantize?: 'auto' | 'on' | 'off';
  /** Where the scratch database goes (default: a temp folder, removed afterwards). */
  tmpDir?: string;
  onProgress?: (message: string) => void;
}

export interface BenchSearchResult {
  vectors: number;
  dim: number;
  queries: number;
  k: number;
  /** Whether the int8 snapshot scored first (else the exact float scan alone). */
  quantized: boolean;
  /** Index search alone (kernel scan + top-K + re-rank). */
  p50Ms: number;
  p95Ms: number;
  /** Fastest query: the kernel's speed when other processes share the cores (p50 includes their noise). */
  minMs: number;
  /** Store → index load time (with the int8 snapshot build when quantized), and the store fill time (not part of the app's start-up). */
  loadMs: number;
  fillMs: number;
  /** Index buffers, and the process RSS / external-memory growth while loading. */
  memoryMB: number;
  rssDeltaMB: number;
  externalDeltaMB: number;
  dbMB: number;
  /** Fraction of the exact top-10 found, over the timed queries (1 for an exact index). */
  recallAt10: number;
  /** Only with `textModel`: the text tower + heads alone, and text + search per query. */
  textP50Ms?: number;
  totalP50Ms?: number;
  totalP95Ms?: number;
}

const WRITE_BATCH = 5_000;
const WARMUP = 5;
const MB = 1024 * 1024;
const CAPTIONS = ['a dog running on the beach', 'two children playing in the snow', 'a man riding a red bike', 'a crowd at a concert at night', 'a cat sleeping on a sofa'];

/** Re-exported: the search tests take it from here. */
export { seededRandom };

/** A random unit vector (Gaussian components via Box–Muller, then L2-normalized): uniform on the sphere. */
export function randomUnitVector(dim: number, rand: () => number): Float32Array {
  const v = new Float32Array(dim);
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    const g = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    v[i] = g;
    norm += g * g;
  }
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < dim; i++) v[i] /= norm;
  return v;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export async function benchSearch(opts: BenchSearchOptions): Promise<BenchSearchResult> {
  const { vectors: n, dim, seed } = opts;
  const k = opts.k ?? 10;
  const queries = Math.max(50, opts.queries ?? 100);
  const log = opts.onProgress ?? (() => undefined);
  const dir = mkdtempSync(path.join(opts.tmpDir ?? os.tmpdir(), 'photo-search-bench-'));
  const modelId = `bench-${dim}`;
  const store = new Store(dataPaths(dir).db);
  let index: VectorIndex | null = null;
  try {
    // 1. Fill the scratch library in batched transactions.
    const rand = seededRandom(seed);
    const t0 = performance.now();
    for (let start = 0; start < n; start += WRITE_BATCH) {
      const items: BatchItem[] = [];
      for (let i = start; i < Math.min(n, start + WRITE_BATCH); i++) {
        items.push({
          photo: { path: `/bench/${i}.jpg`, root: '/bench', size: 1, mtimeMs: 0, contentHash: `h${i}`, width: null, height: null, takenAt: null },
          embedding: { modelId, data: randomUnitVector(dim, rand) },
        });
      }
      store.writeBatch(items);
      if ((start / WRITE_BATCH) % 20 === 0) log(`filled ${Math.min(n, start + WRITE_BATCH)} / ${n}`);
    }
    const fillMs = performance.now() - t0;
    store.db.pragma('wal_checkpoint(TRUNCATE)'); // so the file size below is the whole database

    // 2. Load as the service does (streamed rows); the count lets the buffer be sized once.
    global.gc?.();
    const before = process.memoryUsage();
    index = new VectorIndex(dim, { quantize: opts.quantize });
    const { ms: loadMs } = await index.load(store.iterateEmbeddings(modelId), { expectedCount: store.countEmbeddings(modelId) });
    const after = process.memoryUsage();
    log(`loaded ${index.size} vectors in ${loadMs.toFixed(0)} ms`);

    // 3. Timed queries: fresh random unit vectors (not stored rows, so no trivial self-match).
    const qs = Array.from({ length: WARMUP + queries }, () => randomUnitVector(dim, rand));
    const times: number[] = [];
    const hits: { id: number }[][] = [];
    for (let i = 0; i < qs.length; i++) {
      const t = performance.now();
      const found = await index.search(qs[i], k);
      if (i >= WARMUP) {
        times.push(performance.now() - t);
        hits.push(found);
      }
    }

    // 4. Recall against the exact float64 scan of the same rows (a sample keeps big runs short).
    const checked = Math.min(queries, n > 200_000 ? 10 : queries);
    let found10 = 0;
    let total10 = 0;
    for (let i = 0; i < checked; i++) {
      // searchJs: the plain float64 scan over every stored row, independent of the fast kernel.
      const exact = index.searchJs(qs[WARMUP + i], 10);
      const got = new Set(hits[i].slice(0, 10).map((h) => h.id));
      found10 += exact.filter((h) => got.has(h.id)).length;
      total10 += exact.length;
    }

    // 5. Optional: the text tower in the loop, as a user's query runs.
    let text: Pick<BenchSearchResult, 'textP50Ms' | 'totalP50Ms' | 'totalP95Ms'> = {};
    if (opts.textModel) {
      const model = opts.textModel;
      for (let i = 0; i < WARMUP; i++) await model.embedTexts([CAPTIONS[i % CAPTIONS.length]]);
      const textTimes: number[] = [];
      const totalTimes: number[] = [];
      for (let i = 0; i < queries; i++) {
        const t = performance.now();
        const [q] = await model.embedTexts([`${CAPTIONS[i % CAPTIONS.length]} ${i}`]);
        const tText = performance.now();
        await index.search(q, k);
        textTimes.push(tText - t);
        totalTimes.push(performance.now() - t);
      }
      textTimes.sort((a, b) => a - b);
      totalTimes.sort((a, b) => a - b);
      text = { textP50Ms: percentile(textTimes, 0.5), totalP50Ms: percentile(totalTimes, 0.5), totalP95Ms: percentile(totalTimes, 0.95) };
    }

    times.sort((a, b) => a - b);
    return {
      vectors: n,
      dim,
      queries,
      k,
      quantized: index.quantized,
      p50Ms: percentile(times, 0.5),
      p95Ms: percentile(times, 0.95),
      minMs: times[0],
      loadMs,
      fillMs,
      memoryMB: index.memoryBytes() / MB,
      rssDeltaMB: (after.rss - before.rss) / MB,
      externalDeltaMB: (after.external + after.arrayBuffers - before.external - before.arrayBuffers) / MB,
      dbMB: fileBytes(store.file) / MB,
      recallAt10: total10 ? found10 / total10 : 1,
      ...text,
    };
  } finally {
    await index?.dispose();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Database size on disk, with its write-ahead log (recent batches live there until a checkpoint). */
function fileBytes(db: string): number {
  return [db, `${db}-wal`].reduce((sum, f) => sum + (existsSync(f) ? statSync(f).size : 0), 0);
}
