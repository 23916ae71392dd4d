import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomUnitVector, seededRandom } from '../../bench/bench-search';
import { TopK, kthLargest } from '../../main/backend/search/topk';
import { bruteForceTopK } from '../helpers/brute-force-topk';
import { VectorIndex, type IndexRow } from '../../main/backend/search/vector-index';
import { Store } from '../../main/backend/store';

function randomRows(n: number, dim: number, seed: number, firstId = 1): { ids: number[]; vectors: Float32Array[] } {
  const rand = seededRandom(seed);
  const ids: number[] = [];
  const vectors: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(firstId + i);
    vectors.push(randomUnitVector(dim, rand));
  }
  return { ids, vectors };
}

function flatten(vectors: Float32Array[], dim: number): Float32Array {
  const m = new Float32Array(vectors.length * dim);
  vectors.forEach((v, i) => m.set(v, i * dim));
  return m;
}

describe('TopK', () => {
  it('keeps the k best, best first, ties by smaller id', () => {
    const top = new TopK(3);
    for (const [s, id] of [[0.5, 9], [0.9, 4], [0.5, 2], [0.1, 1], [0.5, 7], [0.9, 3]]) top.push(s, id);
    expect(top.result()).toEqual([
      { id: 3, score: 0.9 },
      { id: 4, score: 0.9 },
      { id: 2, score: 0.5 },
    ]);
  });

  it('kthLargest matches a full sort', () => {
    const rand = seededRandom(5);
    const xs = Float32Array.from({ length: 1000 }, () => rand());
    const sorted = Array.from(xs).sort((a, b) => b - a);
    for (const k of [1, 10, 999, 1000]) expect(kthLargest(xs, xs.length, k)).toBe(sorted[k - 1]);
    expect(kthLargest(xs, 5, 10)).toBe(-Infinity);
  });
});

describe.each(['onnx', 'js'] as const)('VectorIndex (%s kernel)', (kernel) => {
  const dim = 64;
  const { ids, vectors } = randomRows(3000, dim, 1, 100);
  const matrix = flatten(vectors, dim);
  const queries = randomRows(20, dim, 2).vectors;

  it('returns exactly the brute-force top k: ids, order and scores', async () => {
    const index = new VectorIndex(dim, { kernel });
    index.add(ids, vectors);
    expect(index.size).toBe(3000);
    for (const q of queries) {
      const exact = bruteForceTopK(ids, matrix, dim, q, 10);
      expect(await index.search(q, 10)).toEqual(exact);
    }
  });

  it('breaks exact ties by smaller photo id', async () => {
    const index = new VectorIndex(dim, { kernel });
    const v = vectors[0];
    // The same vector under ids added in scrambled order, plus the random rest.
    index.add([50, 7, 31, 8], [v, v, v, v]);
    index.add(ids.slice(1), vectors.slice(1));
    const hits = await index.search(v, 4);
    expect(hits.map((h) => h.id)).toEqual([7, 8, 31, 50]);
    expect(new Set(hits.map((h) => h.score)).size).toBe(1);
  });

  it('returns every photo once when k exceeds the size, and nothing for k <= 0 or an empty index', async () => {
    const index = new VectorIndex(dim, { kernel });
    expect(await index.search(queries[0], 5)).toEqual([]);
    index.add(ids.slice(0, 7), vectors.slice(0, 7));
    const hits = await index.search(queries[0], 50);
    expect(hits).toHaveLength(7);
    expect(new Set(hits.map((h) => h.id))).toEqual(new Set(ids.slice(0, 7)));
    expect(hits).toEqual(bruteForceTopK(ids.slice(0, 7), matrix.subarray(0, 7 * dim), dim, queries[0], 50));
    expect(await index.search(queries[0], 0)).toEqual([]);
  });

  it('removes and re-adds photos, and replaces a photo added twice (no duplicates)', async () => {
    const index = new VectorIndex(dim, { kernel });
    index.add(ids, matrix);
    const q = queries[3];
    const best = (await index.search(q, 5)).map((h) => h.id);
    expect(index.remove([best[0], best[2], 999_999])).toBe(2);
    expect(index.size).toBe(2998);
    const keep = ids.map((id, i) => [id, i] as const).filter(([id]) => id !== best[0] && id !== best[2]);
    const rest = bruteForceTopK(
      keep.map(([id]) => id),
      flatten(keep.map(([, i]) => vectors[i]), dim),
      dim,
      q,
      10,
    );
    expect(await index.search(q, 10)).toEqual(rest);
    expect((await index.search(q, 10)).map((h) => h.id)).not.toContain(best[0]);

    // Re-add one removed photo; replace another photo's vector with the query itself.
    index.add([best[0]], [vectors[ids.indexOf(best[0])]]);
    index.add([ids[5]], [q]);
    index.add([ids[5]], [q]);
    expect(index.size).toBe(2999);
    const hits = await index.search(q, 3000);
    expect(hits).toHaveLength(2999);
    expect(new Set(hits.map((h) => h.id)).size).toBe(2999);
    expect(hits[0].id).toBe(ids[5]);
    expect(hits[0].score).toBeCloseTo(1, 5);
    expect(hits[1].id).toBe(best[0]);
  });
});

describe('VectorIndex errors and loading', () => {
  it('rejects vectors and queries of the wrong size with a clear message', async () => {
    const index = new VectorIndex(8);
    expect(() => index.add([1], [new Float32Array(4)])).toThrow(/photo 1 has 4 values but the index holds 8-d embeddings/);
    expect(() => index.add([1, 2], new Float32Array(8))).toThrow(/2 ids need 16 values/);
    expect(index.size).toBe(0);
    await expect(index.search(new Float32Array(16), 3)).rejects.toThrow(/query has 16 values but the index holds 8-d/);
    expect(() => new VectorIndex(0)).toThrow(/positive integer/);
  });

  it('loads from an async iterable without keeping spare copies, then searches exactly', async () => {
    const dim = 32;
    const { ids, vectors } = randomRows(5000, dim, 3);
    async function* rows(): AsyncGenerator<IndexRow> {
      for (let i = 0; i < ids.length; i++) yield { id: ids[i], vector: vectors[i] };
    }
    const index = new VectorIndex(dim, { kernel: 'onnx' });
    const { count } = await index.load(rows());
    expect(count).toBe(5000);
    expect(index.size).toBe(5000);
    // Grown by 1.5× from 1024 rows: capacity 5184, not a doubled copy; the id map: ids 1…5,000 addressed
    // directly, 8,192 slots of 4 bytes.
    expect(index.memoryBytes()).toBe(5184 * (dim * 4 + 8) + 8192 * 4);
    const q = randomRows(1, dim, 4).vectors[0];
    expect(await index.search(q, 10)).toEqual(bruteForceTopK(ids, flatten(vectors, dim), dim, q, 10));

    // Sized once from the expected count.
    const sized = new VectorIndex(dim);
    await sized.load(rows(), { expectedCount: 5000 });
    expect(sized.memoryBytes()).toBe(5000 * (dim * 4 + 8) + 8192 * 4);
  });

  it('loads a real library database through Store.iterateEmbeddings', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'search-index-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const store = new Store(path.join(dir, 'library.db'));
    try {
      const dim = 16;
      const rand = seededRandom(9);
      const ids = store.writeBatch(
        Array.from({ length: 300 }, (_, i) => ({
          photo: { path: `/p/${i}.jpg`, root: '/p', size: 1, mtimeMs: 0, contentHash: `h${i}`, width: null, height: null, takenAt: null },
          embedding: { modelId: 'm', data: randomUnitVector(dim, rand) },
        })),
      );
      const index = new VectorIndex(dim, { kernel: 'onnx' });
      await index.load(store.iterateEmbeddings('m'));
      expect(index.size).toBe(300);
      const q = store.embeddingFor(ids[42], 'm') as Float32Array;
      const [first] = await index.search(q, 1);
      expect(first.id).toBe(ids[42]);
      expect(first.score).toBeCloseTo(1, 5);
    } finally {
      store.close();
    }
  });

  it('gives correct results when photos are removed while a search is running', async () => {
    const dim = 64;
    const { ids, vectors } = randomRows(4000, dim, 6);
    const index = new VectorIndex(dim, { kernel: 'onnx' });
    index.add(ids, vectors);
    const q = vectors[10];
    const pending = index.search(q, 5);
    index.remove([ids[10]]); // the best match leaves mid-flight
    const hits = await pending;
    expect(hits.map((h) => h.id)).not.toContain(ids[10]);
    expect(hits).toEqual(index.searchJs(q, 5));
  });
});
