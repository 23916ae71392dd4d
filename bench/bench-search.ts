/**
 * Search latency at scale: N seeded random unit vectors written to a scratch library database (the real
 * Store, batched transactions), loaded the way the service loads them (LiveIndex): a first start that
 * builds the index from SQLite and writes its sidecar, then a start from the sidecar in a fresh process,
 * which is the start-up a user sees (`loadMs`, its CPU time, the process RSS growth across it). Then timed
 * queries on the index loaded the same way here.
 * `photo-search bench search --vectors N --dim D` prints the result; docs/BENCHMARKS.md records runs.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EmbeddingModel } from '../main/backend/model/types';
import { Store, type BatchItem } from '../main/backend/store';
import { startupInFreshProcess } from './bench-startup';
import { LiveIndex } from '../main/backend/search/live-index';
import { sidecarFile } from '../main/backend/search/sidecar';
import { TopK, dotRow } from '../main/backend/search/topk';
import type { VectorIndex } from '../main/backend/search/vector-index';
import { seededRandom } from '../shared/random';
import { dataPaths } from '../main/backend/paths';

export interface BenchSearchOptions {
  vectors: number;
  dim: number;
  /** Timed queries (after warm-up); at least 50 are run. */
  queries?: number;
  seed: number;
  k?: number;
  /** When given, each timed query also embeds a caption with this model's text tower (end-to-end latency). */
  textModel?: EmbeddingModel;
  /** Where the scratch database goes (default: a temp folder, removed afterwards). */
  tmpDir?: string;
  onProgress?: (message: string) => void;
}

export interface BenchSearchResult {
  vectors: number;
  dim: number;
  queries: number;
  k: number;
  /** Index search alone (int8 scan + top-K + exact re-rank of the candidates read from SQLite). */
  p50Ms: number;
  p95Ms: number;
  /** Fastest query: the kernel's speed when other processes share the cores (p50 includes their noise). */
  minMs: number;
  /** Start-up in a fresh process: the index ready to search, read from its sidecar (the app's start from the second one on). */
  loadMs: number;
  loadCpuMs: number;
  /** Where that load read the rows from: 'sidecar' (else the sidecar was refused, which is a bug here). */
  loadFrom: string;
  /** The first start (no sidecar yet): the index built from SQLite, and then writing its sidecar. */
  rebuildMs: number;
  sidecarWriteMs: number;
  /** The store fill time (not part of any start-up). */
  fillMs: number;
  /** Index buffers; the fresh process's RSS growth across the start-up load, and its RSS after it. */
  memoryMB: number;
  rssDeltaMB: number;
  rssMB: number;
  dbMB: number;
  sidecarMB: number;
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
  const paths = dataPaths(dir);
  const store = new Store(paths.db);
  const sidecarDir = paths.searchIndex;
  const liveIndex = () => new LiveIndex({ store, embedDim: async () => dim, sidecarDir });
  let live: LiveIndex | null = null;
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
    store.disk.checkpoint(); // so the file size below is the whole database

    // 2. First start: no sidecar, the index is built from SQLite, then its sidecar is written.
    const first = liveIndex();
    await first.get(modelId);
    const rebuildMs = first.lastLoad?.ms ?? NaN;
    const tw = performance.now();
    await first.flush();
    const sidecarWriteMs = performance.now() - tw;
    await first.close();
    log(`built from SQLite in ${rebuildMs.toFixed(0)} ms, sidecar written in ${sidecarWriteMs.toFixed(0)} ms`);

    // 3. Start-up as a user sees it from then on: the index read from its sidecar, in a fresh process.
    const startup = await startupInFreshProcess(store.file, sidecarDir, modelId, dim);
    log(`started from the ${startup.from} in ${startup.ms.toFixed(0)} ms (${startup.cpuMs.toFixed(0)} CPU ms), RSS +${startup.rssDeltaMB.toFixed(0)} MB`);
    live = liveIndex();
    const index: VectorIndex = await live.get(modelId);
    log(`loaded ${index.size} vectors from the ${live.lastLoad?.from}`);

    // 4. Timed queries: fresh random unit vectors (not stored rows, so no trivial self-match).
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

    // 5. Recall against the exact float64 scan of every row in SQLite (a sample keeps big runs short).
    const checked = Math.min(queries, n > 200_000 ? 10 : queries);
    const exact = Array.from({ length: checked }, () => new TopK(Math.min(10, n)));
    for (const row of store.iterateEmbeddings(modelId)) {
      for (let i = 0; i < checked; i++) exact[i].push(dotRow(row.vector, 0, dim, qs[WARMUP + i]), row.id);
    }
    let found10 = 0;
    let total10 = 0;
    for (let i = 0; i < checked; i++) {
      const want = exact[i].result();
      const got = new Set(hits[i].slice(0, 10).map((h) => h.id));
      found10 += want.filter((h) => got.has(h.id)).length;
      total10 += want.length;
    }

    // 6. Optional: the text tower in the loop, as a user's query runs.
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
    const dbFile = store.disk.fileBytes(); // the database and its write-ahead log
    return {
      vectors: n,
      dim,
      queries,
      k,
      p50Ms: percentile(times, 0.5),
      p95Ms: percentile(times, 0.95),
      minMs: times[0],
      loadMs: startup.ms,
      loadCpuMs: startup.cpuMs,
      loadFrom: startup.from,
      rebuildMs,
      sidecarWriteMs,
      fillMs,
      memoryMB: index.memoryBytes() / MB,
      rssDeltaMB: startup.rssDeltaMB,
      rssMB: startup.rssMB,
      dbMB: (dbFile.db + dbFile.wal) / MB,
      sidecarMB: statSync(sidecarFile(sidecarDir, modelId)).size / MB,
      recallAt10: total10 ? found10 / total10 : 1,
      ...text,
    };
  } finally {
    await live?.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
