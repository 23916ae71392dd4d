import { describe, expect, it } from 'vitest';
import { benchSearch, randomUnitVector, seededRandom } from '../../bench/bench-search';

describe('benchSearch', () => {
  it('fills a scratch store, starts from SQLite then from the sidecar, and reports latency, memory and recall', async () => {
    const messages: string[] = [];
    const r = await benchSearch({ vectors: 3000, dim: 64, queries: 50, seed: 7, onProgress: (m) => messages.push(m) });
    expect(r.vectors).toBe(3000);
    expect(r.queries).toBe(50);
    expect(r.recallAt10).toBe(1);
    expect(r.p50Ms).toBeGreaterThan(0);
    expect(r.p95Ms).toBeGreaterThanOrEqual(r.p50Ms);
    expect(r.minMs).toBeLessThanOrEqual(r.p50Ms);
    expect(r.loadMs).toBeGreaterThan(0);
    // The start-up it times is the one from the sidecar written by the first start (built from SQLite).
    expect(r.loadFrom).toBe('sidecar');
    // Header, one rows checksum (one block), then id (8 B) + scale (4 B) + 64 int8 values per row.
    expect(r.sidecarMB * 1024 * 1024).toBe(96 + 4 + 3000 * (8 + 4 + 64));
    // In memory: ids (8 B) + scales (4 B) per row, the id map (ids 1…3,000 addressed directly: 4,096 slots of
    // 4 B), and the int8 rows in whole 64 KiB pages after the scan's 104 KiB header (query + scratch): no float rows.
    expect(r.memoryMB * 1024 * 1024).toBe(3000 * (8 + 4) + 4096 * 4 + Math.ceil((106_496 + 3000 * 64) / 65_536) * 65_536);
    expect(r.dbMB).toBeGreaterThan((3000 * 64 * 4) / 1024 / 1024);
    expect(messages.some((m) => m.startsWith('loaded 3000 vectors from the sidecar'))).toBe(true);
  });

  it('draws seeded unit vectors', () => {
    const a = randomUnitVector(128, seededRandom(3));
    const b = randomUnitVector(128, seededRandom(3));
    expect(a).toEqual(b);
    expect(a.reduce((s, x) => s + x * x, 0)).toBeCloseTo(1, 5);
    expect(randomUnitVector(128, seededRandom(4))).not.toEqual(a);
  });
});
