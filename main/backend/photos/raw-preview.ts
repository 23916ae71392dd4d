/**
 * Camera RAW files through the JPEG preview the camera embeds: the fastest way in (no demosaicing) and what
 * photo browsers show. Found by content, not by name:
 * - TIFF-based RAW (DNG, CR2, NEF, NRW, ARW, SR2, SRF, PEF, SRW, 3FR, ERF, MEF, MOS, IIQ, DCR, KDC; ORF's "IIRO"
 *   and RW2's "IIU" variants): a TIFF whose IFDs hold sensor data (CFA or LinearRaw photometric, a DNGVersion, or
 *   CR2's marker); the largest baseline JPEG among every IFD, SubIFD and RW2's JpgFromRaw tag is the preview.
 * - RAF (Fujifilm): the header points at the embedded JPEG.
 * - CR3 (Canon, ISO-BMFF): the PRVW preview (1620 px wide) in Canon's preview box.
 * A RAW file with no usable preview (an ORF whose full preview sits only in its maker notes, Sigma X3F, Minolta
 * MRW, Canon CRW, or a preview smaller than MIN_PREVIEW_SIDE) is skipped with that reason.
 */
import { ImageReadError } from './read-error';

/** A preview whose longer side is below this is a thumbnail, too small to search by or to show. */
export const MIN_PREVIEW_SIDE = 512;

export interface RawPreview {
  /** The kind of RAW file, for messages ("DNG", "CR2", "NEF or other TIFF-based RAW", ...). */
  kind: string;
  /** The embedded JPEG's bytes (a view into the file's buffer). */
  jpeg: Buffer;
  /** The RAW file's own EXIF orientation (1–8; previews seldom carry one). */
  orientation: number;
}

/** What the first bytes say: a RAW container this reader knows, or null (let sharp read it). */
export function rawKind(b: Uint8Array): string | null {
  if (b.length < 16) return null;
  const s = (o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));
  if (s(0, 16) === 'FUJIFILMCCD-RAW ') return 'RAF';
  if (s(4, 8) === 'ftypcrx ') return 'CR3';
  if (s(0, 4) === 'IIRO' || s(0, 4) === 'IIRS' || s(0, 4) === 'MMOR') return 'ORF';
  if (s(0, 4) === 'IIU\0') return 'RW2';
  if (s(0, 4) === 'FOVb') return 'X3F';
  if (s(0, 4) === '\0MRM') return 'MRW';
  if (s(0, 2) === 'II' && s(6, 8) === 'HEAPCCDR') return 'CRW';
  const tiff = (s(0, 4) === 'II*\0' || s(0, 4) === 'MM\0*');
  if (!tiff) return null;
  if (s(8, 2) === 'CR') return 'CR2';
  const t = walkTiff(b);
  if (t?.dng) return 'DNG';
  return t?.sensorData ? 'TIFF-based RAW' : null;
}

/** The embedded preview of a RAW file, or an ImageReadError saying why there is none. */
export function rawPreview(buf: Buffer, file: string, kind: string): RawPreview {
  let found: { jpeg: Buffer; orientation: number } | null = null;
  if (kind === 'RAF') found = rafPreview(buf);
  else if (kind === 'CR3') found = cr3Preview(buf);
  else if (kind === 'X3F' || kind === 'MRW' || kind === 'CRW') {
    throw new ImageReadError(file, `${kind} RAW files are not supported (no embedded preview this app can read): export a JPEG or DNG`);
  } else {
    const t = walkTiff(buf);
    if (!t) throw new ImageReadError(file, `truncated or corrupt ${kind} file`);
    const best = largest(buf, t.jpegs);
    if (best) found = { jpeg: best, orientation: t.orientation };
  }
  if (!found) throw new ImageReadError(file, `${kind} file without an embedded JPEG preview: not supported (export a JPEG or DNG)`);
  const size = jpegFrame(found.jpeg);
  if (!size) throw new ImageReadError(file, `the JPEG preview inside this ${kind} file is damaged`);
  if (Math.max(size.width, size.height) < MIN_PREVIEW_SIDE) {
    throw new ImageReadError(file, `the ${kind} file's embedded preview is only ${size.width}×${size.height} px, too small to search by: export a JPEG`);
  }
  return { kind, ...found };
}

interface TiffWalk {
  jpegs: { offset: number; length: number }[];
  orientation: number;
  dng: boolean;
  sensorData: boolean;
}

/** Every IFD of a TIFF-like file (IFD chain, SubIFDs, EXIF IFD): preview candidates and what marks it as RAW. */
function walkTiff(b: Uint8Array): TiffWalk | null {
  const le = b[0] === 0x49;
  const u16 = (o: number) => (le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1]);
  const u32 = (o: number) => (le ? (u16(o) | (u16(o + 2) * 0x10000)) >>> 0 : (u16(o) * 0x10000 + u16(o + 2)) >>> 0);
  const out: TiffWalk = { jpegs: [], orientation: 1, dng: false, sensorData: false };
  const seen = new Set<number>();
  const value = (e: number): number => (u16(e + 2) === 3 ? u16(e + 8) : u32(e + 8));
  const values = (e: number): number[] => {
    const type = u16(e + 2);
    const count = u32(e + 4);
    const size = type === 3 ? 2 : 4;
    if ((type !== 3 && type !== 4 && type !== 13) || count > 64) return [];
    const at = count * size <= 4 ? e + 8 : u32(e + 8);
    if (at + count * size > b.length) return [];
    return Array.from({ length: count }, (_, i) => (size === 2 ? u16(at + i * 2) : u32(at + i * 4)));
  };
  const visit = (off: number, depth: number, chain: boolean, top: boolean): void => {
    for (let n = 0; off > 0 && n < 16 && !seen.has(off) && off + 2 <= b.length; n++) {
      seen.add(off);
      const count = u16(off);
      if (count === 0 || off + 2 + count * 12 > b.length) return;
      const tags = new Map<number, number>();
      for (let i = 0; i < count; i++) tags.set(u16(off + 2 + i * 12), off + 2 + i * 12);
      const get = (t: number) => (tags.has(t) ? value(tags.get(t)!) : undefined);
      if (top && n === 0 && tags.has(0x0112)) out.orientation = get(0x0112)!;
      if (tags.has(0xc612)) out.dng = true;
      const photometric = get(0x0106);
      if (photometric === 32803 || photometric === 34892) out.sensorData = true;
      if (tags.has(0x0201) && tags.has(0x0202)) out.jpegs.push({ offset: get(0x0201)!, length: get(0x0202)! });
      // RW2's JpgFromRaw: an UNDEFINED-typed tag whose value is the whole JPEG.
      if (tags.has(0x002e) && u16(tags.get(0x002e)! + 2) === 7) out.jpegs.push({ offset: u32(tags.get(0x002e)! + 8), length: u32(tags.get(0x002e)! + 4) });
      const compression = get(0x0103);
      if ((compression === 6 || compression === 7) && tags.has(0x0111) && tags.has(0x0117)) {
        const offsets = values(tags.get(0x0111)!);
        const counts = values(tags.get(0x0117)!);
        if (offsets.length === 1 && counts.length === 1) out.jpegs.push({ offset: offsets[0], length: counts[0] });
      }
      if (depth < 3) {
        if (tags.has(0x014a)) for (const sub of values(tags.get(0x014a)!)) visit(sub, depth + 1, false, false);
        if (tags.has(0x8769)) visit(get(0x8769)!, depth + 1, false, false);
      }
      if (!chain) return;
      off = u32(off + 2 + count * 12);
    }
  };
  if (b.length < 8) return null;
  const first = u32(4);
  if (first < 8 || first >= b.length) return null;
  visit(first, 0, true, true);
  return out;
}

/** The candidate with the most pixels that is a JPEG sharp can decode (baseline or progressive). */
function largest(buf: Buffer, candidates: { offset: number; length: number }[]): Buffer | null {
  let best: Buffer | null = null;
  let bestPixels = 0;
  for (const c of candidates) {
    if (c.length < 4 || c.offset + c.length > buf.length) continue;
    const jpeg = buf.subarray(c.offset, c.offset + c.length);
    const f = jpegFrame(jpeg);
    if (f && f.width * f.height > bestPixels) {
      best = jpeg;
      bestPixels = f.width * f.height;
    }
  }
  return best;
}

/** Size of a baseline, extended or progressive JPEG (SOF0–SOF2); null for lossless JPEG (raw sensor data) or junk. */
export function jpegFrame(b: Uint8Array): { width: number; height: number } | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  for (let p = 2; p + 9 <= b.length; ) {
    if (b[p] !== 0xff) return null;
    const m = b[p + 1];
    if (m === 0xff) {
      p++;
      continue;
    }
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      p += 2;
      continue;
    }
    if (m === 0xd9 || m === 0xda) return null;
    const len = (b[p + 2] << 8) | b[p + 3];
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (m > 0xc2) return null;
      const height = (b[p + 5] << 8) | b[p + 6];
      const width = (b[p + 7] << 8) | b[p + 8];
      return width > 0 && height > 0 ? { width, height } : null;
    }
    p += 2 + len;
  }
  return null;
}

/** RAF: big-endian offset and length of the embedded JPEG at bytes 84 and 88. */
function rafPreview(b: Buffer): { jpeg: Buffer; orientation: number } | null {
  if (b.length < 92) return null;
  const offset = b.readUInt32BE(84);
  const length = b.readUInt32BE(88);
  if (offset + length > b.length || length < 4) return null;
  return { jpeg: b.subarray(offset, offset + length), orientation: 1 };
}

/** CR3: the PRVW box inside Canon's preview uuid box (eaf42b5e-1c98-4b88-b9fb-b7dc406e4d16) at the top level. */
function cr3Preview(b: Buffer): { jpeg: Buffer; orientation: number } | null {
  const PREVIEW_UUID = 'eaf42b5e1c984b88b9fbb7dc406e4d16';
  for (let p = 0; p + 8 <= b.length; ) {
    let size = b.readUInt32BE(p);
    const type = b.toString('latin1', p + 4, p + 8);
    let header = 8;
    if (size === 1 && p + 16 <= b.length) {
      size = Number(b.readBigUInt64BE(p + 8));
      header = 16;
    } else if (size === 0) size = b.length - p;
    if (size < header || p + size > b.length) return null;
    if (type === 'uuid' && b.toString('hex', p + header, p + header + 16) === PREVIEW_UUID) {
      // uuid, 8 bytes, then the PRVW box: size, 'PRVW', 4 + 2 bytes, width, height, 2 bytes, JPEG length, JPEG.
      const at = b.indexOf('PRVW', p + header + 16, 'latin1');
      if (at < 0 || at + 20 > p + size) return null;
      const length = b.readUInt32BE(at + 16);
      const start = at + 20;
      if (start + length > b.length) return null;
      return { jpeg: b.subarray(start, start + length), orientation: 1 };
    }
    p += size;
  }
  return null;
}
