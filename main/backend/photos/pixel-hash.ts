/**
 * A perceptual hash of a photo's pixels, from the view the image tower is fed (already decoded, EXIF-rotated
 * and fitted to its square, so no second decode): that view in grey at 32×32, its 2-D DCT, and the signs of
 * the 16×16 lowest frequencies except the constant one: 255 bits, kept as 64 hex digits (bit 0, the
 * constant, is always 0). Resized and recompressed copies keep their low frequencies: on 40 Flickr8k photos
 * their hashes differed in at most 13 bits (50% and 25% resizes, JPEG quality 40), while 79,800 pairs of
 * different photos differed in 88 to 135 (docs/BENCHMARKS.md, "Near-duplicates by pixels"). The usual 64-bit
 * pHash (8×8) separated them far less (copies ≤ 3 bits, different photos from 10 of 63).
 *
 * The usual pHash compares each coefficient with their median; the sign (against zero, the mean being left
 * out) is used here so that the hash of a rotated or mirrored photo is an exact function of its hash:
 * mirroring left-right negates every odd horizontal frequency, upside-down every odd vertical one, and a
 * transpose swaps the two. A copy whose only difference is its EXIF rotation is then compared under each
 * of the 8 orientations without decoding either photo again.
 */
import type { ImagePreprocess } from '../model/types';

const N = 32;
const LOW = 16;
/** 32-bit words per hash (word w holds bits 32w to 32w + 31). */
export const PIXEL_HASH_WORDS = (LOW * LOW) / 32;
const WORDS = PIXEL_HASH_WORDS;
/** Bits that carry information (the 8×8 low frequencies but the constant). */
export const PIXEL_HASH_BITS = LOW * LOW - 1;
/** cos((2x + 1)uπ / 2N) for the LOW lowest frequencies u, row-major [u][x]. */
const COS = Float64Array.from({ length: LOW * N }, (_, i) => Math.cos(((2 * (i % N) + 1) * Math.floor(i / N) * Math.PI) / (2 * N)));

/** The tower's view (a prepared tensor) in grey, box-averaged to 32×32; the normalization is undone per channel. */
export function greyFromTensor(tensor: Float32Array, pre: ImagePreprocess): Float64Array {
  const S = pre.size;
  const n = S * S;
  // Luma weights on the normalized values: v = (x · std + mean) · rescale; the mean only shifts the constant term.
  const w = [0.299, 0.587, 0.114].map((l, c) => l * pre.std[c] * pre.rescale);
  const sum = new Float64Array(N * N);
  const count = new Float64Array(N * N);
  const nchw = pre.layout === 'nchw';
  for (let y = 0; y < S; y++) {
    const row = Math.floor((y * N) / S) * N;
    for (let x = 0; x < S; x++) {
      const i = y * S + x;
      const v = nchw ? w[0] * tensor[i] + w[1] * tensor[n + i] + w[2] * tensor[2 * n + i] : w[0] * tensor[3 * i] + w[1] * tensor[3 * i + 1] + w[2] * tensor[3 * i + 2];
      const cell = row + Math.floor((x * N) / S);
      sum[cell] += v;
      count[cell]++;
    }
  }
  for (let c = 0; c < N * N; c++) sum[c] /= count[c] || 1;
  return sum;
}

/** The hash of a 32×32 grey image (row-major), as 64 hex digits; bit u·16 + v is the sign of frequency (u down, v across). */
export function pixelHash(grey: Float64Array): string {
  // Rows first: t[u][x] = Σ_y COS[u][y] · grey[y][x]; then C[u][v] = Σ_x COS[v][x] · t[u][x].
  const t = new Float64Array(LOW * N);
  for (let u = 0; u < LOW; u++) for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) t[u * N + x] += COS[u * N + y] * grey[y * N + x];
  let bits = 0n;
  for (let u = 0; u < LOW; u++) {
    for (let v = 0; v < LOW; v++) {
      if (u === 0 && v === 0) continue;
      let c = 0;
      for (let x = 0; x < N; x++) c += COS[v * N + x] * t[u * N + x];
      if (c > 0) bits |= 1n << BigInt(u * LOW + v);
    }
  }
  return bits.toString(16).padStart((LOW * LOW) / 4, '0');
}

/** The hash of a prepared tensor (what the indexer has in hand before the tower runs). */
export function pixelHashOfTensor(tensor: Float32Array, pre: ImagePreprocess): string {
  return pixelHash(greyFromTensor(tensor, pre));
}

// ---- orientations ------------------------------------------------------------------------------------

const bitMask = (keep: (u: number, v: number) => boolean): bigint => {
  let m = 0n;
  for (let u = 0; u < LOW; u++) for (let v = 0; v < LOW; v++) if ((u || v) && keep(u, v)) m |= 1n << BigInt(u * LOW + v);
  return m;
};
/** Bits that flip when the photo is mirrored left-right (odd horizontal frequencies) or upside down (odd vertical ones). */
const ACROSS = bitMask((_, v) => v % 2 === 1);
const DOWN = bitMask((u) => u % 2 === 1);

function transpose(h: bigint): bigint {
  let out = 0n;
  for (let u = 0; u < LOW; u++) for (let v = 0; v < LOW; v++) if ((h >> BigInt(u * LOW + v)) & 1n) out |= 1n << BigInt(v * LOW + u);
  return out;
}

/**
 * The hash as it would be for each of the photo's 8 orientations (the 4 rotations, each also mirrored),
 * its own first, each as PIXEL_HASH_WORDS 32-bit words.
 */
export function orientedHashes(hex: string): Uint32Array {
  // BigInt: 8 orientations once per photo; the comparisons run on the 32-bit words.
  const h = BigInt(`0x${hex}`);
  const out = new Uint32Array(8 * WORDS);
  let i = 0;
  for (const base of [h, transpose(h)]) {
    for (const flip of [0n, ACROSS, DOWN, ACROSS ^ DOWN]) {
      const o = base ^ flip;
      for (let w = 0; w < WORDS; w++) out[i++] = Number((o >> BigInt(32 * w)) & 0xffffffffn);
    }
  }
  return out;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Differing bits between photo a (its own hash: the first orientation of orientedHashes) and photo b in b's closest orientation. */
export function pixelDistance(a: Uint32Array, b: Uint32Array): number {
  let best = PIXEL_HASH_BITS;
  for (let i = 0; i < 8 * WORDS; i += WORDS) {
    let d = 0;
    for (let w = 0; w < WORDS; w++) d += popcount(a[w] ^ b[i + w]);
    if (d < best) best = d;
  }
  return best;
}

/**
 * The distance on the embeddings' cosine scale, so one threshold serves both: cos(π · d / 255), the cosine
 * that d differing signs of 255 random projections stand for (SimHash). 13 bits → 0.987, 26 → 0.949,
 * 45 → 0.852, 88 → 0.467.
 */
export function pixelSimilarity(distance: number): number {
  return Math.cos((Math.PI * distance) / PIXEL_HASH_BITS);
}

/** Which view a hash was computed from (hashes of different views are not compared): how the photo was fitted. */
export function pixelViewOf(pre: Pick<ImagePreprocess, 'resize'>): string {
  return pre.resize;
}
