import { describe, expect, it } from 'vitest';
import { boxesFromMap, convexHull, minAreaRect } from '../../main/backend/text/boxes';
import { ctcDecode } from '../../main/backend/text/ctc';

const OPTS = { threshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5, maxBoxes: 50 };

/** A probability map with 0.9 inside the given predicate. */
function map(w: number, h: number, inside: (x: number, y: number) => boolean): Float32Array {
  const m = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) m[y * w + x] = inside(x, y) ? 0.9 : 0.05;
  return m;
}

describe('DB boxes', () => {
  it('finds an axis-aligned region, grown by the unclip ratio, in the map', () => {
    const boxes = boxesFromMap(map(200, 100, (x, y) => x >= 40 && x < 140 && y >= 40 && y < 60), 200, 100, OPTS);
    expect(boxes).toHaveLength(1);
    const b = boxes[0]!;
    // 100 × 20 region: grown by 100·20·1.5 / 240 = 12.5 px on each side
    expect(b.u.x).toBeCloseTo(125, 0);
    expect(b.v.y).toBeCloseTo(45, 0);
    expect(b.origin.x).toBeCloseTo(27.5, 0);
    expect(b.score).toBeCloseTo(0.9, 5);
  });

  it('gives a rotated line a rotated box that reads left to right', () => {
    const a = (-20 * Math.PI) / 180; // text rising to the right (y down)
    const cx = 150;
    const cy = 100;
    const inside = (x: number, y: number) => {
      const u = (x - cx) * Math.cos(a) + (y - cy) * Math.sin(a);
      const v = -(x - cx) * Math.sin(a) + (y - cy) * Math.cos(a);
      return Math.abs(u) < 80 && Math.abs(v) < 10;
    };
    const [b] = boxesFromMap(map(300, 200, inside), 300, 200, OPTS);
    expect(b).toBeDefined();
    expect(b!.u.x).toBeGreaterThan(0);
    expect((Math.atan2(b!.u.y, b!.u.x) * 180) / Math.PI).toBeCloseTo(-20, -0.5);
  });

  it('drops weak regions and keeps at most maxBoxes, the largest', () => {
    const weak = new Float32Array(100 * 100).fill(0.4); // above the threshold, below the box threshold
    expect(boxesFromMap(weak, 100, 100, OPTS)).toEqual([]);
    // 900 dots of 3 × 3 px: only the cap is kept
    const dots = map(300, 300, (x, y) => x % 10 < 3 && y % 10 < 3);
    const boxes = boxesFromMap(dots, 300, 300, { ...OPTS, maxBoxes: 40 });
    expect(boxes).toHaveLength(40);
  });

  it('orders boxes top to bottom, then left to right', () => {
    const m = map(300, 120, (x, y) => (y >= 10 && y < 30 && ((x >= 160 && x < 260) || (x >= 10 && x < 110))) || (y >= 70 && y < 90 && x >= 10 && x < 110));
    const boxes = boxesFromMap(m, 300, 120, OPTS);
    expect(boxes.map((b) => [Math.round(b.origin.x / 50), Math.round(b.origin.y / 50)])).toEqual([
      [0, 0],
      [3, 0],
      [0, 1],
    ]);
  });

  it('computes a hull and its minimum-area rectangle', () => {
    const hull = convexHull([
      { x: 0, y: 0 },
      { x: 4, y: 0 },
      { x: 4, y: 2 },
      { x: 0, y: 2 },
      { x: 2, y: 1 },
    ]);
    expect(hull).toHaveLength(4);
    const r = minAreaRect(hull)!;
    expect(r.w * r.h).toBeCloseTo(8, 6);
  });
});

describe('CTC decoding', () => {
  it('merges repeats, drops blanks and maps classes to the dictionary (last class: space)', () => {
    const chars = ['a', 'b', ' '];
    const classes = 4; // blank, a, b, space
    const steps = [1, 1, 0, 1, 3, 2, 2, 0];
    const probs = new Float32Array(steps.length * classes);
    steps.forEach((c, t) => (probs[t * classes + c] = 0.8));
    const d = ctcDecode(probs, 0, steps.length, classes, chars);
    expect(d.text).toBe('aa b');
    expect(d.score).toBeCloseTo(0.8, 6);
    expect(ctcDecode(probs, 0, steps.length, classes, chars, 2).text).toBe('a');
  });
});
