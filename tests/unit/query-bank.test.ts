/**
 * The hubness correction's arithmetic (model/query-bank.ts) and its use in `eval`'s recall (train/evaluate.ts).
 */
import { describe, expect, it } from 'vitest';
import { BANK_FROM_SET, correctedScore, grownBank, headsDigest, hubOf, parseBank, type QueryBank } from '../../main/backend/model/query-bank';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initHeads } from '../../main/backend/model/heads';
import { evaluateEmbeddings } from '../../main/backend/train/evaluate';

function unit(v: number[]): Float32Array {
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
}

function bankOf(rows: number[][], beta: number, lambda = 1): QueryBank {
  const dim = rows[0]!.length;
  const vectors = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => vectors.set(unit(r), i * dim));
  return { vectors, count: rows.length, dim, beta, lambda };
}

describe('query bank', () => {
  it('reads one caption per line and skips blank lines', () => {
    expect(parseBank('A dog runs .\n\n  two cats  \n')).toEqual(['A dog runs .', 'two cats']);
  });

  it('scores a photo near most of the bank as more of a hub than one near few, between the mean and the largest similarity', () => {
    const bank = bankOf([[1, 0, 0], [0.9, 0.1, 0], [0.8, 0, 0.2], [0, 0, 1]], 15);
    const hub = hubOf(bank, unit([1, 0, 0]));
    const lonely = hubOf(bank, unit([0, 1, 0]));
    expect(hub).toBeGreaterThan(lonely);
    // A soft maximum of the similarities: above their mean, at most their maximum.
    const sims = [1, 0.9 / Math.hypot(0.9, 0.1), 0.8 / Math.hypot(0.8, 0.2), 0];
    expect(hub).toBeLessThanOrEqual(Math.max(...sims) + 1e-6);
    expect(hub).toBeGreaterThan(sims.reduce((a, x) => a + x, 0) / sims.length);
  });

  it('stays finite for a very sharp soft maximum and tends to the largest similarity', () => {
    const bank = bankOf([[1, 0], [0, 1], [1, 1]], 1000);
    const h = hubOf(bank, unit([1, 0]));
    expect(Number.isFinite(h)).toBe(true);
    expect(h).toBeCloseTo(1 + Math.log(1 / 3) / 1000, 6);
  });

  it("grows a retrained model's bank by a seeded sample of its set's captions, after the base's", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-bank-'));
    writeFileSync(path.join(dir, 'bank.txt'), 'a dog runs\ntwo cats\n');
    const texts = Array.from({ length: BANK_FROM_SET + 10 }, (_, i) => `scene  ${i}\n`);
    const grown = parseBank(await grownBank(path.join(dir, 'bank.txt'), texts));
    expect(grown.slice(0, 2)).toEqual(['a dog runs', 'two cats']);
    expect(grown).toHaveLength(2 + BANK_FROM_SET);
    expect(new Set(grown.slice(2)).size).toBe(BANK_FROM_SET);
    for (const c of grown.slice(2)) expect(c).toMatch(/^scene \d+$/);
    expect(await grownBank(path.join(dir, 'bank.txt'), texts)).toBe(await grownBank(path.join(dir, 'bank.txt'), texts));
    // A base without a readable bank: the set's captions alone.
    expect(parseBank(await grownBank(path.join(dir, 'missing.txt'), ['a red circle']))).toEqual(['a red circle']);
  });

  it('takes λ times the hub off the cosine', () => {
    expect(correctedScore(bankOf([[1, 0]], 10, 0.75), 0.5, 0.2)).toBeCloseTo(0.35, 9);
  });

  it("names the heads' weights by a digest that changes when a weight does", () => {
    const spec = { kind: 'projection', embedDim: 8, dropout: 0, imageInDim: 6, textInDim: 5, textPool: 'none', logitScale: 2 } as const;
    const a = initHeads(spec, 1);
    expect(headsDigest(a)).toBe(headsDigest(initHeads(spec, 1)));
    const b = initHeads(spec, 1);
    b.weights.get('image.fc1.bias')!.data[0]! += 1e-3;
    expect(headsDigest(b)).not.toBe(headsDigest(a));
  });

  it('lets eval rank a caption as search does: a per-photo penalty can move the right photo up', () => {
    const photos = [unit([1, 0.05]), unit([1, 0])];
    const caption = [unit([1, 0.02])]; // closer to photo 1 by cosine, but it belongs to photo 0
    expect(evaluateEmbeddings(photos, caption, [0]).textToImage.r1).toBe(0);
    expect(evaluateEmbeddings(photos, caption, [0], Float32Array.from([0, 0.01])).textToImage.r1).toBe(100);
  });
});
