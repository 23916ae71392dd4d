/**
 * One photo's bytes → its lines of text, as the text pass reads them, in two steps so that the next photo can
 * be decoded while this one is read:
 *
 * 1. `decodeFirst`: a photo the detector would see at LOOK_FROM pixels or more is decoded only at LOOK_SIDE
 *    (shrink-on-load: a 12 MP JPEG decodes in about half the time), any other at up to DETECT_MAX_SIDE.
 * 2. `readDecoded`: a large photo is first looked at; when the look sees no text, that is the answer (no second
 *    decode, no full-size detection). Otherwise, and for every smaller photo, the photo is read at up to
 *    DETECT_MAX_SIDE (detection, then recognition where there are boxes).
 *
 * `look: false` reads every photo at full size at once (PHOTO_SEARCH_READ_TEXT=all). `readDecodedMany` reads several
 * at once: the ones read at once share detector runs (TextReader.readMany), the looked-at ones go one by one.
 */
import { decodeForText, type RgbImage } from '../photos/text-image';
import { DETECT_MAX_SIDE, LOOK_FROM, LOOK_SIDE, type TextLine, type TextReader } from './reader';

/** The side (longer) a photo of this size is first decoded at: the look's for a large photo, else the detector's. */
export function firstSide(width: number, height: number, look = true): number {
  return look && Math.min(Math.max(width, height), DETECT_MAX_SIDE) >= LOOK_FROM ? LOOK_SIDE : DETECT_MAX_SIDE;
}

/** A photo as first decoded: `look` when it is the small image of a first look. */
export interface FirstDecode {
  image: RgbImage;
  look: boolean;
}

export async function decodeFirst(buf: Buffer, file: string, maxPixels: number, look = true): Promise<FirstDecode> {
  let side = DETECT_MAX_SIDE;
  const image = await decodeForText(buf, (w, h) => (side = firstSide(w, h, look)), file, maxPixels);
  return { image, look: side === LOOK_SIDE && side < DETECT_MAX_SIDE };
}

/** The photo's lines; `stoppedByLook` when the first look saw no text (the photo was not read at full size). */
export interface PhotoLines {
  lines: TextLine[];
  stoppedByLook: boolean;
}

export async function readDecoded(reader: TextReader, first: FirstDecode, buf: Buffer, file: string, maxPixels: number): Promise<PhotoLines> {
  if (!first.look) return { lines: await reader.read(first.image), stoppedByLook: false };
  if (!(await reader.hasTextAt(first.image))) return { lines: [], stoppedByLook: true };
  const full = await decodeForText(buf, DETECT_MAX_SIDE, file, maxPixels);
  return { lines: await reader.read(full), stoppedByLook: false };
}

/** `readDecoded` for several photos; the photos read at once go through the detector together. */
export async function readDecodedMany(reader: TextReader, photos: readonly { first: FirstDecode; buf: Buffer; file: string }[], maxPixels: number): Promise<PhotoLines[]> {
  const out: PhotoLines[] = new Array(photos.length);
  const atOnce = photos.map((p, i) => i).filter((i) => !photos[i]!.first.look);
  const lines = await reader.readMany(atOnce.map((i) => photos[i]!.first.image));
  atOnce.forEach((i, n) => (out[i] = { lines: lines[n]!, stoppedByLook: false }));
  for (const [i, p] of photos.entries()) if (p.first.look) out[i] = await readDecoded(reader, p.first, p.buf, p.file, maxPixels);
  return out;
}
