import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { prepareImage } from '../../main/backend/model/preprocess';
import type { ImagePreprocess } from '../../main/backend/model/types';
import { cropPrepared, flipPrepared } from '../../main/backend/model/views';
import { makeRng } from '../../main/backend/train/split';

/** A seeded random-noise PNG (no symmetry a flip could hide behind). */
async function noisePng(w: number, h: number, seed: number): Promise<Buffer> {
  const rng = makeRng(seed);
  const raw = Buffer.alloc(w * h * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(rng() * 256);
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}

describe('flipPrepared (the horizontally flipped training view)', () => {
  for (const layout of ['nchw', 'nhwc'] as const) {
    it(`equals preparing the mirrored photo (${layout})`, async () => {
      const pre: ImagePreprocess = { size: 16, resize: 'squash', rescale: 255, mean: [0.5, 0.4, 0.3], std: [0.2, 0.3, 0.4], layout };
      const png = await noisePng(40, 30, 5);
      const mirrored = await sharp(png).flop().png().toBuffer();
      const a = flipPrepared(await prepareImage(png, pre), layout);
      const b = await prepareImage(mirrored, pre);
      expect(a.tensor.length).toBe(16 * 16 * 3);
      let maxDiff = 0;
      for (let i = 0; i < a.tensor.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.tensor[i]! - b.tensor[i]!));
      // Resampling rounds to 8 bits: at most one step of 1/255 after the std division.
      expect(maxDiff).toBeLessThanOrEqual(1 / 255 / 0.2 + 1e-6);
      // And it is a real flip: not the original tensor.
      const orig = await prepareImage(png, pre);
      let moved = 0;
      for (let i = 0; i < a.tensor.length; i++) moved += Math.abs(a.tensor[i]! - orig.tensor[i]!);
      expect(moved / a.tensor.length).toBeGreaterThan(0.1);
      // Flipping twice gives back the original exactly.
      expect(Array.from(flipPrepared(a, layout).tensor)).toEqual(Array.from(orig.tensor));
    });
  }

  it('refuses a tensor that is not a square image', () => {
    expect(() => flipPrepared({ tensor: new Float32Array(3 * 10), width: 5, height: 2 }, 'nchw')).toThrow(/not square/);
  });
});

describe('cropPrepared (the cropped training views)', () => {
  const S = 20;
  /** A prepared tensor whose every channel of pixel (y, x) holds f(y, x), in the given layout. */
  const tensorOf = (layout: 'nchw' | 'nhwc', f: (y: number, x: number, c: number) => number) => {
    const t = new Float32Array(S * S * 3);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) t[layout === 'nchw' ? (c * S + y) * S + x : (y * S + x) * 3 + c] = f(y, x, c);
    return { tensor: t, width: S, height: S };
  };

  for (const layout of ['nchw', 'nhwc'] as const) {
    it(`maps each output pixel to its place in the crop, in both axes (${layout})`, () => {
      // Bilinear resampling of a linear ramp is exact, so every output value names the input position it came from.
      const ramp = tensorOf(layout, (y, x, c) => 1000 * c + 10 * y + x);
      for (const [side, fx, fy] of [[0.8, 0.5, 0.5], [0.85, 0, 0], [0.85, 1, 1]] as const) {
        const out = cropPrepared(ramp, layout, side, fx, fy);
        const x0 = fx * (S - side * S);
        const y0 = fy * (S - side * S);
        const want = tensorOf(layout, (y, x, c) => 1000 * c + 10 * (y0 + (y + 0.5) * side - 0.5) + (x0 + (x + 0.5) * side - 0.5));
        // Away from the border rows/columns, where the source position is clamped to the photo.
        for (let y = 1; y < S - 1; y++) for (let x = 1; x < S - 1; x++) for (let c = 0; c < 3; c++) {
          const i = layout === 'nchw' ? (c * S + y) * S + x : (y * S + x) * 3 + c;
          expect(out.tensor[i]).toBeCloseTo(want.tensor[i]!, 3);
        }
      }
    });
  }

  it('a full-size crop is the photo itself; corner crops lean towards their corner', async () => {
    const pre: ImagePreprocess = { size: 16, resize: 'squash', rescale: 255, mean: [0, 0, 0], std: [1, 1, 1], layout: 'nhwc' };
    const orig = await prepareImage(await noisePng(40, 30, 9), pre);
    const same = cropPrepared(orig, 'nhwc', 1, 0.5, 0.5);
    for (let i = 0; i < orig.tensor.length; i++) expect(same.tensor[i]).toBeCloseTo(orig.tensor[i]!, 5);
    // White top-left quarter on black: the top-left crop shows more of it, the bottom-right crop less.
    const quarter = tensorOf('nhwc', (y, x) => (y < S / 2 && x < S / 2 ? 1 : 0));
    const mean = (t: Float32Array) => t.reduce((a, b) => a + b, 0) / t.length;
    expect(mean(cropPrepared(quarter, 'nhwc', 0.85, 0, 0).tensor)).toBeGreaterThan(mean(quarter.tensor) + 0.05);
    expect(mean(cropPrepared(quarter, 'nhwc', 0.85, 1, 1).tensor)).toBeLessThan(mean(quarter.tensor) - 0.05);
    expect(() => cropPrepared({ tensor: new Float32Array(3 * 10), width: 5, height: 2 }, 'nhwc', 0.8, 0.5, 0.5)).toThrow(/not square/);
  });
});
