/**
 * JPEG and PNG headers read in JavaScript: size, EXIF orientation and DateTimeOriginal, without a sharp call.
 * Indexing reads this for every photo, and a sharp metadata() pass plus an exifr parse cost ~0.3 ms of CPU
 * per photo (measured in docs/BENCHMARKS.md, "Indexing throughput"); this costs microseconds. Anything
 * unexpected returns null and the caller asks sharp, so odd files get exactly the old answer.
 */

export interface ImageHeader {
  format: 'jpeg' | 'png';
  /** Stored size, before EXIF rotation. */
  width: number;
  height: number;
  /** EXIF orientation 1–8 (1 when there is no EXIF). */
  orientation: number;
  /** The EXIF date taken as written ("YYYY:MM:DD HH:MM:SS"): DateTimeOriginal, else CreateDate, else ModifyDate; or null. */
  dateTimeOriginal: string | null;
  /** The offset tag that goes with that date as written ("+01:00": OffsetTimeOriginal, OffsetTimeDigitized, OffsetTime), or null. */
  offset: string | null;
  /** IFD0 points at a GPS IFD (the position itself is read by exifr, only for these files). */
  hasGps: boolean;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The header of a JPEG or PNG, or null (other formats, or anything this reader is unsure about). */
export function readImageHeader(buf: Uint8Array): ImageHeader | null {
  if (buf.length >= 4 && buf[0] === 0xff && buf[1] === 0xd8) return jpegHeader(buf);
  if (buf.length >= 33 && PNG_SIGNATURE.every((b, i) => buf[i] === b)) return pngHeader(buf);
  return null;
}

/** EXIF-rotated size: orientations 5–8 swap width and height. */
export function orientedSize(h: ImageHeader): { width: number; height: number } {
  return h.orientation >= 5 ? { width: h.height, height: h.width } : { width: h.width, height: h.height };
}

function jpegHeader(b: Uint8Array): ImageHeader | null {
  let exif: TiffFacts | null = null;
  let p = 2;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) return null;
    const m = b[p + 1];
    if (m === 0xff) {
      p++; // fill byte
      continue;
    }
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd8)) {
      p += 2; // markers without a length
      continue;
    }
    if (m === 0xd9 || m === 0xda) return null; // end of image / start of scan before any frame header
    const len = (b[p + 2] << 8) | b[p + 3];
    const s = p + 4;
    const end = p + 2 + len;
    if (len < 2 || end > b.length) return null;
    // The first APP1 "Exif\0\0" segment is the one decoders use.
    if (m === 0xe1 && !exif && len >= 8 && b[s] === 0x45 && b[s + 1] === 0x78 && b[s + 2] === 0x69 && b[s + 3] === 0x66 && b[s + 4] === 0 && b[s + 5] === 0) {
      exif = readTiff(b, s + 6, end);
      if (!exif) return null;
    }
    // SOF0–SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (len < 8) return null;
      const height = (b[s + 1] << 8) | b[s + 2];
      const width = (b[s + 3] << 8) | b[s + 4];
      if (width === 0 || height === 0) return null;
      return { format: 'jpeg', width, height, orientation: exif?.orientation ?? 1, dateTimeOriginal: exif?.date ?? null, offset: exif?.offset ?? null, hasGps: exif?.hasGps ?? false };
    }
    p = end;
  }
  return null;
}

interface TiffFacts {
  orientation: number;
  date: string | null;
  offset: string | null;
  hasGps: boolean;
}

/** IFD0 orientation, the date taken (see below) with its offset, and whether there is GPS, from a TIFF block; null when malformed. */
function readTiff(b: Uint8Array, start: number, end: number): TiffFacts | null {
  if (end - start < 8) return null;
  const le = b[start] === 0x49 && b[start + 1] === 0x49;
  if (!le && !(b[start] === 0x4d && b[start + 1] === 0x4d)) return null;
  const ok = (o: number, n: number) => o >= 0 && start + o + n <= end;
  const u16 = (o: number) => (le ? b[start + o] | (b[start + o + 1] << 8) : (b[start + o] << 8) | b[start + o + 1]);
  const u32 = (o: number) => (le ? (u16(o) | (u16(o + 2) * 0x10000)) >>> 0 : (u16(o) * 0x10000 + u16(o + 2)) >>> 0);
  if (u16(2) !== 42) return null;
  let orientation = 1;
  let exifIfd = -1;
  let hasGps = false;
  const ascii = (entry: number): string | null => {
    const count = u32(entry + 4);
    const at = count <= 4 ? entry + 8 : u32(entry + 8);
    if (u16(entry + 2) !== 2 || !ok(at, count)) return null;
    let s = '';
    for (let i = 0; i < count && b[start + at + i] !== 0; i++) s += String.fromCharCode(b[start + at + i]);
    return s;
  };
  const ifd = (off: number, visit: (tag: number, entry: number) => void): boolean => {
    if (!ok(off, 2)) return false;
    const n = u16(off);
    if (!ok(off + 2, n * 12)) return false;
    for (let i = 0; i < n; i++) visit(u16(off + 2 + i * 12), off + 2 + i * 12);
    return true;
  };
  // The date a photo was taken, most specific first: DateTimeOriginal (0x9003), CreateDate (0x9004, "digitized"),
  // then IFD0's ModifyDate (0x0132, "DateTime", which many scanners and editors write alone). Each tag in the EXIF
  // sub-IFD, else in IFD0; placeholders like "0000:00:00 00:00:00" do not count.
  const found = new Map<number, string>();
  const keep = (tag: number, e: number) => {
    // OffsetTime (0x9010, goes with ModifyDate), OffsetTimeOriginal (0x9011), OffsetTimeDigitized (0x9012).
    if (tag >= 0x9010 && tag <= 0x9012) {
      const v = ascii(e);
      if (v && !found.has(tag)) found.set(tag, v);
      return;
    }
    if (tag !== 0x9003 && tag !== 0x9004 && tag !== 0x0132) return;
    const v = ascii(e);
    if (v && /^[1-9]\d{3}:\d{2}:\d{2}[ T]\d{2}:\d{2}:\d{2}/.test(v.trim()) && !found.has(tag)) found.set(tag, v);
  };
  const ifd0 = new Map<number, number>();
  const good = ifd(u32(4), (tag, e) => {
    if (tag === 0x0112) orientation = u16(e + 2) === 3 ? u16(e + 8) : 0;
    else if (tag === 0x8769) exifIfd = u32(e + 8);
    else if (tag === 0x8825) hasGps = true;
    else ifd0.set(tag, e);
  });
  if (!good || orientation < 1 || orientation > 8) return null;
  const badExif = exifIfd >= 0 && !ifd(exifIfd, keep);
  if (badExif) return null;
  for (const [tag, e] of ifd0) keep(tag, e);
  const [date, offset] = found.has(0x9003) ? [0x9003, 0x9011] : found.has(0x9004) ? [0x9004, 0x9012] : [0x0132, 0x9010];
  return { orientation, date: found.get(date) ?? null, offset: found.get(date) ? (found.get(offset) ?? null) : null, hasGps };
}

function pngHeader(b: Uint8Array): ImageHeader | null {
  const u32 = (o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  const type = (o: number) => String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
  if (type(12) !== 'IHDR') return null;
  const width = u32(16);
  const height = u32(20);
  if (width === 0 || height === 0) return null;
  // An eXIf chunk can carry an orientation: leave those files to sharp. Chunks before the pixel data only.
  for (let p = 8; p + 8 <= b.length; ) {
    const t = type(p + 4);
    if (t === 'eXIf') return null;
    if (t === 'IDAT' || t === 'IEND') break;
    p += 12 + u32(p);
  }
  return { format: 'png', width, height, orientation: 1, dateTimeOriginal: null, offset: null, hasGps: false };
}
