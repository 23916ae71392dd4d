/**
 * The in-memory search index of one model's photo embeddings: cosine top-K, exact below QUANT_MIN_ROWS
 * rows, int8-prefiltered with an exact re-rank above (recall@10 = 1.0 measured on random unit vectors).
 *
 * Layout: one contiguous row-major Float32Array (capacity × dim) plus the photo id of each row. Search
 * scores every row with one onnxruntime MatMul ([n, dim] × [dim, 1]) fed the live prefix of that buffer as
 * an input tensor (no copy), which runs at memory bandwidth on the CPU (~10 ms for 100k × 512 here, vs
 * ~80 ms for an unrolled JS loop), off the JS thread. The K best are then re-scored in float64 from the
 * same float32 rows, so results and tie order (higher score, then smaller id) equal a brute-force scan
 * whatever the kernel's summation order. Measurements: docs/BENCHMARKS.md "Search at scale".
 *
 * From QUANT_MIN_ROWS rows up (1M × 512 floats = 2 GB read per query, ≥ 100 ms at this machine's memory
 * bandwidth, far more when other processes compete for it), a snapshot of the rows quantized to int8 (one scale per row) is scored first by a worker
 * holding an onnxruntime MatMulInteger session with the matrix as a pre-packed constant (4× fewer bytes,
 * ~3 ms per 100k rows); the best RERANK candidates plus every row changed since the snapshot are then
 * scored exactly as above. The snapshot is rebuilt in the background once enough rows changed.
 * Graph indexes (HNSW) were not used: native add-ons, and lower recall than a reranked scan.
 */
import { AppError } from '../errors';
import { createSessionFromBytes, ort } from '../model/ort';
import { GraphBuilder } from '../onnx/builder';
import { Int8Scorer } from './int8-scorer';
import { TopK, dotRow, kthLargest, type Hit } from './topk';

export type { Hit } from './topk';

/** One stored embedding, as the store streams them. */
export interface IndexRow {
  id: number;
  vector: Float32Array;
}

export interface VectorIndexOptions {
  /**
   * Scoring kernel: `onnx` (onnxruntime MatMul), `js` (plain loop; fine for small libraries), or `auto`
   * (js below ~1M multiply-adds, where the session call costs more than the scan).
   */
  kernel?: 'auto' | 'onnx' | 'js';
  /** int8 snapshot + exact re-rank: `auto` from QUANT_MIN_ROWS rows, `on` at any size, `off` never. */
  quantize?: 'auto' | 'on' | 'off';
}

/** Rows from which `quantize: 'auto'` scores an int8 snapshot first. */
export const QUANT_MIN_ROWS = 50_000;
/** int8 candidates re-scored exactly: far more than needed (quantization error ≪ the score gap to rank 256). */
const RERANK = 256;
/** Rows changed since the snapshot that trigger a rebuild (they are scored exactly meanwhile). */
const REBUILD_MIN_CHANGES = 16_384;
const REBUILD_FRACTION = 0.02;
/** Rows quantized between yields to the event loop while building a snapshot. */
const BUILD_CHUNK = 16_384;

interface Snapshot {
  n: number;
  /** Photo id of each snapshot column. */
  ids: Float64Array;
}

const MIN_CAPACITY = 1024;
const GROWTH = 1.5;
const AUTO_JS_MAX_MACS = 1 << 20;
/** A search restarts when rows moved under it; after this many tries it scans synchronously instead. */
const MAX_RETRIES = 3;
/** Yield to the event loop this often while loading so the process stays responsive. */
const LOAD_YIELD_ROWS = 16_384;

/** One scoring session per dimension, shared by every index (the graph has no weights). */
const sessions = new Map<number, Promise<ort.InferenceSession>>();

function scoringSession(dim: number): Promise<ort.InferenceSession> {
  let s = sessions.get(dim);
  if (!s) {
    const g = new GraphBuilder('scores');
    g.input('matrix', 'float32', ['n', dim]);
    g.input('query', 'float32', [dim, 1]);
    g.op('MatMul', ['matrix', 'query'], {}, ['scores']);
    g.output('scores', 'float32', ['n', 1]);
    s = createSessionFromBytes(g.toBytes(), 'search scoring');
    s.catch(() => sessions.delete(dim));
    sessions.set(dim, s);
  }
  return s;
}

export class VectorIndex {
  private data: Float32Array;
  private rowIds: Float64Array;
  private readonly rowOf = new Map<number, number>();
  private count = 0;
  /** Bumped by every change that moves or rewrites rows: an in-flight search then scores again. */
  private version = 0;
  /** Largest row norm seen, bounds the float32 kernel's rounding error (rows are unit vectors). */
  private maxNorm = 0;
  private readonly kernel: 'auto' | 'onnx' | 'js';
  private readonly quantize: 'auto' | 'on' | 'off';
  private scorer: Int8Scorer | null = null;
  private snap: Snapshot | null = null;
  /** Ids added, replaced or removed since the snapshot was taken: never trusted from it, scored exactly. */
  private dirty = new Set<number>();
  /** While a snapshot builds: changes since its start (they become `dirty` when it lands). */
  private pendingDirty: Set<number> | null = null;
  private building: Promise<void> | null = null;
  private generation = 0;

  constructor(
    readonly dim: number,
    options: VectorIndexOptions = {},
  ) {
    if (!Number.isInteger(dim) || dim <= 0) throw new AppError('invalid_input', `Vector index dimension must be a positive integer, got ${dim}.`);
    this.kernel = options.kernel ?? 'auto';
    this.quantize = options.quantize ?? 'auto';
    this.data = new Float32Array(0);
    this.rowIds = new Float64Array(0);
  }

  get size(): number {
    return this.count;
  }

  has(id: number): boolean {
    return this.rowOf.has(id);
  }

  /** A copy of a photo's stored vector, or null. */
  vectorOf(id: number): Float32Array | null {
    const r = this.rowOf.get(id);
    return r === undefined ? null : this.data.slice(r * this.dim, (r + 1) * this.dim);
  }

  /** Bytes held: the vector buffer (with its spare capacity), the row ids and the id → row map (estimated). */
  memoryBytes(): number {
    // ~40 B per Map entry in V8 (hash table slot + entry); an estimate, the buffers are exact.
    const snap = this.snap ? this.snap.n * (this.dim + 12) : 0; // int8 matrix + scales (in the worker) + ids
    return this.data.byteLength + this.rowIds.byteLength + this.rowOf.size * 40 + snap;
  }

  /** Whether searches currently score an int8 snapshot first. */
  get quantized(): boolean {
    return this.snap !== null;
  }

  /** Resolves once no snapshot build is running (tests, benchmarks). */
  async whenIdle(): Promise<void> {
    while (this.building) await this.building;
  }

  /** Stop the int8 worker, drop the snapshot; the index keeps working with the float scan. */
  async dispose(): Promise<void> {
    this.snap = null;
    this.dirty.clear();
    const s = this.scorer;
    this.scorer = null;
    await s?.dispose();
  }

  /**
   * Insert or replace photos' vectors. `vectors` is one array per id, or one flat array of ids.length × dim.
   */
  add(ids: ArrayLike<number>, vectors: readonly Float32Array[] | Float32Array): void {
    const flat = vectors instanceof Float32Array;
    if (flat) {
      if (vectors.length !== ids.length * this.dim) {
        throw new AppError('invalid_input', `Vector index add: ${ids.length} ids need ${ids.length * this.dim} values (dim ${this.dim}), got ${vectors.length}.`);
      }
    } else if (vectors.length !== ids.length) {
      throw new AppError('invalid_input', `Vector index add: ${ids.length} ids but ${vectors.length} vectors.`);
    }
    if (!flat) for (let i = 0; i < ids.length; i++) this.checkDim(ids[i], (vectors as readonly Float32Array[])[i]);
    this.reserve(this.count + ids.length);
    for (let i = 0; i < ids.length; i++) {
      const v = flat ? vectors.subarray(i * this.dim, (i + 1) * this.dim) : (vectors as readonly Float32Array[])[i];
      this.put(ids[i], v);
    }
    this.version++;
    this.maybeRebuild();
  }

  /** Forget photos; unknown ids are ignored. Returns how many were removed. */
  remove(ids: Iterable<number>): number {
    let removed = 0;
    for (const id of ids) {
      const r = this.rowOf.get(id);
      if (r === undefined) continue;
      // Swap-remove: the last row fills the hole, so the live rows stay one contiguous prefix.
      const last = this.count - 1;
      if (r !== last) {
        this.data.copyWithin(r * this.dim, last * this.dim, (last + 1) * this.dim);
        const movedId = this.rowIds[last];
        this.rowIds[r] = movedId;
        this.rowOf.set(movedId, r);
        // A snapshot being built reads rows by position: a moved row must not be trusted from it.
        this.pendingDirty?.add(movedId);
      }
      this.markChanged(id);
      this.rowOf.delete(id);
      this.count = last;
      removed++;
    }
    if (removed) this.version++;
    this.maybeRebuild();
    return removed;
  }

  clear(): void {
    this.rowOf.clear();
    this.count = 0;
    this.data = new Float32Array(0);
    this.rowIds = new Float64Array(0);
    this.maxNorm = 0;
    this.version++;
    this.generation++;
    this.snap = null;
    this.dirty.clear();
  }

  /**
   * Append rows streamed from the store. The buffer grows in place by 1.5× (or is sized once from
   * `expectedCount`), so memory peaks near the final size rather than holding rows twice.
   */
  async load(rows: Iterable<IndexRow> | AsyncIterable<IndexRow>, options: { expectedCount?: number; signal?: AbortSignal } = {}): Promise<{ count: number; ms: number }> {
    const t0 = performance.now();
    if (options.expectedCount) this.reserve(this.count + options.expectedCount);
    let n = 0;
    for await (const row of rows) {
      this.checkDim(row.id, row.vector);
      this.reserve(this.count + 1);
      this.put(row.id, row.vector);
      if (++n % LOAD_YIELD_ROWS === 0) {
        options.signal?.throwIfAborted();
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    this.version++;
    // Start-up is when the snapshot is built, so the first search is already fast.
    this.maybeRebuild();
    if (this.building) await this.building;
    return { count: n, ms: performance.now() - t0 };
  }

  /** The k photos most similar to `query` (dot product = cosine for unit vectors), best first. */
  async search(query: Float32Array, k: number): Promise<Hit[]> {
    this.checkQuery(query);
    if (k <= 0 || this.count === 0) return [];
    if (this.snap && this.scorer) {
      try {
        return await this.searchInt8(query, k);
      } catch {
        // Worker gone (killed, out of memory): the exact float scan still answers.
        this.snap = null;
      }
    }
    if (!this.useOnnx(this.count)) return this.searchJs(query, k);
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const version = this.version;
      const n = this.count;
      const scores = await this.scoreOnnx(query, n);
      if (version === this.version) return this.rerank(scores, n, query, Math.min(k, n));
    }
    // The indexer kept writing during every try: a synchronous scan cannot be interleaved.
    return this.searchJs(query, k);
  }

  /** Exact top-k with the plain JS loop (also the reference the tests compare against). */
  searchJs(query: Float32Array, k: number): Hit[] {
    this.checkQuery(query);
    const top = new TopK(Math.min(Math.max(0, k), this.count));
    for (let r = 0; r < this.count; r++) {
      const s = dotRow(this.data, r, this.dim, query);
      if (s >= top.floor) top.push(s, this.rowIds[r]);
    }
    return top.result();
  }

  // ---- internals ---------------------------------------------------------------------------------

  private async searchInt8(query: Float32Array, k: number): Promise<Hit[]> {
    const snap = this.snap as Snapshot;
    let maxAbs = 0;
    for (let j = 0; j < this.dim; j++) maxAbs = Math.max(maxAbs, Math.abs(query[j]));
    const scale = maxAbs > 0 ? 127 / maxAbs : 0;
    const q8 = new Uint8Array(this.dim);
    for (let j = 0; j < this.dim; j++) q8[j] = Math.round(query[j] * scale) + 128;
    const cols = await (this.scorer as Int8Scorer).candidates(q8, Math.max(RERANK, 8 * k));
    const top = new TopK(Math.min(k, this.count));
    const seen = new Set<number>();
    const consider = (id: number) => {
      if (seen.has(id)) return;
      seen.add(id);
      const r = this.rowOf.get(id);
      if (r !== undefined) top.push(dotRow(this.data, r, this.dim, query), id);
    };
    for (const c of cols) {
      const id = snap.ids[c];
      if (!this.dirty.has(id)) consider(id);
    }
    for (const id of this.dirty) consider(id);
    return top.result();
  }

  private markChanged(id: number): void {
    if (this.snap) this.dirty.add(id);
    this.pendingDirty?.add(id);
  }

  private wantsSnapshot(): boolean {
    if (this.quantize === 'off' || this.count === 0) return false;
    return this.quantize === 'on' || this.count >= QUANT_MIN_ROWS;
  }

  /** Build or refresh the int8 snapshot in the background when it is missing or too many rows changed. */
  private maybeRebuild(): void {
    if (this.building || !this.wantsSnapshot()) return;
    if (this.snap && this.dirty.size < Math.max(REBUILD_MIN_CHANGES, this.count * REBUILD_FRACTION)) return;
    this.building = this.buildSnapshot()
      .catch(() => {
        // No snapshot (worker could not start, not enough memory): searches use the exact float scan.
        this.pendingDirty = null;
      })
      .finally(() => {
        this.building = null;
        this.pendingDirty = null;
      });
  }

  private async buildSnapshot(): Promise<void> {
    const generation = this.generation;
    const dim = this.dim;
    const n = this.count;
    this.pendingDirty = new Set();
    const ids = new Float64Array(n);
    const inv = new Float32Array(n);
    const matrixT = new Int8Array(dim * n);
    for (let start = 0; start < n; start += BUILD_CHUNK) {
      if (this.generation !== generation) return;
      // Rows are read where they are now; any row moved or changed since the start is in pendingDirty.
      const data = this.data;
      const end = Math.min(n, start + BUILD_CHUNK, this.count);
      for (let r = start; r < end; r++) {
        const o = r * dim;
        let maxAbs = 0;
        for (let j = 0; j < dim; j++) maxAbs = Math.max(maxAbs, Math.abs(data[o + j]));
        const scale = maxAbs > 0 ? 127 / maxAbs : 0;
        for (let j = 0; j < dim; j++) matrixT[j * n + r] = Math.round(data[o + j] * scale);
        inv[r] = scale > 0 ? 1 / scale : 0;
        ids[r] = this.rowIds[r];
      }
      // Rows past the current end were removed meanwhile: their (stale) ids are all in pendingDirty.
      for (let r = end; r < Math.min(n, start + BUILD_CHUNK); r++) ids[r] = this.rowIds[r];
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.scorer ??= new Int8Scorer();
    // inv = 1 / row scale: int8 score × inv = approximate float score (up to the query's scale).
    await this.scorer.build(matrixT, inv, dim, n);
    if (this.generation !== generation) return;
    this.snap = { n, ids };
    this.dirty = this.pendingDirty ?? new Set();
    this.pendingDirty = null;
  }

  private useOnnx(n: number): boolean {
    if (this.kernel === 'onnx') return true;
    if (this.kernel === 'js') return false;
    return n * this.dim > AUTO_JS_MAX_MACS;
  }

  private async scoreOnnx(query: Float32Array, n: number): Promise<Float32Array> {
    const session = await scoringSession(this.dim);
    // subarray views the live prefix: onnxruntime reads the buffer in place.
    const matrix = new ort.Tensor('float32', this.data.subarray(0, n * this.dim), [n, this.dim]);
    const q = new ort.Tensor('float32', query, [this.dim, 1]);
    const out = await session.run({ matrix, query: q });
    return out.scores.data as Float32Array;
  }

  /**
   * Keep every row whose kernel score reaches the k-th best minus the kernel's rounding error, then rank
   * those by the float64 score: the same hits, scores and tie order as a brute-force scan.
   */
  private rerank(scores: Float32Array, n: number, query: Float32Array, k: number): Hit[] {
    let qNorm = 0;
    for (let j = 0; j < this.dim; j++) qNorm += query[j] * query[j];
    const eps = this.dim * 2.4e-7 * Math.sqrt(qNorm) * Math.max(1, this.maxNorm) + 1e-12;
    const cut = kthLargest(scores, n, k) - eps;
    const top = new TopK(k);
    for (let r = 0; r < n; r++) {
      if (scores[r] >= cut) top.push(dotRow(this.data, r, this.dim, query), this.rowIds[r]);
    }
    return top.result();
  }

  private put(id: number, v: Float32Array): void {
    this.markChanged(id);
    let norm = 0;
    for (let j = 0; j < this.dim; j++) norm += v[j] * v[j];
    norm = Math.sqrt(norm);
    if (norm > this.maxNorm) this.maxNorm = norm;
    let r = this.rowOf.get(id);
    if (r === undefined) {
      r = this.count++;
      this.rowOf.set(id, r);
      this.rowIds[r] = id;
    }
    this.data.set(v, r * this.dim);
  }

  private reserve(rows: number): void {
    const cap = this.rowIds.length;
    if (rows <= cap) return;
    const next = Math.max(rows, Math.ceil(cap * GROWTH), MIN_CAPACITY);
    const data = new Float32Array(next * this.dim);
    data.set(this.data.subarray(0, this.count * this.dim));
    const rowIds = new Float64Array(next);
    rowIds.set(this.rowIds.subarray(0, this.count));
    this.data = data;
    this.rowIds = rowIds;
  }

  private checkDim(id: number, v: Float32Array): void {
    if (!(v instanceof Float32Array) || v.length !== this.dim) {
      throw new AppError(
        'model_error',
        `Embedding of photo ${id} has ${v?.length ?? 0} values but the index holds ${this.dim}-d embeddings: the model changed without re-embedding. Re-index the library with the active model.`,
      );
    }
  }

  private checkQuery(q: Float32Array): void {
    if (!(q instanceof Float32Array) || q.length !== this.dim) {
      throw new AppError('model_error', `Search query has ${q?.length ?? 0} values but the index holds ${this.dim}-d embeddings: the query came from a different model than the library.`);
    }
  }
}
