/**
 * Decoded photo → image tower input: rescale + mean/std into the tower's layout. Decoding itself (sharp,
 * EXIF rotation, resize, skip reasons) belongs to the photo library (photos/decode.ts).
 */
import { decodeImage, type DecodeOptions } from '../photos/decode';
import type { ImagePreprocess, PreparedImage } from './types';

/** Decode, rotate per EXIF, resize and normalize one photo for the image tower. */
export async function prepareImage(input: string | Buffer, pre: ImagePreprocess, opts: DecodeOptions = {}): Promise<PreparedImage> {
  const { data, channels, width, height } = await decodeImage(input, pre, opts);
  return { tensor: normalize(data, channels, pre), width, height };
}

// Tensors the indexer hands back once the tower has copied them: a fresh 0.6 MB Float32Array per photo
// costs more CPU (allocation, page faults, GC) than filling it (docs/BENCHMARKS.md, "Indexing throughput").
const spareTensors: Float32Array[] = [];
const MAX_SPARE_TENSORS = 32;

/** Give back a prepared tensor nothing reads any more; normalize reuses it. */
export function recycleTensor(t: Float32Array): void {
  if (spareTensors.length < MAX_SPARE_TENSORS) spareTensors.push(t);
}

/** uint8 HWC (3+ channels) → float32 in the tower's layout: (x / rescale - mean) / std. */
export function normalize(data: Uint8Array, channels: number, pre: ImagePreprocess): Float32Array {
  const n = pre.size * pre.size;
  const spare = spareTensors.pop();
  const out = spare?.length === n * 3 ? spare : new Float32Array(n * 3); // every value is written below
  // A 256-entry table per channel (the same float32 values as the arithmetic), one pass over the pixels.
  const lut = (c: number) => Float32Array.from({ length: 256 }, (_, v) => (v / pre.rescale - pre.mean[c]) / pre.std[c]);
  const r = lut(0);
  const g = lut(1);
  const b = lut(2);
  const px = new Uint8Array(data.buffer, data.byteOffset, n * channels); // a plain view: Buffer access is slower
  if (pre.layout === 'nchw') {
    for (let i = 0, j = 0; i < n; i++, j += channels) {
      out[i] = r[px[j]];
      out[n + i] = g[px[j + 1]];
      out[2 * n + i] = b[px[j + 2]];
    }
  } else {
    for (let i = 0, j = 0, k = 0; i < n; i++, j += channels, k += 3) {
      out[k] = r[px[j]];
      out[k + 1] = g[px[j + 1]];
      out[k + 2] = b[px[j + 2]];
    }
  }
  return out;
}
