import { afterEach, describe, expect, it } from 'vitest';
import { randomUnitVector, seededRandom } from '../../main/backend/search/bench-search';
import { bruteForceTopK, dotRow } from '../../main/backend/search/topk';
import { VectorIndex } from '../../main/backend/search/vector-index';

const dim = 64;

function rows(n: number, seed: number, firstId: number): { ids: number[]; flat: Float32Array } {
  const rand = seededRandom(seed);
  const flat = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) flat.set(randomUnitVector(dim, rand), i * dim);
  return { ids: Array.from({ length: n }, (_, i) => firstId + i), flat };
}

let open: VectorIndex[] = [];
afterEach(async () => {
  await Promise.all(open.map((i) => i.dispose()));
  open = [];
});

async function quantizedIndex(ids: number[], flat: Float32Array): Promise<VectorIndex> {
  const index = new VectorIndex(dim, { quantize: 'on' });
  open.push(index);
  await index.load(ids.map((id, i) => ({ id, vector: flat.slice(i * dim, (i + 1) * dim) })));
  expect(index.quantized).toBe(true);
  return index;
}

describe('VectorIndex int8 snapshot + exact re-rank', () => {
  it('finds the exact top 10 (recall@10 ≥ 0.95, exact scores) on random unit vectors', async () => {
    const { ids, flat } = rows(20_000, 1, 1);
    const index = await quantizedIndex(ids, flat);
    const queries = rows(30, 2, 0).flat;
    let found = 0;
    for (let i = 0; i < 30; i++) {
      const q = queries.subarray(i * dim, (i + 1) * dim);
      const exact = bruteForceTopK(ids, flat, dim, q, 10);
      const got = await index.search(q, 10);
      const gotIds = new Set(got.map((h) => h.id));
      found += exact.filter((h) => gotIds.has(h.id)).length;
      // Whatever is returned carries its exact score, best first.
      for (const h of got) expect(h.score).toBe(dotRow(flat, h.id - 1, dim, q));
      expect(got.map((h) => h.score)).toEqual([...got.map((h) => h.score)].sort((a, b) => b - a));
    }
    expect(found / 300).toBeGreaterThanOrEqual(0.95);
  });

  it('sees photos added, replaced and removed after the snapshot', async () => {
    const { ids, flat } = rows(5_000, 3, 1);
    const index = await quantizedIndex(ids, flat);
    const q = randomUnitVector(dim, seededRandom(9));
    const before = await index.search(q, 3);

    index.add([900_001], [q]); // a new photo identical to the query
    index.add([ids[10]], [q]); // a snapshot photo whose vector changed to the query
    index.remove([before[0].id]); // the previous best leaves
    const after = await index.search(q, 5);
    expect(after.slice(0, 2).map((h) => h.id)).toEqual([ids[10], 900_001]);
    expect(after[0].score).toBeCloseTo(1, 5);
    expect(after.map((h) => h.id)).not.toContain(before[0].id);
    expect(after).toEqual(index.searchJs(q, 5)); // the exact scan of the live rows
  });

  it('rebuilds the snapshot in the background after many changes and stays exact', async () => {
    const { ids, flat } = rows(2_000, 4, 1);
    const index = await quantizedIndex(ids, flat);
    const more = rows(20_000, 5, 10_001);
    index.add(more.ids, more.flat); // > the rebuild threshold
    await index.whenIdle();
    expect(index.quantized).toBe(true);
    const allIds = [...ids, ...more.ids];
    const all = new Float32Array(allIds.length * dim);
    all.set(flat);
    all.set(more.flat, flat.length);
    const q = randomUnitVector(dim, seededRandom(11));
    expect((await index.search(q, 10)).map((h) => h.id)).toEqual(bruteForceTopK(allIds, all, dim, q, 10).map((h) => h.id));
    // 22k rows: float buffer + ids + map + the int8 snapshot (dim + 12 bytes a row).
    expect(index.memoryBytes()).toBeGreaterThanOrEqual(22_000 * (dim * 4 + 8 + 40) + 22_000 * (dim + 12));
  });

  it('auto mode keeps small libraries on the exact float scan', async () => {
    const { ids, flat } = rows(1_000, 6, 1);
    const index = new VectorIndex(dim);
    open.push(index);
    index.add(ids, flat);
    await index.whenIdle();
    expect(index.quantized).toBe(false);
  });
});
