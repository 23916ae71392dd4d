/**
 * Photo bytes → pixels, with sharp: EXIF rotation, the pixel limit, and the reason a file cannot be used.
 * Every decode is one sharp pipeline ending in a resize, so libvips shrinks JPEGs while loading (1/2, 1/4 or
 * 1/8 scale when the target is that much smaller): a 12 MP camera JPEG is decoded at ~500 × 375 for a 224 px
 * tower or a 256 px thumbnail, never at full size (docs/BENCHMARKS.md, "Real camera files").
 * The model turns these pixels into its tower's tensor (model/preprocess.ts); the library records the reasons.
 */
import sharp from 'sharp';
import { MAX_PHOTO_BYTES, readRegularFile } from '../fs/safe-read';
import { exifDate, exifOffset, NO_FACTS, readExifFacts } from './exif';
import { orientedSize, readImageHeader, type ImageHeader } from './header';
import { decodeHeic, isHeic } from './heic';
import { rawKind, rawPreview } from './raw-preview';
import { describeImageError, ImageReadError } from './read-error';

export { describeImageError, ImageReadError } from './read-error';

/** Larger photos are refused before decoding: a decompression bomb must not exhaust memory. */
export const DEFAULT_PIXEL_LIMIT = 100_000_000;

export interface DecodeOptions {
  /** Maximum width × height accepted (default 100 megapixels). */
  limitInputPixels?: number;
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

/** How a photo is fitted into the square the tower takes (the model's ImagePreprocess has these fields). */
export interface DecodeTarget {
  /** Side of the square, in pixels. */
  size: number;
  /** `cover` = resize the shorter side then center-crop, `contain` = letterbox on black, `squash` = ignore aspect. */
  resize: 'cover' | 'contain' | 'squash';
}

/** Decoded pixels: uint8 HWC at the target size (3 channels, sRGB), and the photo's EXIF-rotated size. */
export interface DecodedImage {
  data: Buffer;
  channels: number;
  width: number;
  height: number;
}

/**
 * A photo opened for a sharp pipeline, upright, with its upright size: the file itself (sharp reads JPEG, PNG,
 * WebP, GIF, TIFF, AVIF), a HEIC file's pixels decoded by libheif (heic.ts), or a RAW file's embedded JPEG preview
 * turned by the RAW file's orientation (raw-preview.ts).
 */
export interface Opened {
  img: sharp.Sharp;
  width: number;
  height: number;
}

export async function openPhoto(buf: Buffer, file: string, limit: number, failOn: 'error' | 'none'): Promise<Opened> {
  if (isHeic(buf)) {
    const px = await decodeHeic(buf, file, limit);
    return { img: sharp(px.data, { raw: { width: px.width, height: px.height, channels: px.channels } }), width: px.width, height: px.height };
  }
  const raw = rawKind(buf);
  if (raw) {
    const preview = rawPreview(buf, file, raw);
    const header = await headerWithinLimit(preview.jpeg, file, limit);
    if (!header) throw new ImageReadError(file, `the JPEG preview inside this ${raw} file is damaged`);
    const img = sharp(preview.jpeg, { failOn, limitInputPixels: limit, sequentialRead: true });
    // A preview with its own orientation says how to show it; most have none and follow the RAW file's.
    if (header.orientation !== 1 || preview.orientation === 1) return { img: img.rotate(), width: header.width, height: header.height };
    const o = preview.orientation;
    const swap = o >= 5 && o <= 8;
    turn(img, o);
    return { img, width: swap ? header.height : header.width, height: swap ? header.width : header.height };
  }
  // 'error' (not the default 'warning'): truncated/corrupt data throws, while the harmless libjpeg warnings
  // many cameras trigger ("extraneous bytes before marker") do not cost the user a photo.
  const img = sharp(buf, { failOn, limitInputPixels: limit, sequentialRead: true });
  const header = await headerWithinLimit(buf, file, limit);
  if (header) return { img: img.rotate(), width: header.width, height: header.height };
  try {
    const meta = await img.metadata();
    return { img: img.rotate(), width: meta.autoOrient?.width ?? meta.width, height: meta.autoOrient?.height ?? meta.height };
  } catch (e) {
    if (/pixel limit/i.test(String((e as Error)?.message))) await tooLarge(buf, file, limit, e);
    throw new ImageReadError(file, describeImageError(e), { cause: e });
  }
}

/** Apply EXIF orientation `o` (2–8) explicitly: sharp rotates first, then mirrors. */
function turn(img: sharp.Sharp, o: number): void {
  const angle = [0, 0, 0, 180, 180, 90, 90, 270, 270][o] ?? 0;
  if (angle) img.rotate(angle);
  if (o === 2 || o === 5 || o === 7) img.flop();
  if (o === 4) img.flip();
}

/** Decode, rotate per EXIF and resize one photo to the target square (shrink-on-load for JPEG). */
export async function decodeImage(
  input: string | Buffer,
  pre: DecodeTarget,
  opts: DecodeOptions = {},
): Promise<DecodedImage> {
  const file = label(input);
  const limit = opts.limitInputPixels ?? DEFAULT_PIXEL_LIMIT;
  const buf = await readInput(input);
  const { img, width, height } = await openPhoto(buf, file, limit, 'error');
  const fit = pre.resize === 'cover' ? 'cover' : pre.resize === 'contain' ? 'contain' : 'fill';
  let data: Buffer;
  let channels: number;
  try {
    const out = await img
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

export interface ImageInfo {
  /** EXIF-rotated dimensions. */
  width: number;
  height: number;
  format: string;
  /** EXIF date taken (DateTimeOriginal, else CreateDate, else ModifyDate) as local time "YYYY-MM-DDTHH:mm:ss" as the camera wrote it, or null. */
  takenAt: string | null;
  /** The offset from UTC the file records for that date ("+01:00"), or null (most cameras write none). */
  takenOffset: string | null;
  /** Where it was taken (EXIF GPS, decimal degrees), or null. */
  gps: { lat: number; lon: number } | null;
}

/** Header-only read: dimensions, format, capture time and place, without decoding pixels. */
export async function readImageInfo(input: string | Buffer, opts: DecodeOptions = {}): Promise<ImageInfo> {
  const file = label(input);
  const limit = opts.limitInputPixels ?? DEFAULT_PIXEL_LIMIT;
  const buf = await readInput(input);
  const header = await headerWithinLimit(buf, file, limit);
  if (header) {
    // The JS reader has the date; exifr is asked only for files whose EXIF has a GPS block.
    const gps = header.hasGps ? (await readExifFacts(buf)).gps : null;
    return { width: header.width, height: header.height, format: header.format, takenAt: exifDate(header.dateTimeOriginal), takenOffset: exifOffset(header.offset), gps };
  }
  const raw = rawKind(buf);
  if (raw) {
    const preview = rawPreview(buf, file, raw);
    const h = await headerWithinLimit(preview.jpeg, file, limit);
    if (!h) throw new ImageReadError(file, `the JPEG preview inside this ${raw} file is damaged`);
    const swap = h.orientation === 1 && preview.orientation >= 5 && preview.orientation <= 8;
    // TIFF-based RAW: exifr reads the file itself; RAF and CR3 keep a full EXIF in their preview.
    let facts = await readExifFacts(buf);
    if (!facts.takenAt && !facts.gps) facts = await readExifFacts(preview.jpeg);
    return { width: swap ? h.height : h.width, height: swap ? h.width : h.height, format: raw.toLowerCase(), ...facts };
  }
  // Other formats, or a header the JS reader is unsure of: sharp + exifr.
  let meta: sharp.Metadata;
  try {
    meta = await sharp(buf, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new ImageReadError(file, isHeic(buf) ? 'truncated or corrupt HEIC/HEIF image' : describeImageError(e), { cause: e });
  }
  if (meta.width * meta.height > limit) await tooLarge(buf, file, limit, null);
  // HEIC: libheif hands out upright pixels (its own rotation boxes), so the EXIF orientation does not turn it again.
  const heic = isHeic(buf);
  // The EXIF block sharp found (HEIC, WebP, PNG eXIf, TIFF, AVIF); exifr reads it without parsing the container.
  const facts = meta.exif ? await readExifFacts(meta.exif) : NO_FACTS;
  return {
    width: heic ? meta.width : (meta.autoOrient?.width ?? meta.width),
    height: heic ? meta.height : (meta.autoOrient?.height ?? meta.height),
    format: heic ? 'heic' : meta.format,
    ...facts,
  };
}

// libvips keeps one error buffer per process: when decodes fail concurrently, a message can come out
// empty ("Unknown error") or doubled. Re-decode the failed file alone to learn the real reason.
let diagnosing: Promise<unknown> = Promise.resolve();

/** The skip reason for a failed read or decode of `file`; vague decode errors are re-checked one at a time. */
export async function skipReason(e: unknown, file: string, buf: Buffer | null): Promise<string> {
  const first = describeImageError(e, file);
  if (!buf || !/^could not decode image/.test(first)) return first;
  const run = diagnosing.then(async () => {
    try {
      await sharp(buf, { failOn: 'error', limitInputPixels: false }).rotate().resize(8, 8).raw().toBuffer();
      return first;
    } catch (again) {
      return describeImageError(again, file);
    }
  });
  diagnosing = run.catch(() => undefined);
  return run;
}

/**
 * A JPEG rendition, `size` px on the longer side (never enlarged), EXIF rotation applied, transparency on
 * white: the thumbnails, and what a browser is shown for a photo it cannot show itself (HEIC, RAW, TIFF). One
 * pipeline, so a camera JPEG is shrunk while loading (a 12 MP photo decodes at 1/8 scale).
 * `failOn: 'none'`: a slightly damaged photo still gets the thumbnail of what can be read.
 */
export async function thumbnailJpeg(input: string | Buffer, size: number, opts: DecodeOptions & { quality?: number } = {}): Promise<Buffer> {
  const file = label(input);
  const limit = opts.limitInputPixels ?? DEFAULT_PIXEL_LIMIT;
  const buf = await readInput(input);
  const { img } = await openPhoto(buf, file, limit, 'none');
  try {
    return await img
      .resize(size, size, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .jpeg({ quality: opts.quality ?? 80 })
      .toBuffer();
  } catch (e) {
    throw new ImageReadError(file, describeImageError(e), { cause: e });
  }
}
