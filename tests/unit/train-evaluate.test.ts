import { describe, expect, it } from 'vitest';
import { pairedHitDifference, recallFromScores, textToImageRanks } from '../../main/backend/train/evaluate';

describe('paired recall change', () => {
  it('ranks each caption against every photo, as recallFromScores counts them', () => {
    // 3 captions × 3 photos; caption c belongs to photo c.
    const scores = Float32Array.from([0.9, 0.1, 0.2, 0.5, 0.3, 0.4, 0.1, 0.8, 0.7]);
    expect(Array.from(textToImageRanks(scores, 3, [0, 1, 2]))).toEqual([0, 2, 1]);
    expect(recallFromScores(scores, 3, [0, 1, 2]).textToImage.r1).toBeCloseTo(33.33, 2);
  });

  it('is the mean per-caption change of a hit at K, in points, with its standard error', () => {
    const before = Int32Array.from([0, 9, 9, 0, 3, 7]);
    const after = Int32Array.from([0, 0, 9, 7, 3, 1]);
    // Hits at 5: before 1,0,0,1,1,0; after 1,1,0,0,1,1 → changes 0,+1,0,−1,0,+1.
    const d = pairedHitDifference(before, after, 5);
    expect(d.mean).toBeCloseTo((100 * 1) / 6, 6);
    const mean = 1 / 6;
    const variance = ([0, 1, 0, -1, 0, 1].reduce((s, x) => s + (x - mean) ** 2, 0)) / 5;
    expect(d.se).toBeCloseTo((100 * Math.sqrt(variance)) / Math.sqrt(6), 6);
    // The same ranks: no change and no spread.
    expect(pairedHitDifference(before, before, 5)).toEqual({ mean: 0, se: 0 });
    expect(() => pairedHitDifference(before, after.slice(1), 5)).toThrow(/Cannot pair 6 ranks with 5/);
  });
});
