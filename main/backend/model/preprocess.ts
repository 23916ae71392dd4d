/**
 * Photo → tower input: one sharp pipeline per photo (EXIF rotation, resize, sRGB, no alpha), then
 * rescale + mean/std into the tower's layout. Bad files throw an ImageReadError with a one-line reason.
 */
import exifr from 'exifr';
import sharp from 'sharp';
import { MAX_PHOTO_BYTES, readRegularFile, UnsafeFileError } from '../fs/safe-read';
import { orientedSize, readImageHeader, type ImageHeader } from './image-header';
import type { ImagePreprocess, PreparedImage } from './types';

/** Larger photos are refused before decoding: a decompression bomb must not exhaust memory. */
export const DEFAULT_PIXEL_LIMIT = 100_000_000;

export interface DecodeOptions {
  /** Maximum width × height accepted (default 100 megapixels). */
  limitInputPixels?: number;
}

/** A photo that cannot be used; `reason` is the short phrase the indexer records ("not an image", ...). */
export class ImageReadError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Cannot use ${file}: ${reason}.`, options);
    this.name = 'ImageReadError';
  }
}

function label(input: string | Buffer): string {
  return typeof input === 'string' ? input : '<image data>';
}

async function readInput(input: string | Buffer): Promise<Buffer> {
  let buf: Buffer;
  if (typeof input === 'string') {
    try {
      buf = await readRegularFile(input, MAX_PHOTO_BYTES);
    } catch (e) {
      throw new ImageReadError(input, describeImageError(e), { cause: e });
    }
  } else buf = input;
  if (buf.length === 0) throw new ImageReadError(label(input), 'empty file');
  return buf;
}

/** Throw the "too large" reason with the real size (sharp's own message does not say it). */
async function tooLarge(buf: Buffer, file: string, limit: number, cause: unknown): Promise<never> {
  let mp = '';
  try {
    const m = await sharp(buf, { limitInputPixels: false }).metadata();
    mp = `${((m.width * m.height) / 1e6).toFixed(1)} megapixels > `;
  } catch {
    // keep the generic wording
  }
  throw new ImageReadError(file, `image too large (${mp}limit of ${(limit / 1e6).toFixed(0)} megapixels)`, { cause });
}

/**
 * JPEG/PNG header read in JS (microseconds; a sharp metadata() pass costs as much as a small decode), with
 * the EXIF-rotated size, refused above the pixel limit. null: another format, or one the JS reader is unsure
 * of — ask sharp.
 */
async function headerWithinLimit(buf: Buffer, file: string, limit: number): Promise<(ImageHeader & { width: number; height: number }) | null> {
  const header = readImageHeader(buf);
  if (!header) return null;
  const size = orientedSize(header);
  if (size.width * size.height > limit) await tooLarge(buf, file, limit, null);
  return { ...header, ...size };
}

/** Decode, rotate per EXIF, resize and normalize one photo for the image tower. */
export async function prepareImage(input: string | Buffer, pre: ImagePreprocess, opts: DecodeOptions = {}): Promise<PreparedImage> {
  const { data, channels, width, height } = await decodeImage(input, pre, opts);
  return { tensor: normalize(data, channels, pre), width, height };
}

/** The sharp half of prepareImage: uint8 HWC pixels at the tower's size, and the original (rotated) size. */
export async function decodeImage(
  input: string | Buffer,
  pre: ImagePreprocess,
  opts: DecodeOptions = {},
): Promise<{ data: Buffer; channels: number; width: number; height: number }> {
  const file = label(input);
  const limit = opts.limitInputPixels ?? DEFAULT_PIXEL_LIMIT;
  const buf = await readInput(input);
  // 'error' (not the default 'warning'): truncated/corrupt data throws, while the harmless libjpeg warnings
  // many cameras trigger ("extraneous bytes before marker") do not cost the user a photo.
  const img = sharp(buf, { failOn: 'error', limitInputPixels: limit, sequentialRead: true });
  let width: number;
  let height: number;
  const header = await headerWithinLimit(buf, file, limit);
  if (header) {
    ({ width, height } = header);
  } else {
    try {
      const meta = await img.metadata();
      width = meta.autoOrient?.width ?? meta.width;
      height = meta.autoOrient?.height ?? meta.height;
    } catch (e) {
      if (/pixel limit/i.test(String((e as Error)?.message))) await tooLarge(buf, file, limit, e);
      throw new ImageReadError(file, describeImageError(e), { cause: e });
    }
  }
  const fit = pre.resize === 'cover' ? 'cover' : pre.resize === 'contain' ? 'contain' : 'fill';
  let data: Buffer;
  let channels: number;
  try {
    const out = await img
      .rotate()
      .resize(pre.size, pre.size, { fit, position: 'centre', kernel: 'cubic', background: { r: 0, g: 0, b: 0 } })
      // Transparent pixels become white (what a viewer shows), then drop alpha: the tower takes 3 channels.
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    data = out.data;
    channels = out.info.channels;
    if (out.info.width !== pre.size || out.info.height !== pre.size) throw new Error(`resize gave ${out.info.width}x${out.info.height}`);
  } catch (e) {
    if (/pixel limit/i.test(String((e as Error)?.message))) await tooLarge(buf, file, limit, e);
    throw new ImageReadError(file, describeImageError(e), { cause: e });
  }
  return { data, channels, width, height };
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

export interface ImageInfo {
  /** EXIF-rotated dimensions. */
  width: number;
  height: number;
  format: string;
  /** EXIF DateTimeOriginal as local time "YYYY-MM-DDTHH:mm:ss" (no zone: cameras do not record one), or null. */
  takenAt: string | null;
}

/** Header-only read: dimensions, format and capture time, without decoding pixels. */
export async function readImageInfo(input: string | Buffer, opts: DecodeOptions = {}): Promise<ImageInfo> {
  const file = label(input);
  const limit = opts.limitInputPixels ?? DEFAULT_PIXEL_LIMIT;
  const buf = await readInput(input);
  const header = await headerWithinLimit(buf, file, limit);
  if (header) {
    return { width: header.width, height: header.height, format: header.format, takenAt: exifDate(header.dateTimeOriginal) };
  }
  // Other formats, or a header the JS reader is unsure of: sharp + exifr.
  let meta: sharp.Metadata;
  try {
    meta = await sharp(buf, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new ImageReadError(file, describeImageError(e), { cause: e });
  }
  if (meta.width * meta.height > limit) await tooLarge(buf, file, limit, null);
  let takenAt: string | null = null;
  try {
    // Raw strings, so the value does not depend on the machine's time zone.
    const exif = (await exifr.parse(buf, { pick: ['DateTimeOriginal'], reviveValues: false })) as { DateTimeOriginal?: unknown } | undefined;
    takenAt = exifDate(exif?.DateTimeOriginal);
  } catch {
    // Broken EXIF is not a reason to skip a photo.
  }
  return {
    width: meta.autoOrient?.width ?? meta.width,
    height: meta.autoOrient?.height ?? meta.height,
    format: meta.format,
    takenAt,
  };
}

function exifDate(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const m = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(v.trim());
  if (!m || m[1] === '0000') return null;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
}

/** Short, user-facing reason why a photo could not be read (no stack, no file name). */
export function describeImageError(e: unknown, _file?: string): string {
  if (e instanceof ImageReadError || e instanceof UnsafeFileError) return e.reason;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES' || code === 'EPERM') return 'unreadable (permission denied)';
  if (code === 'EISDIR') return 'is a folder, not a file';
  if (code === 'EMFILE' || code === 'ENFILE') return 'too many open files (try again)';
  const msg = String((e as Error)?.message ?? e);
  if (/buffer is empty|empty file/i.test(msg)) return 'empty file';
  if (/unsupported image format|input file is missing|not a known file format|bad seek|is not in a known format/i.test(msg)) return 'not an image';
  if (/pixel limit/i.test(msg)) return 'image too large';
  // sharp's prebuilt libvips reads HEIF containers only with AVIF inside: iPhone HEIC photos land here.
  if (/heif|heic/i.test(msg)) return 'unsupported or corrupt HEIC/HEIF image';
  if (/premature end|truncat|corrupt|invalid|bad|unexpected end|not enough|vipsjpeg|pngload|webp|gifload|tiff|heif|read error|decode/i.test(msg)) return 'truncated or corrupt image';
  return `could not decode image (${msg.split('\n')[0].slice(0, 120)})`;
}
