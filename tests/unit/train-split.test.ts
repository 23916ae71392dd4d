import { describe, expect, it } from 'vitest';
import type { EvalResult } from '../../shared/api';
import { poolResults } from '../../main/backend/train/cross-validate';
import { foldsByPhoto, splitByPhoto } from '../../main/backend/train/split';

describe('split by photo', () => {
  it('is seeded, disjoint, complete, 80/20 by default', () => {
    const a = splitByPhoto(100, { seed: 1 });
    expect(a.val).toHaveLength(20);
    expect(a.train).toHaveLength(80);
    expect(new Set([...a.train, ...a.val]).size).toBe(100);
    expect(splitByPhoto(100, { seed: 1 })).toEqual(a);
    expect(splitByPhoto(100, { seed: 2 }).val).not.toEqual(a.val);
  });
  it('keeps at least one photo on each side', () => {
    const s = splitByPhoto(2, { seed: 0 });
    expect(s.train).toHaveLength(1);
    expect(s.val).toHaveLength(1);
    expect(() => splitByPhoto(10, { valFraction: 1 })).toThrow(/Validation fraction/);
  });
});

describe('cross-validation folds', () => {
  it('hold every photo out exactly once, train on the rest, and are seeded', () => {
    const folds = foldsByPhoto(103, { seed: 4, folds: 5 });
    expect(folds).toHaveLength(5);
    expect(folds.map((f) => f.val.length).sort()).toEqual([20, 20, 21, 21, 21]);
    const held = folds.flatMap((f) => f.val);
    expect(new Set(held).size).toBe(103);
    expect(held).toHaveLength(103);
    for (const f of folds) {
      expect(f.train.length + f.val.length).toBe(103);
      expect(f.train.some((p) => f.val.includes(p))).toBe(false);
    }
    expect(foldsByPhoto(103, { seed: 4, folds: 5 })).toEqual(folds);
    expect(foldsByPhoto(103, { seed: 5, folds: 5 })[0]!.val).not.toEqual(folds[0]!.val);
  });
  it('are fewer on tiny sets, so every fold keeps two photos to train on', () => {
    const folds = foldsByPhoto(5, { seed: 0, folds: 5 });
    expect(folds).toHaveLength(2);
    expect(Math.min(...folds.map((f) => f.train.length))).toBeGreaterThanOrEqual(2);
    expect(() => foldsByPhoto(3, { folds: 5 })).toThrow(/at least 2 folds/);
    expect(() => foldsByPhoto(100, { folds: 1 })).toThrow(/at least 2 folds/);
  });
  it('pool recall of disjoint folds: text→image by captions, image→text by photos', () => {
    const r = (t: number, i: number, images: number, captions: number): EvalResult => ({ textToImage: { r1: t, r5: t, r10: t }, imageToText: { r1: i, r5: i, r10: i }, images, captions });
    const pooled = poolResults([r(50, 10, 10, 100), r(20, 40, 30, 50)]);
    expect(pooled.textToImage.r5).toBe(40);
    expect(pooled.imageToText.r5).toBe(32.5);
    expect(pooled).toMatchObject({ images: 40, captions: 150 });
  });
});
