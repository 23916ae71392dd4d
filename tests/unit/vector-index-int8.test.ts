import { afterEach, describe, expect, it } from 'vitest';
import { randomUnitVector, seededRandom } from '../../bench/bench-search';
import { dotRow } from '../../main/backend/search/topk';
import { bruteForceTopK } from '../helpers/brute-force-topk';
import { instantiateKernel, paddedDim } from '../../main/backend/search/int8-kernel';
import { Int8Rows } from '../../main/backend/search/int8-rows';
import { QUANT_MIN_ROWS, VectorIndex } from '../../main/backend/search/vector-index';

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

describe('VectorIndex int8 prefilter + exact re-rank', () => {
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

  it('scores only the admitted photos (a filtered search): the exact top 10 among them, whether scattered or in runs', async () => {
    const { ids, flat } = rows(20_000, 31, 1);
    const index = await quantizedIndex(ids, flat);
    const rand = seededRandom(32);
    // A folder indexed in one go (rows 5,000–6,999), scattered photos, and ids the index does not hold.
    const run = ids.slice(5_000, 7_000);
    const scattered = ids.filter(() => rand() < 0.05);
    for (const admitted of [run, scattered, [...scattered, 10_000_001, 10_000_002], ids.slice(0, 100)]) {
      const sub = new Float32Array(admitted.filter((id) => id <= ids.length).flatMap((id) => Array.from(flat.subarray((id - 1) * dim, id * dim))));
      const subIds = admitted.filter((id) => id <= ids.length);
      for (let i = 0; i < 5; i++) {
        const q = randomUnitVector(dim, rand);
        const want = bruteForceTopK(subIds, sub, dim, q, 10);
        const got = await index.searchAmong(q, admitted, 10);
        expect(got.map((h) => h.id)).toEqual(want.map((h) => h.id));
        for (const h of got) expect(h.score).toBe(dotRow(flat, h.id - 1, dim, q));
      }
    }
    expect(await index.searchAmong(randomUnitVector(dim, rand), [10_000_001], 10)).toEqual([]);
  });

  it('sees photos added, replaced and removed at once', async () => {
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

  it('scans with the workers exactly as on the calling thread, and grows while searching', async () => {
    // 40k × 64 int8 values: above the calling-thread limit, so the scan workers take a share each.
    const { ids, flat } = rows(2_000, 4, 1);
    const index = await quantizedIndex(ids, flat);
    const more = rows(38_000, 5, 10_001);
    index.add(more.ids, more.flat); // grows the shared memory past what the workers first saw
    const allIds = [...ids, ...more.ids];
    const all = new Float32Array(allIds.length * dim);
    all.set(flat);
    all.set(more.flat, flat.length);
    const q8 = new Int8Rows(dim);
    q8.reserve(allIds.length);
    for (let r = 0; r < allIds.length; r++) q8.set(r, all.subarray(r * dim, (r + 1) * dim));
    try {
      const rand = seededRandom(11);
      for (let i = 0; i < 5; i++) {
        const q = randomUnitVector(dim, rand);
        expect(Array.from(await q8.scan(q, allIds.length, 256))).toEqual(Array.from(q8.scanHere(q, allIds.length, 256)));
        expect((await index.search(q, 10)).map((h) => h.id)).toEqual(bruteForceTopK(allIds, all, dim, q, 10).map((h) => h.id));
      }
    } finally {
      await q8.dispose();
    }
    // 40k rows: float buffer + ids + map + the int8 rows (dim bytes a row) and scales.
    expect(index.memoryBytes()).toBeGreaterThanOrEqual(40_000 * (dim * 4 + 8 + 40) + 40_000 * (dim + 4));
  });

  it('auto mode keeps small libraries on the exact float scan, and adds int8 rows from QUANT_MIN_ROWS', async () => {
    const { ids, flat } = rows(QUANT_MIN_ROWS - 1, 6, 1);
    const index = new VectorIndex(dim);
    open.push(index);
    index.add(ids, flat);
    expect(index.quantized).toBe(false);
    const extra = randomUnitVector(dim, seededRandom(13));
    index.add([QUANT_MIN_ROWS], [extra]);
    expect(index.quantized).toBe(true);
    const all = new Float32Array((ids.length + 1) * dim);
    all.set(flat);
    all.set(extra, flat.length);
    const q = randomUnitVector(dim, seededRandom(12));
    expect(await index.search(q, 10)).toEqual(bruteForceTopK([...ids, QUANT_MIN_ROWS], all, dim, q, 10));
  });
});

describe('int8 SIMD kernel', () => {
  it('computes each row\'s integer dot product, for a dimension that is not a multiple of 16', () => {
    const d = 100;
    const stride = paddedDim(d);
    expect(stride).toBe(112);
    const n = 37;
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 16, shared: true });
    const dots = instantiateKernel(memory);
    const bytes = new Uint8Array(memory.buffer);
    const matrix = new Int8Array(memory.buffer, 4096, n * stride);
    const query = new Int16Array(memory.buffer, 0, stride);
    const rand = seededRandom(31);
    for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) matrix[r * stride + j] = r === 0 ? (j % 2 ? 127 : -128) : Math.floor(rand() * 255) - 127;
    for (let j = 0; j < d; j++) query[j] = j % 3 === 0 ? -32768 : Math.floor(rand() * 65535) - 32767;
    bytes.fill(0x55, 100_000, 100_000 + n * 4);
    dots(4096, n, stride, 0, 100_000);
    const out = new Int32Array(memory.buffer, 100_000, n);
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += matrix[r * stride + j] * query[j];
      expect(out[r]).toBe(s);
    }
  });
});

describe('VectorIndex with an exact source (int8 rows only in memory)', () => {
  function sourced(ids: number[], flat: Float32Array): { index: VectorIndex; reads: number[] } {
    const byId = new Map(ids.map((id, i) => [id, flat.slice(i * dim, (i + 1) * dim)]));
    const reads: number[] = [];
    const index = new VectorIndex(dim, {
      exact: (want) => {
        reads.push(want.length);
        return want.map((id) => byId.get(id) ?? null);
      },
    });
    open.push(index);
    index.add(ids, flat);
    return { index, reads };
  }

  it('holds no float rows, re-ranks a few hundred candidates read from the source, and finds the exact top 10', async () => {
    const { ids, flat } = rows(3_000, 21, 1);
    const { index, reads } = sourced(ids, flat);
    expect(index.quantized).toBe(true);
    expect(index.memoryBytes()).toBeLessThan(3_000 * dim * 4); // the float rows alone would take that
    const rand = seededRandom(22);
    for (let i = 0; i < 10; i++) {
      const q = randomUnitVector(dim, rand);
      expect(await index.search(q, 10)).toEqual(bruteForceTopK(ids, flat, dim, q, 10));
    }
    expect(Math.max(...reads)).toBe(256);
    expect(() => index.searchJs(rows(1, 23, 0).flat, 10)).toThrow(/no float rows/);
  });

  it('reads back the same int8 rows it was filled with, and drops rows removed or gone from the source', async () => {
    const { ids, flat } = rows(500, 24, 1);
    const { index } = sourced(ids, flat);
    const saved = index.quantizedRows();
    const copy = { ids: saved.ids.slice(), scales: saved.scales.slice(), rows: saved.rows.slice() };
    const { index: again } = sourced([], new Float32Array(0));
    await again.loadQuantizedRows(500, (v) => {
      v.ids.set(copy.ids);
      v.scales.set(copy.scales);
      v.rows.set(copy.rows);
    });
    const q = randomUnitVector(dim, seededRandom(25));
    // `again`'s source is empty: everything it finds must come from its own rows, then be dropped.
    expect(await again.search(q, 5)).toEqual([]);
    expect(again.size).toBe(500);
    const best = await index.search(q, 3);
    index.remove([best[0].id]);
    expect((await index.search(q, 2)).map((h) => h.id)).toEqual([best[1].id, best[2].id]);
    await expect(again.loadQuantizedRows(1, () => undefined)).rejects.toThrow(/empty index/);
  });
});
