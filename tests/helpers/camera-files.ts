/**
 * Phone and camera files made at test time: HEIC (HEVC) through Debian's `heif-enc` (package libheif-examples,
 * which CI's .ci/run installs), RAW-like TIFF containers (DNG, NEF-like, CR2-like) holding an embedded full-size
 * JPEG preview, RAF and CR3 shells around a JPEG, and EXIF with dates, time-zone offsets and GPS written by sharp.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

export const HEIF_ENC = '/usr/bin/heif-enc';

/** Whether HEIC fixtures can be made here; on CI they must be (.ci/run installs libheif-examples). */
export function heifEncAvailable(): boolean {
  if (existsSync(HEIF_ENC)) return true;
  if (process.env.CI) throw new Error(`${HEIF_ENC} is missing: .ci/run installs libheif-examples for the HEIC tests.`);
  return false;
}

export interface ExifFields {
  date?: string;
  offset?: string;
  /** Decimal degrees. */
  gps?: { lat: number; lon: number };
}

/** GPS degrees as EXIF's three rationals ("38/1 43/1 3000/100"). */
function dms(deg: number): string {
  const a = Math.abs(deg);
  const d = Math.floor(a);
  const m = Math.floor((a - d) * 60);
  const s = Math.round(((a - d) * 60 - m) * 60 * 1000);
  return `${d}/1 ${m}/1 ${s}/1000`;
}

/** sharp's EXIF for these fields. */
export function exifFor(f: ExifFields): NonNullable<Parameters<sharp.Sharp['withExif']>[0]> {
  const exif: Record<string, Record<string, string>> = { IFD0: { Make: 'Photo Search', Model: 'Fixture Camera' } };
  if (f.date) exif.IFD2 = { DateTimeOriginal: f.date, ...(f.offset ? { OffsetTimeOriginal: f.offset } : {}) };
  if (f.gps) {
    exif.IFD3 = {
      GPSLatitudeRef: f.gps.lat >= 0 ? 'N' : 'S',
      GPSLatitude: dms(f.gps.lat),
      GPSLongitudeRef: f.gps.lon >= 0 ? 'E' : 'W',
      GPSLongitude: dms(f.gps.lon),
    };
  }
  return exif;
}

/** A JPEG of `pixels` (any sharp input) with these EXIF fields. */
export async function jpegWith(pixels: sharp.Sharp, f: ExifFields = {}, quality = 90): Promise<Buffer> {
  return pixels.withExif(exifFor(f)).jpeg({ quality }).toBuffer();
}

/** A HEIC (HEVC) file of `jpeg`'s pixels and EXIF, written to `file` by heif-enc. */
export function writeHeic(jpeg: Buffer, file: string, quality = 60): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-heic-'));
  try {
    const src = path.join(dir, 'in.jpg');
    writeFileSync(src, jpeg);
    execFileSync(HEIF_ENC, ['-q', String(quality), '-o', file, src], { stdio: 'ignore' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A little-endian TIFF written front to back: blobs and IFDs are appended, each returns its offset. */
class TiffWriter {
  private readonly chunks: Buffer[];
  private size: number;

  /** CR2's header is 16 bytes (its "CR" marker follows the TIFF header). */
  constructor(headerBytes = 8) {
    this.chunks = [Buffer.alloc(headerBytes)];
    this.size = headerBytes;
  }

  blob(b: Buffer): number {
    const at = this.size;
    this.chunks.push(b);
    this.size += b.length;
    if (b.length % 2) {
      this.chunks.push(Buffer.alloc(1));
      this.size++;
    }
    return at;
  }

  /** An IFD: [tag, type, value]; a number is one SHORT (type 3) or LONG (4) inline, a number[] LONGs, a Buffer out of line. */
  ifd(entries: [number, number, number | number[] | Buffer][], next = 0): number {
    const sorted = [...entries].sort((a, b) => a[0] - b[0]);
    const out = sorted.map(([tag, type, v]) => {
      if (typeof v === 'number') return { tag, type, count: 1, inline: v };
      if (Array.isArray(v)) {
        const b = Buffer.alloc(v.length * 4);
        v.forEach((x, i) => b.writeUInt32LE(x, i * 4));
        return v.length === 1 ? { tag, type, count: 1, inline: v[0] } : { tag, type, count: v.length, inline: this.blob(b) };
      }
      return { tag, type, count: v.length, inline: v.length <= 4 ? v.readUInt32LE(0) : this.blob(v) };
    });
    const buf = Buffer.alloc(2 + out.length * 12 + 4);
    buf.writeUInt16LE(out.length, 0);
    out.forEach((e, i) => {
      const o = 2 + i * 12;
      buf.writeUInt16LE(e.tag, o);
      buf.writeUInt16LE(e.type, o + 2);
      buf.writeUInt32LE(e.count, o + 4);
      if (e.type === 3 && e.count === 1) buf.writeUInt16LE(e.inline, o + 8);
      else buf.writeUInt32LE(e.inline, o + 8);
    });
    buf.writeUInt32LE(next, 2 + out.length * 12);
    return this.blob(buf);
  }

  finish(firstIfd: number, magic = 'II*\0'): Buffer {
    this.chunks[0].write(magic, 0, 'latin1');
    this.chunks[0].writeUInt32LE(firstIfd, 4);
    return Buffer.concat(this.chunks);
  }
}

const SHORT = 3;
const LONG = 4;
const ASCII = 2;
const UNDEFINED = 7;
const text = (s: string) => Buffer.from(`${s}\0`, 'latin1');

export type RawKind = 'dng' | 'nef' | 'cr2' | 'rw2' | 'raf' | 'cr3';

/**
 * A RAW-like file around `preview` (a JPEG, with its EXIF): the shapes real cameras use to carry their full-size
 * preview, beside a tiny thumbnail and a stand-in for the sensor data (CFA photometric) where the format has one.
 * `orientation` goes in the RAW file's IFD0 (previews seldom carry their own).
 */
export async function rawLike(kind: RawKind, preview: Buffer, orientation = 1): Promise<Buffer> {
  // (A preview that is not a JPEG makes a file with no usable preview at all.)
  const thumb = await sharp(preview).resize(160, 120, { fit: 'inside' }).jpeg({ quality: 60 }).toBuffer().catch(() => Buffer.from('no thumbnail'));
  const sensor = Buffer.alloc(64, 7);
  if (kind === 'raf') {
    const head = Buffer.alloc(160);
    head.write('FUJIFILMCCD-RAW 0201FF383501', 0, 'latin1');
    head.writeUInt32BE(160, 84);
    head.writeUInt32BE(preview.length, 88);
    return Buffer.concat([head, preview, sensor]);
  }
  if (kind === 'cr3') return cr3Like(preview, sensor);
  const w = new TiffWriter(kind === 'cr2' ? 16 : 8);
  const p = w.blob(preview);
  const t = w.blob(thumb);
  const r = w.blob(sensor);
  const raw = (photometric: number): [number, number, number | number[] | Buffer][] => [
    [0x0103, SHORT, 1],
    [0x0106, SHORT, photometric],
    [0x0111, LONG, [r]],
    [0x0117, LONG, [sensor.length]],
  ];
  const make: [number, number, Buffer] = [0x010f, ASCII, text('Photo Search')];
  if (kind === 'dng') {
    // IFD0 a small thumbnail, DNGVersion, SubIFDs: the full-size preview (JPEG, compression 7) and the CFA data.
    const full = w.ifd([[0x00fe, LONG, 1], [0x0103, SHORT, 7], [0x0111, LONG, [p]], [0x0117, LONG, [preview.length]]]);
    const sensorIfd = w.ifd([[0x00fe, LONG, 0], ...raw(32803)]);
    const ifd0 = w.ifd([[0x00fe, LONG, 1], [0x0103, SHORT, 7], [0x0111, LONG, [t]], [0x0117, LONG, [thumb.length]], make, [0x0112, SHORT, orientation], [0x014a, LONG, [full, sensorIfd]], [0xc612, 1, Buffer.from([1, 4, 0, 0])]]);
    return w.finish(ifd0);
  }
  if (kind === 'nef') {
    // IFD0 with SubIFDs: the preview by JPEGInterchangeFormat, then the CFA data.
    const full = w.ifd([[0x00fe, LONG, 1], [0x0103, SHORT, 6], [0x0201, LONG, p], [0x0202, LONG, preview.length]]);
    const sensorIfd = w.ifd([[0x00fe, LONG, 0], ...raw(32803)]);
    const ifd0 = w.ifd([[0x00fe, LONG, 1], make, [0x0112, SHORT, orientation], [0x014a, LONG, [full, sensorIfd]]]);
    return w.finish(ifd0);
  }
  if (kind === 'cr2') {
    // IFD0: the full-size preview by strip (compression 6); IFD1: the thumbnail; IFD3: the raw data; "CR" marker.
    const ifd3 = w.ifd([[0x0103, SHORT, 6], [0x0111, LONG, [r]], [0x0117, LONG, [sensor.length]]]);
    const ifd1 = w.ifd([[0x0201, LONG, t], [0x0202, LONG, thumb.length]], ifd3);
    const ifd0 = w.ifd([[0x0103, SHORT, 6], [0x0111, LONG, [p]], [0x0117, LONG, [preview.length]], make, [0x0112, SHORT, orientation]], ifd1);
    const b = w.finish(ifd0);
    b.write('CR', 8, 'latin1');
    b[10] = 2;
    return b;
  }
  // RW2: "IIU" magic; IFD0 holds the whole JPEG as JpgFromRaw (0x2e, UNDEFINED).
  const ifd0 = w.ifd([[0x002e, UNDEFINED, preview], [0x0112, SHORT, orientation], ...raw(32803)]);
  return w.finish(ifd0, 'IIU\0');
}

/** CR3: ftyp crx, Canon's preview uuid box holding PRVW + JPEG, and an mdat stand-in. */
async function cr3Like(preview: Buffer, sensor: Buffer): Promise<Buffer> {
  const ftyp = Buffer.alloc(24);
  ftyp.writeUInt32BE(24, 0);
  ftyp.write('ftypcrx ', 4, 'latin1');
  ftyp.write('crx isom', 16, 'latin1');
  const meta = await sharp(preview).metadata();
  const prvw = Buffer.alloc(24);
  prvw.writeUInt32BE(24 + preview.length, 0);
  prvw.write('PRVW', 4, 'latin1');
  prvw.writeUInt16BE(1, 12);
  prvw.writeUInt16BE(meta.width, 14);
  prvw.writeUInt16BE(meta.height, 16);
  prvw.writeUInt16BE(1, 18);
  prvw.writeUInt32BE(preview.length, 20);
  const body = Buffer.concat([Buffer.from('eaf42b5e1c984b88b9fbb7dc406e4d16', 'hex'), Buffer.alloc(8), prvw, preview]);
  const uuid = Buffer.alloc(8);
  uuid.writeUInt32BE(8 + body.length, 0);
  uuid.write('uuid', 4, 'latin1');
  const mdat = Buffer.alloc(8);
  mdat.writeUInt32BE(8 + sensor.length, 0);
  mdat.write('mdat', 4, 'latin1');
  return Buffer.concat([ftyp, uuid, body, mdat, sensor]);
}
