/**
 * A text box of the photo → the recognizer's input: the box is sampled (bilinear) straight into a strip
 * `height` pixels high, its width following the box's aspect ratio, so a rotated line comes out level in one
 * step. Boxes at least 1.5 times as high as wide are turned a quarter (PaddleOCR reads them so). Pixels are
 * written as PaddleOCR's recognizer wants them: BGR, (x / 255 − 0.5) / 0.5, channel-first.
 */
import type { RgbImage } from '../photos/text-image';
import type { TextBox } from './boxes';

export interface Strip {
  /** Channel-first BGR, `height` × `width`. */
  data: Float32Array;
  width: number;
}

/** The box as the text reads it: a quarter turn for tall boxes (vertical text, or a line turned 90°). */
export function readingFrame(b: TextBox): { origin: TextBox['origin']; u: TextBox['u']; v: TextBox['v'] } {
  const w = Math.hypot(b.u.x, b.u.y);
  const h = Math.hypot(b.v.x, b.v.y);
  if (h < 1.5 * w) return b;
  // np.rot90: the top-right corner becomes the origin; right becomes down, down becomes right.
  return { origin: { x: b.origin.x + b.u.x, y: b.origin.y + b.u.y }, u: b.v, v: { x: -b.u.x, y: -b.u.y } };
}

export function stripWidth(b: TextBox, height: number, maxWidth: number): number {
  const f = readingFrame(b);
  const w = Math.hypot(f.u.x, f.u.y);
  const h = Math.max(1, Math.hypot(f.v.x, f.v.y));
  return Math.max(8, Math.min(maxWidth, Math.ceil((height * w) / h)));
}

/** Sample box `b` of `img` into a strip `height` high and `width` wide. */
export function cropStrip(img: RgbImage, b: TextBox, height: number, width: number): Strip {
  const f = readingFrame(b);
  const plane = height * width;
  const out = new Float32Array(3 * plane);
  const { data, width: W, height: H } = img;
  for (let i = 0; i < height; i++) {
    const fv = (i + 0.5) / height;
    for (let j = 0; j < width; j++) {
      const fu = (j + 0.5) / width;
      // pixel centres sit at +0.5
      const sx = Math.min(W - 1, Math.max(0, f.origin.x + f.u.x * fu + f.v.x * fv - 0.5));
      const sy = Math.min(H - 1, Math.max(0, f.origin.y + f.u.y * fu + f.v.y * fv - 0.5));
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(W - 1, x0 + 1);
      const y1 = Math.min(H - 1, y0 + 1);
      const ax = sx - x0;
      const ay = sy - y0;
      const k = i * width + j;
      for (let c = 0; c < 3; c++) {
        const p00 = data[(y0 * W + x0) * 3 + c]!;
        const p01 = data[(y0 * W + x1) * 3 + c]!;
        const p10 = data[(y1 * W + x0) * 3 + c]!;
        const p11 = data[(y1 * W + x1) * 3 + c]!;
        const v = (p00 * (1 - ax) + p01 * ax) * (1 - ay) + (p10 * (1 - ax) + p11 * ax) * ay;
        out[(2 - c) * plane + k] = v / 127.5 - 1; // RGB → BGR planes
      }
    }
  }
  return { data: out, width };
}
