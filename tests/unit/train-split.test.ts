import { describe, expect, it } from 'vitest';
import { splitByPhoto } from '../../main/backend/train/split';

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
