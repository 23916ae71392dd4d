/**
 * Duplicate photos: exact copies (same content hash) first, then near-duplicates, photos whose similarity
 * reaches a threshold (bursts, resized, recompressed or rotated copies, edits). The similarity of two photos
 * is the larger of two measures on one scale: the cosine of their image embeddings (what they show), and
 * their pixel hashes' agreement in the closest of 8 orientations (photos/pixel-hash.ts: how they look), which
 * finds the copies an embedding alone misses: a 25% resize, or the same pixels under another EXIF rotation.
 *
 * Candidate pairs come from locality-sensitive hashing (duplicate-candidates.ts), never an O(n²) pass; every
 * candidate is scored exactly, so nothing below the threshold is ever grouped. Groups are the connected
 * components of the pairs (a burst chains: a≈b, b≈c puts a, b and c together). Measurements:
 * docs/BENCHMARKS.md ("Power search", "Near-duplicates by pixels").
 */
import { seededRandom } from '../../../shared/random';
import { orientedHashes, PIXEL_HASH_BITS, PIXEL_HASH_WORDS, pixelDistance, pixelSimilarity } from '../photos/pixel-hash';
import { BITS, embeddingSigns, forEachCandidate, PROJECTIONS, tablesFor, type SignRows } from './duplicate-candidates';

export { tablesFor } from './duplicate-candidates';

export interface DuplicateInput {
  /** Photo id of each row. */
  ids: ArrayLike<number>;
  /** ids.length × dim, row-major, each row L2-normalized. */
  vectors: Float32Array;
  dim: number;
  /** Content hash of each row (same bytes, same hash). */
  hashes: readonly string[];
  /** Pixel hash of each row (photos/pixel-hash.ts); null for a photo indexed before pixel hashes, compared by embedding only. */
  pixelHashes?: readonly (string | null)[];
}

export interface DuplicateGroup {
  kind: 'exact' | 'near';
  /** Photo ids, the group's first photo (lowest id) first. */
  ids: number[];
  /** The lowest similarity of the pairs that joined the group (1 for exact copies). */
  minScore: number;
}

export interface DuplicateOptions {
  /** Similarity from which two photos are near-duplicates (0.5–1). */
  threshold: number;
  seed?: number;
  /** Probability of finding a pair at exactly the threshold (closer pairs are found more surely). */
  recall?: number;
}

/** The similarity of rows a and b: the larger of the embeddings' cosine and the pixel hashes' similarity. */
function similarity(input: DuplicateInput, oriented: (Uint32Array | null)[], a: number, b: number): number {
  const { vectors, dim } = input;
  let s = 0;
  for (let j = 0; j < dim; j++) s += vectors[a * dim + j]! * vectors[b * dim + j]!;
  const pa = oriented[a];
  const pb = oriented[b];
  return pa && pb ? Math.max(s, pixelSimilarity(pixelDistance(pa, pb))) : s;
}

/** Each row's pixel hash in its 8 orientations (null without one). */
function orientations(input: DuplicateInput): (Uint32Array | null)[] {
  return Array.from({ length: input.ids.length }, (_, r) => {
    const h = input.pixelHashes?.[r];
    return h ? orientedHashes(h) : null;
  });
}

/** Exact copies: rows grouped by content hash, each group's lowest id first. */
function exactCopies(input: DuplicateInput): { groups: DuplicateGroup[]; reps: number[] } {
  const { ids, hashes } = input;
  const byHash = new Map<string, number[]>();
  for (let r = 0; r < ids.length; r++) {
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
  return { groups, reps };
}

/** Union-find over the representatives, keeping each component's weakest joining similarity. */
class Components {
  private readonly parent: Int32Array;
  private readonly weakest: Float64Array;
  constructor(m: number) {
    this.parent = Int32Array.from({ length: m }, (_, i) => i);
    this.weakest = new Float64Array(m).fill(1);
  }
  find(x: number): number {
    const parent = this.parent;
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  }
  join(a: number, b: number, score: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    const w = Math.min(this.weakest[ra]!, this.weakest[rb]!, score);
    if (ra !== rb) this.parent[ra] = rb;
    this.weakest[rb] = w;
  }
  /** Components of two or more, as lists of members, with their weakest similarity. */
  groups(m: number): { members: number[]; minScore: number }[] {
    const byRoot = new Map<number, number[]>();
    for (let k = 0; k < m; k++) {
      const root = this.find(k);
      const list = byRoot.get(root);
      if (list) list.push(k);
      else byRoot.set(root, [k]);
    }
    return [...byRoot].filter(([, members]) => members.length > 1).map(([root, members]) => ({ members, minScore: this.weakest[root]! }));
  }
}

export async function findDuplicates(input: DuplicateInput, opts: DuplicateOptions): Promise<DuplicateGroup[]> {
  const { ids, vectors, dim, hashes } = input;
  const n = ids.length;
  if (vectors.length !== n * dim || hashes.length !== n || (input.pixelHashes && input.pixelHashes.length !== n)) {
    throw new Error(`findDuplicates: ${n} ids, ${hashes.length} hashes, ${input.pixelHashes?.length ?? n} pixel hashes and ${vectors.length / dim} vectors differ.`);
  }
  if (!(opts.threshold >= 0.5 && opts.threshold <= 1)) throw new Error(`The duplicate threshold must be between 0.5 and 1 (got ${opts.threshold}).`);

  // 1. Exact copies. One representative (the lowest id) of each content goes on to the near pass.
  const { groups, reps } = exactCopies(input);

  // 2. Near copies among the representatives: candidates by embedding, then by pixel hash; each scored exactly.
  const m = reps.length;
  const oriented = orientations(input);
  const rng = seededRandom(opts.seed ?? 1);
  const tables = { tables: tablesFor(opts.threshold, opts.recall), bits: BITS };
  const components = new Components(m);
  const checked = new Set<number>();
  const check = (a: number, b: number) => {
    const pair = a * m + b;
    if (checked.has(pair)) return;
    checked.add(pair);
    const s = similarity(input, oriented, reps[a]!, reps[b]!);
    if (s >= opts.threshold) components.join(a, b, s);
  };
  const signs = await embeddingSigns(vectors, dim, reps, rng);
  forEachCandidate({ m, words: PROJECTIONS / 32, signs, from: 0, to: PROJECTIONS }, tables, rng, check);
  const pixels = pixelRows(reps, oriented);
  const pixelPair = (a: number, b: number) => check(pixels.rep[a]!, pixels.rep[b]!);
  forEachCandidate(pixels.rows, tables, rng, pixelPair);
  // In the 7 other orientations, tables for copies as close as a resize (ROTATED_SIMILARITY) with longer keys:
  // 7 lookups per photo and table would otherwise bring 7× the chance pairs.
  const rotated = { tables: tablesFor(Math.max(opts.threshold, ROTATED_SIMILARITY), opts.recall, ROTATED_BITS), bits: ROTATED_BITS };
  forEachCandidate({ ...pixels.rows, extra: pixels.extra }, rotated, rng, pixelPair);
  for (const { members, minScore } of components.groups(m)) groups.push({ kind: 'near', ids: members.map((k) => ids[reps[k]!]!).sort((a, b) => a - b), minScore });
  // Exact copies first, then near ones; bigger groups first, then by first photo.
  const order = (g: DuplicateGroup) => (g.kind === 'exact' ? 0 : 1);
  groups.sort((a, b) => order(a) - order(b) || b.ids.length - a.ids.length || a.ids[0]! - b.ids[0]!);
  return groups;

}

/**
 * A copy in another orientation is looked for with probability `recall` from this pixel similarity up (13 of
 * 255 bits differ: the farthest 50% / 25% resize or recompressed copy of 40 Flickr8k photos), less surely
 * between the threshold and it.
 */
const ROTATED_SIMILARITY = 0.987;
const ROTATED_BITS = 24;

/** The representatives (indices into `reps`) that have a pixel hash: their own hash, and the 7 other orientations to look up. */
function pixelRows(reps: readonly number[], oriented: readonly (Uint32Array | null)[]): { rows: SignRows; extra: { per: number; data: Uint32Array }; rep: number[] } {
  const rep = reps.map((_, k) => k).filter((k) => oriented[reps[k]!] !== null);
  const W = PIXEL_HASH_WORDS;
  const signs = new Uint32Array(rep.length * W);
  const extra = new Uint32Array(rep.length * 7 * W);
  rep.forEach((k, i) => {
    const o = oriented[reps[k]!]!;
    signs.set(o.subarray(0, W), i * W);
    extra.set(o.subarray(W), i * 7 * W);
  });
  // Bit 0 (the constant frequency) is always 0: keys use the other PIXEL_HASH_BITS.
  return { rows: { m: rep.length, words: W, signs, from: 1, to: PIXEL_HASH_BITS + 1 }, extra: { per: 7, data: extra }, rep };
}

/**
 * Each photo of a group with its similarity to the group's first photo (1 for every exact copy), in the
 * group's order: what the Duplicates panel shows beside each photo.
 */
export function scoresToFirst(input: DuplicateInput, group: DuplicateGroup): { id: number; score: number }[] {
  const { ids } = input;
  const rowOf = new Map<number, number>();
  for (let r = 0; r < ids.length; r++) rowOf.set(ids[r]!, r);
  const first = rowOf.get(group.ids[0]!)!;
  const oriented = (r: number) => {
    const h = input.pixelHashes?.[r];
    return h ? orientedHashes(h) : null;
  };
  const firstOriented = oriented(first);
  return group.ids.map((id) => {
    if (group.kind === 'exact') return { id, score: 1 };
    const row = rowOf.get(id)!;
    const rows: (Uint32Array | null)[] = [];
    rows[first] = firstOriented;
    rows[row] = oriented(row);
    // Float rounding can put a copy's cosine a hair above 1 (1.0000001): similarities are reported within [0, 1].
    return { id, score: clampUnit(similarity(input, rows, first, row)) };
  });
}

export function clampUnit(x: number): number {
  return Math.min(1, Math.max(0, x));
}
