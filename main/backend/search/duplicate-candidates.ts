/**
 * Candidate pairs for the duplicate finder without an O(n²) pass: locality-sensitive hashing on sign bits.
 * Two rows whose sign bits agree with probability p share a key of BITS sampled bits in one table with
 * probability p^BITS; L tables are chosen so that a pair exactly at the threshold shares a key in at least
 * one with probability `recall` (closer pairs more surely). Every candidate is checked exactly by the caller,
 * so nothing below the threshold is ever grouped.
 *
 * Embeddings get their sign bits from random hyperplanes (SimHash: two unit vectors at angle θ agree on a
 * random hyperplane's side with probability 1 − θ/π), computed by one onnxruntime MatMul per chunk of rows
 * (a JS loop is ~30× slower). Pixel hashes are sign bits already (photos/pixel-hash.ts), and their similarity
 * is defined on the same scale, so the same number of tables serves both; each photo also looks its hash up
 * in its 7 other orientations.
 */
import { ort, sharedSession } from '../model/ort';
import { GraphBuilder } from '../onnx/builder';

/** Sign bits per embedding; tables draw their keys from these. */
export const PROJECTIONS = 256;
/** Bits per table key: a random pair shares a key with probability 2^-BITS. */
export const BITS = 20;
const MAX_TABLES = 128;
/** Rows projected per MatMul call. */
const CHUNK = 8192;

/** How many tables of `bits`-bit keys make a pair at cosine `threshold` share a key in one with probability `recall`. */
export function tablesFor(threshold: number, recall = 0.99, bits = BITS): number {
  const agree = 1 - Math.acos(Math.min(1, Math.max(-1, threshold))) / Math.PI;
  const perTable = agree ** bits;
  if (perTable >= 1) return 1;
  return Math.min(MAX_TABLES, Math.max(1, Math.ceil(Math.log(1 - recall) / Math.log(1 - perTable))));
}

/** rows [n, dim] × planesᵀ → [n, PROJECTIONS]: the side of each hyperplane each row is on. */
function projectionSession(dim: number): Promise<ort.InferenceSession> {
  return sharedSession(
    `duplicates-${dim}`,
    () => {
      const g = new GraphBuilder('projections');
      g.input('rows', 'float32', ['n', dim]);
      g.input('planes', 'float32', [PROJECTIONS, dim]);
      g.op('Gemm', ['rows', 'planes'], { transB: 1 }, ['projections']);
      g.output('projections', 'float32', ['n', PROJECTIONS]);
      return g.toBytes();
    },
    'duplicate finder',
  );
}

/** PROJECTIONS sign bits of each of `rows` (row indices into `vectors`), PROJECTIONS / 32 words per row. */
export async function embeddingSigns(vectors: Float32Array, dim: number, rows: readonly number[], rng: () => number): Promise<Uint32Array> {
  const m = rows.length;
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const planes = new Float32Array(PROJECTIONS * dim);
  for (let i = 0; i < planes.length; i++) planes[i] = gauss();
  const words = PROJECTIONS / 32;
  const signs = new Uint32Array(m * words);
  const session = await projectionSession(dim);
  const planesT = new ort.Tensor('float32', planes, [PROJECTIONS, dim]);
  const chunk = new Float32Array(Math.min(m, CHUNK) * dim);
  for (let start = 0; start < m; start += CHUNK) {
    const n = Math.min(CHUNK, m - start);
    for (let k = 0; k < n; k++) chunk.set(vectors.subarray(rows[start + k]! * dim, (rows[start + k]! + 1) * dim), k * dim);
    const out = await session.run({ rows: new ort.Tensor('float32', chunk.subarray(0, n * dim), [n, dim]), planes: planesT });
    const proj = out.projections!.data as Float32Array;
    for (let k = 0; k < n; k++) {
      const base = (start + k) * words;
      for (let p = 0; p < PROJECTIONS; p++) if (proj[k * PROJECTIONS + p]! >= 0) signs[base + (p >>> 5)]! |= 1 << (p & 31);
    }
  }
  return signs;
}

export interface SignRows {
  /** Rows. */
  m: number;
  /** 32-bit words per pattern. */
  words: number;
  /** Each row's own bits, m × words. */
  signs: Uint32Array;
  /** Further patterns each row is looked up with (m × per × words), e.g. its other orientations; then only those lookups are made. */
  extra?: { per: number; data: Uint32Array };
  /** Bits keys are drawn from: [from, to). */
  from: number;
  to: number;
}

/** Rows per table key are sorted as key · ROW_BITS + row in one Float64Array (exact below 2^53; no per-key arrays). */
const ROW_BITS = 2 ** 27;

/**
 * Call `visit(a, b)` (a < b) for each pair of rows that share a key of `bits` sampled bits in one of `tables`
 * tables (the caller skips the pairs it has already checked). With `extra`, the pairs are those where one
 * row's extra pattern shares the other row's key.
 */
export function forEachCandidate(rows: SignRows, keys: { tables: number; bits: number }, rng: () => number, visit: (a: number, b: number) => void): void {
  const { m, words, signs, extra, from, to } = rows;
  if (m >= ROW_BITS) throw new Error(`forEachCandidate: at most ${ROW_BITS - 1} rows`);
  const keyOf = (data: Uint32Array, base: number, bits: readonly number[]) => {
    let key = 0;
    for (let b = 0; b < bits.length; b++) {
      const p = bits[b]!;
      key = key * 2 + ((data[base + (p >>> 5)]! >>> (p & 31)) & 1);
    }
    return key;
  };
  if (keys.bits > 26) throw new Error('forEachCandidate: keys of at most 26 bits');
  const sorted = new Float64Array(m);
  /** The first position in `sorted` whose key is at least `key`. */
  const lowerBound = (key: number) => {
    let lo = 0;
    let hi = m;
    const at = key * ROW_BITS;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const keyAt = (i: number) => Math.floor(sorted[i]! / ROW_BITS);
  const rowAt = (i: number) => sorted[i]! % ROW_BITS;
  for (let t = 0; t < keys.tables; t++) {
    const bits = Array.from({ length: keys.bits }, () => from + Math.floor(rng() * (to - from)));
    for (let k = 0; k < m; k++) sorted[k] = keyOf(signs, k * words, bits) * ROW_BITS + k;
    sorted.sort();
    if (!extra) {
      // Rows with the same key are neighbours: every pair within a run (rows ascending, so a < b).
      for (let start = 0; start < m; ) {
        const key = keyAt(start);
        let end = start + 1;
        while (end < m && keyAt(end) === key) end++;
        for (let x = start + 1; x < end; x++) for (let y = start; y < x; y++) visit(rowAt(y), rowAt(x));
        start = end;
      }
      continue;
    }
    for (let k = 0; k < m; k++) {
      for (let e = 0; e < extra.per; e++) {
        const key = keyOf(extra.data, (k * extra.per + e) * words, bits);
        for (let i = lowerBound(key); i < m && keyAt(i) === key; i++) {
          const other = rowAt(i);
          if (other !== k) visit(Math.min(k, other), Math.max(k, other));
        }
      }
    }
  }
}
