import { describe, expect, it } from 'vitest';
import { findDuplicates, tablesFor } from '../../main/backend/search/duplicates';
import { seededRandom } from '../../shared/random';

function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  return v.map((x) => x / Math.sqrt(n));
}

/** A random unit vector and, for `near`, one at about cosine `cos` from a given vector. */
function library(opts: { n: number; dim: number; seed: number }) {
  const rng = seededRandom(opts.seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const random = () => unit(Float32Array.from({ length: opts.dim }, gauss));
  const near = (v: Float32Array, cos: number) => {
    // v·cos + (a random direction orthogonal to v)·sin.
    const r = random();
    let d = 0;
    for (let i = 0; i < v.length; i++) d += r[i]! * v[i]!;
    const o = unit(r.map((x, i) => x - d * v[i]!));
    const s = Math.sqrt(1 - cos * cos);
    return v.map((x, i) => x * cos + o[i]! * s);
  };
  return { random, near };
}

function bruteForcePairs(vectors: Float32Array, dim: number, threshold: number): number {
  const n = vectors.length / dim;
  let pairs = 0;
  for (let a = 0; a < n; a++)
    for (let b = a + 1; b < n; b++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += vectors[a * dim + j]! * vectors[b * dim + j]!;
      if (s >= threshold) pairs++;
    }
  return pairs;
}

describe('findDuplicates', () => {
  it("groups exact copies first, then near copies (chains included), and nothing below the threshold", async () => {
    const dim = 64;
    const { random, near } = library({ n: 0, dim, seed: 5 });
    const rows: Float32Array[] = [];
    const hashes: string[] = [];
    const add = (v: Float32Array, hash = `h${rows.length}`) => {
      rows.push(v);
      hashes.push(hash);
      return rows.length - 1;
    };
    for (let i = 0; i < 1500; i++) add(random());
    // 40 near pairs at cosine 0.97 (inside a 0.95 threshold), 40 at 0.93 (outside).
    const inside: [number, number][] = [];
    for (let i = 0; i < 40; i++) inside.push([i, add(near(rows[i]!, 0.97))]);
    for (let i = 40; i < 80; i++) add(near(rows[i]!, 0.93));
    // An exact copy (same bytes) of photo 100, and a burst chain 200 ≈ x ≈ y.
    const copy = add(rows[100]!, hashes[100]);
    const x = add(near(rows[200]!, 0.97));
    const y = add(near(rows[x]!, 0.97));
    const vectors = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => vectors.set(r, i * dim));
    const ids = rows.map((_, i) => 1000 + i);

    const groups = await findDuplicates({ ids, vectors, dim, hashes }, { threshold: 0.95, seed: 1 });
    expect(groups[0]).toEqual({ kind: 'exact', ids: [1100, 1000 + copy], minScore: 1 });
    const near95 = groups.filter((g) => g.kind === 'near');
    for (const [a, b] of inside) expect(near95).toContainEqual(expect.objectContaining({ ids: [1000 + a, 1000 + b] }));
    const chain = near95.find((g) => g.ids.includes(1200))!;
    expect(chain.ids).toEqual([1200, 1000 + x, 1000 + y]);
    expect(chain.minScore).toBeGreaterThanOrEqual(0.95);
    expect(chain.minScore).toBeLessThan(0.98);
    // Exactly the pairs a brute-force scan finds over the distinct photos (the copy removed).
    const distinct = vectors.filter((_, i) => Math.floor(i / dim) !== copy);
    const pairs = near95.reduce((s, g) => s + g.ids.length - 1, 0);
    expect(pairs).toBe(bruteForcePairs(distinct, dim, 0.95));
    expect(near95.every((g) => g.minScore >= 0.95)).toBe(true);
  });

  it("picks enough tables for the threshold and refuses a threshold it cannot honour", async () => {
    expect(tablesFor(0.99)).toBeLessThan(tablesFor(0.95));
    expect(tablesFor(0.95)).toBeLessThan(tablesFor(0.9));
    await expect(findDuplicates({ ids: [], vectors: new Float32Array(0), dim: 4, hashes: [] }, { threshold: 0.2 })).rejects.toThrow(/between 0.5 and 1/);
    expect(await findDuplicates({ ids: [], vectors: new Float32Array(0), dim: 4, hashes: [] }, { threshold: 0.9 })).toEqual([]);
  });
});
