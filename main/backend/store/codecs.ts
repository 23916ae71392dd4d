/**
 * Vectors as little-endian BLOBs (the platform order on every target we ship): embeddings are Float32;
 * cached tower features are IEEE float16 (schema 2; half the bytes, `dtype` says which, rows written before
 * schema 2 stay float32). Reads copy the bytes into a fresh Float32Array: a BLOB's Buffer may not be aligned.
 */
import { Float16Array } from '@petamoriken/float16';
import { StoreError } from './errors';

/** Float32Array → BLOB bytes (a view, no copy). */
export function vectorToBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** BLOB bytes → a fresh, aligned Float32Array (copy: the Buffer may start at any byte offset). */
export function blobToVector(b: Buffer): Float32Array {
  if (b.byteLength % 4 !== 0) throw new StoreError(`Corrupt vector in the library database (${b.byteLength} bytes).`);
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/**
 * Whether a stored embedding can be trusted: every value finite and the vector of unit length (every
 * embedding is L2-normalized before it is stored). Garbage bytes in a page give values like 3e37 or NaN,
 * which would rank a photo first for every query.
 */
export function isSoundEmbedding(v: Float32Array, dim?: number): boolean {
  if (v.length === 0 || (dim !== undefined && v.length !== dim)) return false;
  let sq = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!Number.isFinite(x)) return false;
    sq += x * x;
  }
  return Math.abs(Math.sqrt(sq) - 1) < 1e-3;
}

/** Largest finite IEEE float16. */
const F16_MAX = 65504;

export type FeatureDtype = 'float32' | 'float16';

/**
 * Tower features → BLOB bytes: float16 (half the bytes; ~3 significant digits, plenty for features that
 * go through a learned head), or float32 when a value would overflow float16 (|v| > 65504).
 */
export function featureToBlob(v: Float32Array): { blob: Buffer; dtype: FeatureDtype } {
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    if (a > F16_MAX && a !== Infinity) return { blob: vectorToBlob(v), dtype: 'float32' };
  }
  const h = new Float16Array(v);
  return { blob: Buffer.from(h.buffer, h.byteOffset, h.byteLength), dtype: 'float16' };
}

/** BLOB bytes of a cached feature → a fresh, aligned Float32Array. */
export function blobToFeature(b: Buffer, dtype: FeatureDtype): Float32Array {
  if (dtype === 'float32') return blobToVector(b);
  if (dtype !== 'float16') throw new StoreError(`Unknown feature type ${String(dtype)} in the library database.`);
  if (b.byteLength % 2 !== 0) throw new StoreError(`Corrupt feature vector in the library database (${b.byteLength} bytes).`);
  const bits = new Uint16Array(b.byteLength / 2);
  new Uint8Array(bits.buffer).set(b); // aligned copy
  const table = halfTable();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

let halfValues: Float32Array | null = null;
/**
 * The float32 value of every float16 bit pattern (256 KB, built once by the library). Indexing it is ~20×
 * faster than reading through the library's Float16Array (a Proxy), which matters when re-embedding 100k photos.
 */
function halfTable(): Float32Array {
  if (!halfValues) {
    const all = new Uint16Array(65536);
    for (let i = 0; i < all.length; i++) all[i] = i;
    halfValues = Float32Array.from(new Float16Array(all.buffer));
  }
  return halfValues;
}
