import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { prepareImage } from '../../main/backend/model/preprocess';
import type { ImagePreprocess } from '../../main/backend/model/types';
import { flipPrepared } from '../../main/backend/train/features';
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
