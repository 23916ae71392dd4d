import { describe, expect, it } from 'vitest';
import { findDuplicates } from '../../main/backend/search/duplicates';
import { orientedHashes, pixelDistance, pixelHash, pixelSimilarity, PIXEL_HASH_BITS } from '../../main/backend/photos/pixel-hash';
import { seededRandom } from '../../shared/random';

const N = 32;

/** A random 32×32 grey image: a few soft blobs over texture, like a photo reduced to 32×32. */
function image(seed: number): Float64Array {
  const rng = seededRandom(seed);
  const blobs = Array.from({ length: 6 }, () => ({ x: rng() * N, y: rng() * N, r: 3 + rng() * 10, v: rng() * 255 - 128 }));
  return Float64Array.from({ length: N * N }, (_, i) => {
    const x = i % N;
    const y = Math.floor(i / N);
    return 128 + (rng() - 0.5) * 80 + blobs.reduce((s, b) => s + b.v * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.r * b.r)), 0);
  });
}

/** The image turned a quarter clockwise, turned upside down, or mirrored left-right. */
const turn = (g: Float64Array) => Float64Array.from({ length: N * N }, (_, i) => g[(N - 1 - (i % N)) * N + Math.floor(i / N)]!);
const upsideDown = (g: Float64Array) => Float64Array.from({ length: N * N }, (_, i) => g[N * N - 1 - i]!);
const mirror = (g: Float64Array) => Float64Array.from({ length: N * N }, (_, i) => g[Math.floor(i / N) * N + (N - 1 - (i % N))]!);

const distance = (a: Float64Array, b: Float64Array) => pixelDistance(orientedHashes(pixelHash(a)), orientedHashes(pixelHash(b)));

describe('pixel hash', () => {
  it('is 255 sign bits (64 hex digits) and the same for a turned or mirrored image in its closest orientation', () => {
    const g = image(1);
    const h = pixelHash(g);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(BigInt(`0x${h}`) & 1n).toBe(0n); // the constant frequency carries no bit
    for (const other of [turn(g), turn(turn(g)), turn(turn(turn(g))), upsideDown(g), mirror(g), mirror(turn(g))]) {
      expect(pixelHash(other)).not.toBe(h); // as stored, the hashes differ...
      expect(distance(g, other)).toBe(0); // ...and one of the 8 orientations matches exactly
    }
  });

  it('barely changes with noise and is far from a different image; similarity reads like a cosine', () => {
    const g = image(2);
    const rng = seededRandom(9);
    const noisy = g.map((v) => v + (rng() - 0.5) * 8);
    expect(distance(g, noisy)).toBeLessThan(26); // within the default 0.95 (see pixelSimilarity below)
    const others = Array.from({ length: 20 }, (_, i) => distance(g, image(100 + i)));
    expect(Math.min(...others)).toBeGreaterThan(60);
    expect(pixelSimilarity(0)).toBe(1);
    expect(pixelSimilarity(PIXEL_HASH_BITS / 2)).toBeCloseTo(0, 10);
    expect(pixelSimilarity(26)).toBeLessThan(0.95);
    expect(pixelSimilarity(25)).toBeGreaterThan(0.95);
  });
});

describe('findDuplicates with pixel hashes', () => {
  it('groups a turned copy whose embedding differs, scored by its pixels; not a different photo with a close embedding', async () => {
    const dim = 8;
    // Rows: 0 a photo, 1 its copy turned a quarter (pixels match, embedding far), 2 another photo whose
    // embedding is close to 0's but below the threshold, 3 an unrelated photo without a pixel hash.
    const e = (v: number[]) => {
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    const rows = [e([1, 0, 0, 0, 0, 0, 0, 0]), e([0.3, 1, 0, 0, 0, 0, 0, 0]), e([1, 0.4, 0, 0, 0, 0, 0, 0]), e([0, 0, 0, 1, 0, 0, 0, 0])];
    const g = image(3);
    const input = {
      ids: [10, 11, 12, 13],
      vectors: Float32Array.from(rows.flat()),
      dim,
      hashes: ['a', 'b', 'c', 'd'],
      pixelHashes: [pixelHash(g), pixelHash(turn(g)), pixelHash(image(4)), null],
    };
    expect(rows[0]!.reduce((s, x, j) => s + x * rows[2]![j]!, 0)).toBeLessThan(0.95);
    const groups = await findDuplicates(input, { threshold: 0.95 });
    expect(groups).toEqual([{ kind: 'near', ids: [10, 11], minScore: 1 }]);
    // Without pixel hashes, the same photos are compared by embedding alone: nothing reaches 0.95.
    expect(await findDuplicates({ ...input, pixelHashes: undefined }, { threshold: 0.95 })).toEqual([]);
  });
});
