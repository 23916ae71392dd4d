import { describe, expect, it } from 'vitest';
import { IdMap } from '../../main/backend/search/id-map';
import { seededRandom } from '../../bench/bench-search';

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
    // Ids up to 2^40 are far too sparse for direct addressing: hashed, half full at most.
    expect(m.dense).toBe(false);
    expect(m.bytes()).toBeGreaterThanOrEqual(ref.size * 2 * 12);
  });

  it('addresses dense ids directly (4 B each), and switches to hashing, losing nothing, when they get sparse', () => {
    const rand = seededRandom(4);
    const m = new IdMap(50_000);
    const ref = new Map<number, number>();
    for (let id = 1; id <= 50_000; id++) {
      m.set(id, id * 3);
      ref.set(id, id * 3);
    }
    for (let i = 0; i < 5_000; i++) {
      const id = 1 + Math.floor(rand() * 50_000);
      expect(m.delete(id)).toBe(ref.delete(id));
    }
    expect(m.dense).toBe(true);
    expect(m.bytes()).toBe(65_536 * 4);
    // New photos get the next rowids: the array doubles and stays direct.
    for (let id = 50_001; id <= 70_000; id++) {
      m.set(id, id);
      ref.set(id, id);
    }
    expect(m.dense).toBe(true);
    expect(m.bytes()).toBe(131_072 * 4);
    expect(m.get(-1)).toBe(-1);
    expect(m.get(2.5)).toBe(-1);
    expect(m.get(10 ** 9)).toBe(-1);
    expect(m.delete(10 ** 9)).toBe(false);
    // One id far beyond: direct would need 2^30 slots for ~65k entries, so the map hashes from now on.
    m.set(10 ** 9, 7);
    ref.set(10 ** 9, 7);
    expect(m.dense).toBe(false);
    expect(m.size).toBe(ref.size);
    for (const [id, row] of ref) expect(m.get(id)).toBe(row);
    for (let i = 0; i < 2_000; i++) {
      const id = Math.floor(rand() * 80_000);
      expect(m.get(id)).toBe(ref.get(id) ?? -1);
    }
  });

  it('is sized once for an expected count, refuses ids that are not rowids, and clears', () => {
    const m = new IdMap(1000);
    expect(m.bytes()).toBe(1024 * 4);
    for (let i = 0; i < 1000; i++) m.set(i * 3, i); // up to 2,997: 4,096 slots, the dense floor
    expect(m.dense).toBe(true);
    expect(m.bytes()).toBe(4096 * 4);
    expect(m.get(21)).toBe(7);
    expect(() => m.set(-1, 0)).toThrow(/non-negative integer/);
    expect(() => m.set(1.5, 0)).toThrow(/non-negative integer/);
    m.clear();
    expect(m.size).toBe(0);
    expect(m.get(21)).toBe(-1);
  });
});
