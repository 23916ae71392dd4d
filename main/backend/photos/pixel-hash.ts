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
  const [wr, wg, wb] = [0.299, 0.587, 0.114].map((l, c) => l * pre.std[c] * pre.rescale) as [number, number, number];
  const cellOf = Int32Array.from({ length: S }, (_, x) => Math.floor((x * N) / S));
  const sum = new Float64Array(N * N);
  const count = new Float64Array(N * N);
  // Channel c of pixel i is at i · step + c · plane.
  const [step, plane] = pre.layout === 'nchw' ? [1, n] : [3, 1];
  for (let y = 0; y < S; y++) {
    const row = cellOf[y]! * N;
    for (let x = 0, i = y * S * step; x < S; x++, i += step) {
      const cell = row + cellOf[x]!;
      sum[cell] += wr * tensor[i]! + wg * tensor[i + plane]! + wb * tensor[i + 2 * plane]!;
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
  for (let u = 0; u < LOW; u++) {
    for (let y = 0; y < N; y++) {
      const c = COS[u * N + y]!;
      for (let x = 0; x < N; x++) t[u * N + x] += c * grey[y * N + x]!;
    }
  }
  const bits = new Uint32Array(WORDS);
  for (let u = 0; u < LOW; u++) {
    for (let v = 0; v < LOW; v++) {
      if (u === 0 && v === 0) continue;
      let c = 0;
      for (let x = 0; x < N; x++) c += COS[v * N + x]! * t[u * N + x]!;
      const k = u * LOW + v;
      if (c > 0) bits[k >>> 5] |= 1 << (k & 31);
    }
  }
  let hex = '';
  for (let w = WORDS - 1; w >= 0; w--) hex += bits[w]!.toString(16).padStart(8, '0');
  return hex;
}

/** The hash of a prepared tensor (what the indexer has in hand before the tower runs). */
export function pixelHashOfTensor(tensor: Float32Array, pre: ImagePreprocess): string {
  return pixelHash(greyFromTensor(tensor, pre));
}

// ---- orientations ------------------------------------------------------------------------------------

const bitMask = (keep: (u: number, v: number) => boolean): Uint32Array => {
  const m = new Uint32Array(WORDS);
  for (let u = 0; u < LOW; u++) for (let v = 0; v < LOW; v++) if ((u || v) && keep(u, v)) m[(u * LOW + v) >>> 5] |= 1 << ((u * LOW + v) & 31);
  return m;
};
/** Bits that flip when the photo is mirrored left-right (odd horizontal frequencies), upside down (odd vertical ones), or both. */
const FLIPS = [bitMask(() => false), bitMask((_, v) => v % 2 === 1), bitMask((u) => u % 2 === 1), bitMask((u, v) => (u + v) % 2 === 1)];
/** Where each bit goes when the photo is transposed: frequency (u, v) becomes (v, u). */
const TRANSPOSED = Uint16Array.from({ length: LOW * LOW }, (_, k) => (k % LOW) * LOW + Math.floor(k / LOW));

/** The hash's 32-bit words (word w holds bits 32w to 32w + 31). */
function words(hex: string): Uint32Array {
  const out = new Uint32Array(WORDS);
  for (let w = 0; w < WORDS; w++) out[w] = parseInt(hex.slice(hex.length - 8 * (w + 1), hex.length - 8 * w), 16);
  return out;
}

/**
 * The hash as it would be for each of the photo's 8 orientations (the 4 rotations, each also mirrored),
 * its own first, each as PIXEL_HASH_WORDS 32-bit words.
 */
export function orientedHashes(hex: string): Uint32Array {
  const own = words(hex);
  const transposed = new Uint32Array(WORDS);
  for (let k = 0; k < LOW * LOW; k++) if ((own[k >>> 5]! >>> (k & 31)) & 1) transposed[TRANSPOSED[k]! >>> 5] |= 1 << (TRANSPOSED[k]! & 31);
  const out = new Uint32Array(8 * WORDS);
  let i = 0;
  for (const base of [own, transposed]) for (const flip of FLIPS) for (let w = 0; w < WORDS; w++) out[i++] = base[w]! ^ flip[w]!;
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
