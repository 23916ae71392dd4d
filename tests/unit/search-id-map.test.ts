import { describe, expect, it } from 'vitest';
import { IdMap } from '../../main/backend/search/id-map';
import { seededRandom } from '../../main/backend/search/bench-search';

describe('IdMap (photo id → row)', () => {
  it('agrees with a Map through 200k random sets, replacements and deletes, growing from empty', () => {
    const rand = seededRandom(3);
    const m = new IdMap();
    const ref = new Map<number, number>();
    // Ids from a small range collide and form long probe runs, the case deletion must keep reachable.
    const pick = () => (rand() < 0.1 ? Math.floor(rand() * 2 ** 40) : Math.floor(rand() * 30_000));
    for (let i = 0; i < 200_000; i++) {
      const id = pick();
      if (rand() < 0.35) expect(m.delete(id)).toBe(ref.delete(id));
      else {
        m.set(id, i);
        ref.set(id, i);
      }
    }
    expect(m.size).toBe(ref.size);
    for (const [id, row] of ref) expect(m.get(id)).toBe(row);
    for (let i = 0; i < 20_000; i++) {
      const id = pick();
      expect(m.get(id)).toBe(ref.get(id) ?? -1);
    }
    // Half full at most: 2 slots or more per entry.
    expect(m.bytes()).toBeGreaterThanOrEqual(ref.size * 2 * 12);
  });

  it('is sized once for an expected count, refuses ids that are not rowids, and clears', () => {
    const m = new IdMap(1000);
    expect(m.bytes()).toBe(2048 * 12);
    for (let i = 0; i < 1000; i++) m.set(i * 7, i);
    expect(m.bytes()).toBe(2048 * 12);
    expect(() => m.set(-1, 0)).toThrow(/non-negative integer/);
    expect(() => m.set(1.5, 0)).toThrow(/non-negative integer/);
    m.clear();
    expect(m.size).toBe(0);
    expect(m.get(7)).toBe(-1);
  });
});
