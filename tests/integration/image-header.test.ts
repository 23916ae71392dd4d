/**
 * The JS header reader must give what sharp's metadata() and exifr give (size, EXIF orientation,
 * DateTimeOriginal), and null whenever it is unsure, so the caller falls back to them.
 */
import exifr from 'exifr';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { orientedSize, readImageHeader } from '../../main/backend/photos/header';

const base = () => sharp({ create: { width: 30, height: 20, channels: 3, background: { r: 200, g: 10, b: 10 } } });

async function reference(buf: Buffer) {
  const m = await sharp(buf).metadata();
  const e = (await exifr.parse(buf, { pick: ['DateTimeOriginal'], reviveValues: false }).catch(() => undefined)) as { DateTimeOriginal?: string } | undefined;
  return { width: m.autoOrient.width, height: m.autoOrient.height, orientation: m.orientation ?? 1, date: e?.DateTimeOriginal ?? null };
}

/** A JPEG header only (SOI, APP1 Exif in big-endian "MM" order, SOF0): what some cameras write. */
function bigEndianJpeg(orientation: number, date: string): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 2 * 12 + 4 + 2 + 12 + 4 + 20);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(8, 4);
  tiff.writeUInt16BE(2, 8); // IFD0: 2 entries
  tiff.writeUInt16BE(0x0112, 10); // Orientation, SHORT, 1
  tiff.writeUInt16BE(3, 12);
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt16BE(orientation, 18);
  tiff.writeUInt16BE(0x8769, 22); // ExifIFD pointer, LONG, 1
  tiff.writeUInt16BE(4, 24);
  tiff.writeUInt32BE(1, 26);
  const exifIfd = 8 + 2 + 24 + 4;
  tiff.writeUInt32BE(exifIfd, 30);
  tiff.writeUInt16BE(1, exifIfd); // Exif IFD: DateTimeOriginal, ASCII, 20
  tiff.writeUInt16BE(0x9003, exifIfd + 2);
  tiff.writeUInt16BE(2, exifIfd + 4);
  tiff.writeUInt32BE(20, exifIfd + 6);
  tiff.writeUInt32BE(exifIfd + 2 + 12 + 4, exifIfd + 10);
  tiff.write(`${date}\0`, exifIfd + 2 + 12 + 4, 'latin1');
  const app1 = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const seg = (marker: number, body: Buffer) => Buffer.concat([Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255]), body]);
  const sof = Buffer.from([8, 0, 40, 0, 70, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]); // 70 × 40, 3 components
  return Buffer.concat([Buffer.from([0xff, 0xd8]), seg(0xe1, app1), seg(0xc0, sof)]);
}

describe('readImageHeader', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('JPEG with EXIF orientation %i and DateTimeOriginal: same as sharp + exifr', async (o) => {
    const buf = await base().jpeg().withExif({ IFD2: { DateTimeOriginal: '2021:05:03 10:20:30' } }).withMetadata({ orientation: o }).toBuffer();
    const h = readImageHeader(buf)!;
    const ref = await reference(buf);
    expect({ ...orientedSize(h), orientation: h.orientation, date: h.dateTimeOriginal }).toEqual(ref);
    expect(h.format).toBe('jpeg');
  });

  it('JPEG without EXIF, and PNG: size, orientation 1, no date', async () => {
    for (const buf of [await base().jpeg().toBuffer(), await base().png().toBuffer(), await base().jpeg({ progressive: true }).toBuffer()]) {
      const h = readImageHeader(buf)!;
      expect({ ...orientedSize(h), orientation: h.orientation, date: h.dateTimeOriginal }).toEqual(await reference(buf));
    }
  });

  it('big-endian EXIF (MM)', async () => {
    const h = readImageHeader(bigEndianJpeg(6, '2019:12:31 23:59:58'))!;
    expect(h).toEqual({ format: 'jpeg', width: 70, height: 40, orientation: 6, dateTimeOriginal: '2019:12:31 23:59:58', offset: null, hasGps: false });
    expect(orientedSize(h)).toEqual({ width: 40, height: 70 });
  });

  it('returns null when unsure: other formats, truncated headers, bad EXIF, not an image', async () => {
    const jpeg = await base().jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    expect(readImageHeader(jpeg.subarray(0, sof))).toBeNull(); // cut before the frame header
    expect(readImageHeader(bigEndianJpeg(9, '2019:12:31 23:59:58'))).toBeNull(); // orientation out of range
    const badTiff = bigEndianJpeg(6, '2019:12:31 23:59:58');
    badTiff.writeUInt32BE(0xffff, 2 + 4 + 6 + 4); // IFD0 offset (SOI, APP1 marker + length, "Exif\0\0", TIFF +4) past the segment
    expect(readImageHeader(badTiff)).toBeNull();
    expect(readImageHeader(await base().webp().toBuffer())).toBeNull();
    expect(readImageHeader(await base().png().withExif({ IFD0: { Copyright: 'x' } }).toBuffer())).toBeNull(); // PNG eXIf: left to sharp
    expect(readImageHeader(Buffer.from('not an image at all'))).toBeNull();
    expect(readImageHeader(Buffer.alloc(0))).toBeNull();
  });
});
