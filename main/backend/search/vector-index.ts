/**
 * The in-memory search index of one model's photo embeddings: cosine top-K, exact below QUANT_MIN_ROWS
 * rows, int8-prefiltered with an exact re-rank above (recall@10 = 1.0 measured on random unit vectors).
 *
 * Rows: the photo id of each row, and the float rows (float-rows.ts: one contiguous buffer, scored by one
 * onnxruntime MatMul and re-ranked in float64, so results equal a brute-force scan). Measurements:
 * docs/BENCHMARKS.md "Search at scale".
 *
 * From QUANT_MIN_ROWS rows up (1M × 512 floats = 2 GB read per query), the rows are also kept as int8
 * (one scale per row, int8-rows.ts), scanned by SIMD workers in place (4× fewer bytes); the best RERANK
 * candidates are then scored exactly. Given an `exact` source (the library database), the index keeps
 * ONLY the int8 rows, at any size, and the re-rank reads its few hundred candidates from that source:
 * 1M × 512 photos then take ~0.6 GB instead of 2.5 GB, and the rows can be loaded from a sidecar file at
 * disk speed (search/sidecar.ts). Adds and removes change both copies in place.
 * Graph indexes (HNSW) were not used: native add-ons, and lower recall than a reranked scan.
 */
import { AppError } from '../errors';
import { FloatRows, type ScoringKernel } from './float-rows';
import { IdMap } from './id-map';
import { Int8Rows } from './int8-rows';
import { TopK, dotRow, type Hit } from './topk';

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
  kernel?: ScoringKernel;
  /** int8 prefilter + exact re-rank: `auto` from QUANT_MIN_ROWS rows, `on` at any size, `off` never. */
  quantize?: 'auto' | 'on' | 'off';
  /**
   * Where the exact re-rank reads candidates' float vectors (null: gone since). When given, no float rows
   * are kept in memory and the int8 prefilter is always on.
   */
  exact?: ExactRows;
}

/** Float vectors of some photos, in the order asked (null for one that is gone). */
export type ExactRows = (ids: readonly number[]) => (Float32Array | null)[];

/** Rows from which `quantize: 'auto'` scores int8 rows first. */
export const QUANT_MIN_ROWS = 50_000;
/** int8 candidates re-scored exactly: far more than needed (quantization error ≪ the score gap to rank 256). */
const RERANK = 256;

const MIN_CAPACITY = 1024;
const GROWTH = 1.5;
/** A search restarts when rows moved under it; after this many tries it scans synchronously instead. */
const MAX_RETRIES = 3;
/** Yield to the event loop this often while loading so the process stays responsive. */
const LOAD_YIELD_ROWS = 16_384;

export class VectorIndex {
  /** Float rows, null when an `exact` source holds them instead. */
  private readonly floats: FloatRows | null;
  private rowIds: Float64Array;
  private rowOf = new IdMap();
  private count = 0;
  /** Bumped by every change that moves or rewrites rows: an in-flight search then scores again. */
  private version = 0;
  private readonly quantize: 'auto' | 'on' | 'off';
  private readonly exact: ExactRows | null;
  /** The int8 rows, once the prefilter is on (always with an `exact` source). */
  private q8: Int8Rows | null = null;

  constructor(
    readonly dim: number,
    options: VectorIndexOptions = {},
  ) {
    if (!Number.isInteger(dim) || dim <= 0) throw new AppError('invalid_input', `Vector index dimension must be a positive integer, got ${dim}.`);
    this.exact = options.exact ?? null;
    this.quantize = this.exact ? 'on' : (options.quantize ?? 'auto');
    this.floats = this.exact ? null : new FloatRows(dim, options.kernel);
    this.rowIds = new Float64Array(0);
    if (this.quantize === 'on') this.q8 = new Int8Rows(dim);
  }

  get size(): number {
    return this.count;
  }

  /** Changes so far (adds, replacements, removals): a sidecar written from the rows checks it did not move. */
  get changes(): number {
    return this.version;
  }

  has(id: number): boolean {
    return this.rowOf.has(id);
  }

  /** A copy of a photo's stored float vector (from memory or the exact source), or null. */
  vectorOf(id: number): Float32Array | null {
    const r = this.rowOf.get(id);
    if (r < 0) return null;
    return this.floats ? this.floats.copy(r) : this.exact!([id])[0];
  }

  /** Bytes held: float rows (with spare capacity), int8 rows and scales, row ids, the id → row map (estimated). */
  memoryBytes(): number {
    return (this.floats?.bytes() ?? 0) + this.rowIds.byteLength + this.rowOf.bytes() + (this.q8?.bytes() ?? 0);
  }

  /** Whether searches score int8 rows first. */
  get quantized(): boolean {
    return this.q8 !== null;
  }

  /** Stop the scan workers; the index stays usable (scans then run on the calling thread). */
  async dispose(): Promise<void> {
    await this.q8?.dispose();
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
    if (!flat) for (let i = 0; i < ids.length; i++) checkEmbedding(ids[i], (vectors as readonly Float32Array[])[i], this.dim);
    this.reserve(this.count + ids.length);
    for (let i = 0; i < ids.length; i++) {
      const v = flat ? vectors.subarray(i * this.dim, (i + 1) * this.dim) : (vectors as readonly Float32Array[])[i];
      this.put(ids[i], v);
    }
    this.version++;
    this.maybeQuantize();
  }

  /** Forget photos; unknown ids are ignored. Returns how many were removed. */
  remove(ids: Iterable<number>): number {
    let removed = 0;
    for (const id of ids) {
      const r = this.rowOf.get(id);
      if (r < 0) continue;
      // Swap-remove: the last row fills the hole, so the live rows stay one contiguous prefix.
      const last = this.count - 1;
      if (r !== last) {
        this.floats?.move(last, r);
        this.q8?.move(last, r);
        const movedId = this.rowIds[last];
        this.rowIds[r] = movedId;
        this.rowOf.set(movedId, r);
      }
      this.rowOf.delete(id);
      this.count = last;
      removed++;
    }
    if (removed) this.version++;
    return removed;
  }

  /**
   * Append rows streamed from the store. The buffers grow in place by 1.5× (or are sized once from
   * `expectedCount`), so memory peaks near the final size rather than holding rows twice.
   */
  async load(rows: Iterable<IndexRow> | AsyncIterable<IndexRow>, options: { expectedCount?: number; signal?: AbortSignal } = {}): Promise<{ count: number; ms: number }> {
    const t0 = performance.now();
    if (options.expectedCount) this.reserve(this.count + options.expectedCount);
    let n = 0;
    for await (const row of rows) {
      checkEmbedding(row.id, row.vector, this.dim);
      this.reserve(this.count + 1);
      this.put(row.id, row.vector);
      if (++n % LOAD_YIELD_ROWS === 0) {
        options.signal?.throwIfAborted();
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    this.version++;
    this.maybeQuantize();
    return { count: n, ms: performance.now() - t0 };
  }

  /**
   * The int8 rows as they are (ids, scales, padded rows): views, no copies. Only for an index with an
   * `exact` source, whose int8 rows are all it holds (what a sidecar file stores).
   */
  quantizedRows(): { ids: Float64Array; scales: Float32Array; rows: Uint8Array; stride: number } {
    if (!this.q8 || !this.exact) throw new Error('quantizedRows: only an index with an exact source keeps int8 rows alone');
    const { rows, scales } = this.q8.views(this.count);
    return { ids: this.rowIds.subarray(0, this.count), scales, rows, stride: this.q8.stride };
  }

  /**
   * Fill an empty index with `count` int8 rows read straight into its buffers (a sidecar file): `fill`
   * writes the ids, scales and padded rows into the views it is given. It may hand back the rows still
   * arriving (`{ rows }`, other threads writing them): the id map is built meanwhile, and the index is
   * usable once both are done. Duplicate ids are refused.
   */
  async loadQuantizedRows(
    count: number,
    fill: (views: { ids: Float64Array; scales: Float32Array; rows: Uint8Array; stride: number }) => void | Promise<void | { rows: Promise<void> }>,
  ): Promise<void> {
    if (!this.q8 || !this.exact || this.count !== 0) throw new Error('loadQuantizedRows: only into an empty index with an exact source');
    this.reserve(count, true);
    const { rows, scales } = this.q8.views(count);
    const ids = this.rowIds.subarray(0, count);
    const pending = (await fill({ ids, scales, rows, stride: this.q8.stride }))?.rows;
    const rowOf = new IdMap(count);
    try {
      for (let r = 0; r < count; r++) {
        if (rowOf.has(ids[r])) throw new Error(`photo ${ids[r]} appears twice`);
        rowOf.set(ids[r], r);
      }
    } catch (e) {
      await pending?.catch(() => undefined); // nothing may still be writing rows when this returns
      throw e;
    }
    await pending;
    this.rowOf = rowOf;
    this.count = count;
    this.version++;
  }

  /** The k photos most similar to `query` (dot product = cosine for unit vectors), best first. */
  async search(query: Float32Array, k: number): Promise<Hit[]> {
    checkQueryVector(query, this.dim);
    if (k <= 0 || this.count === 0) return [];
    if (this.q8) return this.searchInt8(query, k);
    const floats = this.floats!; // without int8 rows, the float rows are kept
    if (!floats.useOnnx(this.count)) return this.searchJs(query, k);
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const version = this.version;
      const n = this.count;
      const scores = await floats.scoreOnnx(query, n);
      if (version === this.version) return floats.rerank(scores, n, query, Math.min(k, n), this.rowIds);
    }
    // The indexer kept writing during every try: a synchronous scan cannot be interleaved.
    return this.searchJs(query, k);
  }

  /**
   * The k photos among `ids` most similar to `query`, best first (a filtered search: only the rows the
   * filter admits are scored). Ids the index does not hold are ignored. Int8 candidates, then the exact
   * re-rank, as `search` does.
   */
  async searchAmong(query: Float32Array, ids: ArrayLike<number>, k: number): Promise<Hit[]> {
    checkQueryVector(query, this.dim);
    if (k <= 0 || ids.length === 0 || this.count === 0) return [];
    const rowsOf = () => {
      const rows = new Int32Array(ids.length);
      let n = 0;
      for (let i = 0; i < ids.length; i++) {
        const r = this.rowOf.get(ids[i]);
        if (r >= 0) rows[n++] = r;
      }
      return rows.subarray(0, n);
    };
    if (!this.q8) {
      const top = new TopK(k);
      for (const r of rowsOf()) top.push(this.floats!.dot(r, query), this.rowIds[r]);
      return top.result();
    }
    const q8 = this.q8;
    const want = Math.max(RERANK, 8 * k);
    const candidates = await q8.exclusive(() => {
      const rows = rowsOf();
      const best = rows.length <= want ? rows : q8.scoreRowsHere(query, rows, want);
      return Array.from(best, (r) => this.rowIds[r]);
    });
    return this.rerankIds(candidates, query, k);
  }

  /** Exact top-k with the plain JS loop over the float rows (the reference the tests compare against). */
  searchJs(query: Float32Array, k: number): Hit[] {
    checkQueryVector(query, this.dim);
    if (!this.floats) throw new Error('searchJs: this index keeps no float rows (they are in its exact source)');
    return this.floats.scanJs(query, this.count, k, this.rowIds);
  }

  // ---- internals ---------------------------------------------------------------------------------

  /** int8 candidates (all rows when there are few), then each scored exactly in float64. */
  private async searchInt8(query: Float32Array, k: number): Promise<Hit[]> {
    const q8 = this.q8 as Int8Rows;
    const want = Math.max(RERANK, 8 * k);
    let ids: number[] | null = null;
    for (let attempt = 0; attempt < MAX_RETRIES && !ids; attempt++) {
      const version = this.version;
      const n = this.count;
      if (n <= want) return this.rerankIds(Array.from(this.rowIds.subarray(0, n)), query, k);
      const rows = await q8.scan(query, n, want);
      if (version === this.version) ids = Array.from(rows, (r) => this.rowIds[r]);
    }
    // The indexer kept writing during every try: this scan runs synchronously, rows cannot move under it.
    ids ??= Array.from(q8.scanHere(query, this.count, want), (r) => this.rowIds[r]);
    return this.rerankIds(ids, query, k);
  }

  private rerankIds(ids: number[], query: Float32Array, k: number): Hit[] {
    const top = new TopK(Math.min(k, ids.length));
    if (!this.floats) {
      const vectors = this.exact!(ids);
      for (let i = 0; i < ids.length; i++) {
        const v = vectors[i];
        if (v && v.length === this.dim && this.rowOf.has(ids[i])) top.push(dotRow(v, 0, this.dim, query), ids[i]);
      }
    } else {
      for (const id of ids) {
        const r = this.rowOf.get(id);
        if (r >= 0) top.push(this.floats.dot(r, query), id);
      }
    }
    return top.result();
  }

  /** Without an exact source: int8 rows join the float rows once the index reaches QUANT_MIN_ROWS. */
  private maybeQuantize(): void {
    if (this.q8 || !this.floats || this.quantize === 'off' || this.count < QUANT_MIN_ROWS) return;
    const q8 = new Int8Rows(this.dim);
    q8.reserve(this.rowIds.length, true);
    for (let r = 0; r < this.count; r++) q8.set(r, this.floats.view(r));
    this.q8 = q8;
  }

  private put(id: number, v: Float32Array): void {
    let r = this.rowOf.get(id);
    if (r < 0) {
      r = this.count++;
      this.rowOf.set(id, r);
      this.rowIds[r] = id;
    }
    this.floats?.set(r, v);
    this.q8?.set(r, v);
  }

  private reserve(rows: number, exact = false): void {
    const cap = this.rowIds.length;
    if (rows <= cap) return;
    const next = exact ? rows : Math.max(rows, Math.ceil(cap * GROWTH), MIN_CAPACITY);
    this.floats?.reserve(next, this.count);
    const rowIds = new Float64Array(next);
    rowIds.set(this.rowIds.subarray(0, this.count));
    this.rowIds = rowIds;
    this.q8?.reserve(next, true);
  }
}

/** An embedding the index can hold (its model's dimension), else one line saying the model changed. */
function checkEmbedding(id: number, v: Float32Array, dim: number): void {
  if (!(v instanceof Float32Array) || v.length !== dim) {
    throw new AppError(
      'model_error',
      `Embedding of photo ${id} has ${v?.length ?? 0} values but the index holds ${dim}-d embeddings: the model changed without re-embedding. Re-index the library with the active model.`,
    );
  }
}

/** A query from the index's model, else one line saying so. */
function checkQueryVector(q: Float32Array, dim: number): void {
  if (!(q instanceof Float32Array) || q.length !== dim) {
    throw new AppError('model_error', `Search query has ${q?.length ?? 0} values but the index holds ${dim}-d embeddings: the query came from a different model than the library.`);
  }
}
