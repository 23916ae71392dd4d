/**
 * The date a photo was taken (issue 24): EXIF DateTimeOriginal, else CreateDate (DateTimeDigitized), else
 * ModifyDate (IFD0 DateTime, what scanners and editors often write alone), then the file time. Both readers: the
 * JPEG header reader and sharp + exifr (other formats).
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readImageInfo } from '../../main/backend/photos/decode';

const base = () => sharp({ create: { width: 30, height: 20, channels: 3, background: { r: 20, g: 120, b: 200 } } });
type Exif = NonNullable<Parameters<sharp.Sharp['withExif']>[0]>;
const cases: [string, Exif, string | null][] = [
  ['all three', { IFD0: { DateTime: '2023:09:09 09:09:09' }, IFD2: { DateTimeOriginal: '2021:05:03 10:20:30', DateTimeDigitized: '2022:01:01 01:01:01' } }, '2021-05-03T10:20:30'],
  ['CreateDate and ModifyDate', { IFD0: { DateTime: '2023:09:09 09:09:09' }, IFD2: { DateTimeDigitized: '2022:01:01 01:01:01' } }, '2022-01-01T01:01:01'],
  ['ModifyDate alone', { IFD0: { DateTime: '2023:07:14 18:00:00' } }, '2023-07-14T18:00:00'],
  ['a placeholder DateTimeOriginal', { IFD0: { DateTime: '2023:07:14 18:00:00' }, IFD2: { DateTimeOriginal: '0000:00:00 00:00:00' } }, '2023-07-14T18:00:00'],
  ['no date', { IFD0: { Copyright: 'me' } }, null],
];

describe('date taken from EXIF, most specific first', () => {
  it.each(cases)('JPEG (header reader): %s', async (_what, exif, want) => {
    const info = await readImageInfo(await base().jpeg().withExif(exif).toBuffer());
    expect(info.takenAt).toBe(want);
  });
  it.each(cases)('PNG with eXIf (sharp + exifr): %s', async (_what, exif, want) => {
    const info = await readImageInfo(await base().png().withExif(exif).toBuffer());
    expect(info.takenAt).toBe(want);
  });
});
