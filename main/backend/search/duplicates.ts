/**
 * Near-duplicate photos: groups of photos whose image embeddings are within a cosine threshold (bursts,
 * resized copies, edits), after the exact copies (same content hash) are grouped first.
 *
 * No O(n²) pass: candidate pairs come from locality-sensitive hashing with random hyperplanes (SimHash:
 * two unit vectors at angle θ agree on a random hyperplane's side with probability 1 − θ/π). Each photo
 * gets PROJECTIONS sign bits once; each of L tables keys the photos by BITS of them, and only photos that
 * share a key in some table are compared exactly. L is chosen from the threshold so that a pair exactly at
 * the threshold is found with probability ≥ 0.99 (closer pairs more surely); every reported pair is
 * checked with the exact cosine, so nothing below the threshold is ever grouped. Groups are the connected
 * components of those pairs (a burst chains: a≈b, b≈c puts a, b and c together). The projections are one
 * onnxruntime MatMul per chunk of rows (a JS loop is ~30× slower); measurements: docs/BENCHMARKS.md.
 */
import { seededRandom } from '../../../shared/random';
import { ort, sharedSession } from '../model/ort';
import { GraphBuilder } from '../onnx/builder';

export interface DuplicateInput {
  /** Photo id of each row. */
  ids: ArrayLike<number>;
  /** ids.length × dim, row-major, each row L2-normalized. */
  vectors: Float32Array;
  dim: number;
  /** Content hash of each row (same bytes, same hash). */
  hashes: readonly string[];
}

export interface DuplicateGroup {
  kind: 'exact' | 'near';
  /** Photo ids, the group's first photo (lowest id) first. */
  ids: number[];
  /** The lowest cosine of the pairs that joined the group (1 for exact copies). */
  minScore: number;
}

export interface DuplicateOptions {
  /** Cosine similarity from which two photos are near-duplicates (0.5–1). */
  threshold: number;
  seed?: number;
  /** Probability of finding a pair at exactly the threshold (closer pairs are found more surely). */
  recall?: number;
}

/** Sign bits per photo; tables draw their keys from these. */
const PROJECTIONS = 256;
/** Bits per table key: a random pair shares a key with probability 2^-BITS. */
const BITS = 20;
const MAX_TABLES = 128;
/** Rows projected per MatMul call. */
const CHUNK = 8192;

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

/** How many tables make a pair at cosine `threshold` share a key in at least one with probability `recall`. */
export function tablesFor(threshold: number, recall = 0.99): number {
  const agree = 1 - Math.acos(Math.min(1, Math.max(-1, threshold))) / Math.PI;
  const perTable = agree ** BITS;
  if (perTable >= 1) return 1;
  return Math.min(MAX_TABLES, Math.max(1, Math.ceil(Math.log(1 - recall) / Math.log(1 - perTable))));
}

export async function findDuplicates(input: DuplicateInput, opts: DuplicateOptions): Promise<DuplicateGroup[]> {
  const { ids, vectors, dim, hashes } = input;
  const n = ids.length;
  if (vectors.length !== n * dim || hashes.length !== n) throw new Error(`findDuplicates: ${n} ids, ${hashes.length} hashes and ${vectors.length / dim} vectors differ.`);
  if (!(opts.threshold >= 0.5 && opts.threshold <= 1)) throw new Error(`The duplicate threshold must be between 0.5 and 1 (got ${opts.threshold}).`);

  // 1. Exact copies: same content hash. One representative (the lowest id) goes on to the near pass.
  const byHash = new Map<string, number[]>();
  for (let r = 0; r < n; r++) {
    const list = byHash.get(hashes[r]!);
    if (list) list.push(r);
    else byHash.set(hashes[r]!, [r]);
  }
  const groups: DuplicateGroup[] = [];
  const reps: number[] = [];
  for (const rows of byHash.values()) {
    rows.sort((a, b) => ids[a]! - ids[b]!);
    reps.push(rows[0]!);
    if (rows.length > 1) groups.push({ kind: 'exact', ids: rows.map((r) => ids[r]!), minScore: 1 });
  }

  // 2. Near copies among the representatives.
  const m = reps.length;
  const rng = seededRandom(opts.seed ?? 1);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const planes = new Float32Array(PROJECTIONS * dim);
  for (let i = 0; i < planes.length; i++) planes[i] = gauss();
  const words = PROJECTIONS / 32;
  const signs = new Uint32Array(m * words);
  const session = await projectionSession(dim);
  const planesT = new ort.Tensor('float32', planes, [PROJECTIONS, dim]);
  const chunk = new Float32Array(Math.min(m, CHUNK) * dim);
  for (let start = 0; start < m; start += CHUNK) {
    const rows = Math.min(CHUNK, m - start);
    for (let k = 0; k < rows; k++) chunk.set(vectors.subarray(reps[start + k]! * dim, (reps[start + k]! + 1) * dim), k * dim);
    const out = await session.run({ rows: new ort.Tensor('float32', chunk.subarray(0, rows * dim), [rows, dim]), planes: planesT });
    const proj = out.projections!.data as Float32Array;
    for (let k = 0; k < rows; k++) {
      const base = (start + k) * words;
      for (let p = 0; p < PROJECTIONS; p++) if (proj[k * PROJECTIONS + p]! >= 0) signs[base + (p >>> 5)]! |= 1 << (p & 31);
    }
  }
  const tables = tablesFor(opts.threshold, opts.recall);
  const picks = Array.from({ length: tables }, () => Array.from({ length: BITS }, () => Math.floor(rng() * PROJECTIONS)));

  const parent = Int32Array.from({ length: m }, (_, i) => i);
  const weakest = new Float64Array(m).fill(1);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  const checked = new Set<number>();
  const cosine = (a: number, b: number) => {
    const oa = reps[a]! * dim;
    const ob = reps[b]! * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) s += vectors[oa + j]! * vectors[ob + j]!;
    return s;
  };
  const buckets = new Map<number, number[]>();
  for (const bits of picks) {
    buckets.clear();
    for (let k = 0; k < m; k++) {
      let key = 0;
      for (let b = 0; b < BITS; b++) {
        const p = bits[b]!;
        key = (key << 1) | ((signs[k * words + (p >>> 5)]! >>> (p & 31)) & 1);
      }
      const list = buckets.get(key);
      if (list) list.push(k);
      else buckets.set(key, [k]);
    }
    for (const list of buckets.values()) {
      for (let x = 1; x < list.length; x++) {
        for (let y = 0; y < x; y++) {
          const a = list[y]!;
          const b = list[x]!;
          const pair = a * m + b; // a < b: rows are pushed in order
          if (checked.has(pair)) continue;
          checked.add(pair);
          const s = cosine(a, b);
          if (s < opts.threshold) continue;
          const ra = find(a);
          const rb = find(b);
          const w = Math.min(weakest[ra]!, weakest[rb]!, s);
          if (ra !== rb) parent[ra] = rb;
          weakest[rb] = w;
        }
      }
    }
  }
  const components = new Map<number, number[]>();
  for (let k = 0; k < m; k++) {
    const root = find(k);
    const list = components.get(root);
    if (list) list.push(k);
    else components.set(root, [k]);
  }
  for (const [root, members] of components) {
    if (members.length < 2) continue;
    groups.push({ kind: 'near', ids: members.map((k) => ids[reps[k]!]!).sort((a, b) => a - b), minScore: weakest[root]! });
  }
  // Exact copies first, then near ones; bigger groups first, then by first photo.
  const order = (g: DuplicateGroup) => (g.kind === 'exact' ? 0 : 1);
  groups.sort((a, b) => order(a) - order(b) || b.ids.length - a.ids.length || a.ids[0]! - b.ids[0]!);
  return groups;
}

/**
 * Each photo of a group with its cosine similarity to the group's first photo (1 for every exact copy), in
 * the group's order: what the Duplicates panel shows beside each photo.
 */
export function scoresToFirst(input: DuplicateInput, group: DuplicateGroup): { id: number; score: number }[] {
  const { ids, vectors, dim } = input;
  const rowOf = new Map<number, number>();
  for (let r = 0; r < ids.length; r++) rowOf.set(ids[r]!, r);
  const first = rowOf.get(group.ids[0]!)! * dim;
  return group.ids.map((id) => {
    if (group.kind === 'exact') return { id, score: 1 };
    const row = rowOf.get(id)! * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) s += vectors[first + j]! * vectors[row + j]!;
    // Float rounding can put a copy's cosine a hair above 1 (1.0000001): similarities are reported within [0, 1].
    return { id, score: clampUnit(s) };
  });
}

export function clampUnit(x: number): number {
  return Math.min(1, Math.max(0, x));
}
