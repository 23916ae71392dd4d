/**
 * Caption memory (model/caption-memory.ts): rows of int8 tower features round-trip within their quantization
 * step; a damaged file is refused in one line; a query moves toward the photos of its nearest captions exactly as
 * the formula says (softmax over the k best, by the weight, renormalized), and not at all with weight 0.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMemory, encodeMemory, expandQueries, loadCaptionMemory, memoryEntries, memoryRowBytes, type CaptionMemory } from '../../main/backend/model/caption-memory';
import type { ModelManifest, TextFeatures } from '../../main/backend/model/types';
import { makeRng } from '../../main/backend/train/split';

function unitRows(n: number, dim: number, seed: number): Float32Array[] {
  const r = makeRng(seed);
  return Array.from({ length: n }, () => {
    const v = Float32Array.from({ length: dim }, () => r() - 0.5);
    const len = Math.hypot(...v);
    return v.map((x) => x / len);
  });
}

const flat = (rows: Float32Array[]) => {
  const out = new Float32Array(rows.length * rows[0]!.length);
  rows.forEach((r, i) => out.set(r, i * r.length));
  return out;
};

describe('caption memory file', () => {
  it('round-trips rows within half a quantization step, and appends by concatenation', () => {
    const a = { image: Float32Array.from([0.5, -1, 0.25, 0]), text: Float32Array.from([3, -2]) };
    const b = { image: Float32Array.from([0, 0, 0, 0]), text: Float32Array.from([0.1, 0.2]) };
    const buf = Buffer.concat([encodeMemory([a], 4, 2), encodeMemory([b], 4, 2)]);
    expect(buf.length).toBe(2 * memoryRowBytes(4, 2));
    const back = decodeMemory(buf, 4, 2, 'test');
    expect(back).toHaveLength(2);
    [a, b].forEach((e, i) => {
      for (const side of ['image', 'text'] as const) {
        const step = Math.max(...e[side].map(Math.abs)) / 127 || 1;
        e[side].forEach((x, j) => expect(Math.abs(back[i]![side][j]! - x)).toBeLessThanOrEqual(step / 2 + 1e-6));
      }
    });
  });

  it('refuses a file that is not whole rows, or whose scales are damaged, in one line', () => {
    const row = encodeMemory([{ image: new Float32Array(4).fill(1), text: new Float32Array(2).fill(1) }], 4, 2);
    expect(() => decodeMemory(row.subarray(0, row.length - 1), 4, 2, 'm.bin')).toThrow(/m\.bin has 13 bytes, not a whole number of 14-byte rows/);
    expect(() => decodeMemory(Buffer.alloc(0), 4, 2, 'm.bin')).toThrow(/not a whole number/);
    const bad = Buffer.from(row);
    bad.writeFloatLE(Number.NaN, 0);
    expect(() => decodeMemory(bad, 4, 2, 'm.bin')).toThrow(/m\.bin is damaged \(row 0\)/);
  });

  it('is a missing file named in the error when the model cannot read it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'memory-'));
    const manifest = { image: { featureDim: 4 }, text: { featureDim: 2, captionMemory: { file: 'gone.bin', k: 2, temperature: 10, weight: 0.5 } }, embedDim: 3 } as unknown as ModelManifest;
    const embed = async (x: unknown[]) => x.map(() => new Float32Array(3));
    await expect(loadCaptionMemory(manifest, (f) => path.join(dir, f), embed, embed)).rejects.toThrow(/caption memory .*gone\.bin cannot be read .*Re-install the model/);
    writeFileSync(path.join(dir, 'gone.bin'), encodeMemory([{ image: new Float32Array(4).fill(1), text: new Float32Array(2).fill(1) }], 4, 2));
    const m = await loadCaptionMemory(manifest, (f) => path.join(dir, f), embed, embed);
    expect(m?.count).toBe(1);
    expect(m?.k).toBe(1); // never more neighbours than rows
  });
});

describe('memory entries of a set', () => {
  it('averages each photo\'s captions and skips photos without any', () => {
    const images = [Float32Array.of(1, 1), Float32Array.of(2, 2), Float32Array.of(3, 3)];
    const cap = (photo: number, ...v: number[]) => ({ photo, features: { data: Float32Array.from(v), length: 1 } as TextFeatures });
    const entries = memoryEntries({ imageFeatures: images, captions: [cap(0, 1, 0), cap(0, 3, 2), cap(2, 5, 5)] }, [0, 1, 2])!;
    expect(entries.map((e) => [...e.image])).toEqual([[1, 1], [3, 3]]);
    expect(entries.map((e) => [...e.text])).toEqual([[2, 1], [5, 5]]);
    // Only the photos asked for.
    expect(memoryEntries({ imageFeatures: images, captions: [cap(0, 1, 0), cap(2, 5, 5)] }, [2])!.map((e) => [...e.image])).toEqual([[3, 3]]);
  });

  it('is null for token-row text features', () => {
    const seq = { photo: 0, features: { data: new Float32Array(4), length: 2 } };
    expect(memoryEntries({ imageFeatures: [new Float32Array(2)], captions: [seq] }, [0])).toBeNull();
  });
});

describe('expanding a query', () => {
  const dim = 6;
  const count = 40;
  const memory: CaptionMemory = { keys: flat(unitRows(count, dim, 1)), values: flat(unitRows(count, dim, 2)), count, dim, k: 3, temperature: 10, weight: 0.5 };

  it('moves a query toward the photos of its k nearest captions, softmax-weighted, and renormalizes', async () => {
    const queries = unitRows(4, dim, 3);
    const got = await expandQueries(memory, queries);
    for (const [i, q] of queries.entries()) {
      const sims = Array.from({ length: count }, (_, r) => ({ r, s: q.reduce((a, x, j) => a + x * memory.keys[r * dim + j]!, 0) })).sort((a, b) => b.s - a.s).slice(0, 3);
      const w = sims.map((x) => Math.exp(10 * x.s));
      const total = w.reduce((a, b) => a + b, 0);
      const v = Array.from(q);
      sims.forEach((x, j) => v.forEach((_, d) => (v[d]! += (0.5 * w[j]! / total) * memory.values[x.r * dim + d]!)));
      const len = Math.hypot(...v);
      v.forEach((x, d) => expect(got[i]![d]).toBeCloseTo(x / len, 5));
      expect(Math.hypot(...got[i]!)).toBeCloseTo(1, 5);
      // It moved: the expanded query is not the query.
      expect(Math.max(...got[i]!.map((x, d) => Math.abs(x - q[d]!)))).toBeGreaterThan(1e-3);
    }
  });

  it('leaves queries as they are with weight 0, and returns copies', async () => {
    const queries = unitRows(2, dim, 4);
    const got = await expandQueries({ ...memory, weight: 0 }, queries);
    expect(got.map((v) => [...v])).toEqual(queries.map((v) => [...v]));
    expect(got[0]).not.toBe(queries[0]);
  });
});
