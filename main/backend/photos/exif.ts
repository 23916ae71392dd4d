/**
 * What the indexer keeps from a photo's EXIF besides its size: when it was taken (DateTimeOriginal, else
 * CreateDate, else ModifyDate, each with its own time-zone offset tag when the camera wrote one) and where (GPS).
 * Read with exifr from whatever holds the EXIF: a JPEG, a TIFF or TIFF-based RAW file, or the bare TIFF block
 * that sharp hands back for HEIC and other formats. Broken EXIF is not a reason to skip a photo: it reads as
 * nothing.
 */
import exifr from 'exifr';

export interface ExifFacts {
  /** Local time as written, "YYYY-MM-DDTHH:mm:ss", or null. */
  takenAt: string | null;
  /** The offset from UTC that goes with takenAt ("+01:00"), when the file records one. */
  takenOffset: string | null;
  /** Decimal degrees, when the file has a usable GPS position. */
  gps: { lat: number; lon: number } | null;
}

export const NO_FACTS: ExifFacts = { takenAt: null, takenOffset: null, gps: null };

/** The date tags, most specific first, each with the offset tag EXIF 2.31 pairs it with. */
const DATE_TAGS = [
  ['DateTimeOriginal', 'OffsetTimeOriginal'],
  ['CreateDate', 'OffsetTimeDigitized'],
  ['ModifyDate', 'OffsetTime'],
] as const;

/** "2023:06:01 10:20:30" → "2023-06-01T10:20:30"; placeholders ("0000:00:00 …") and junk → null. */
export function exifDate(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const m = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(v.trim());
  if (!m || m[1] === '0000') return null;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
}

/** "+01:00", "-05:30" (EXIF OffsetTime*); anything else → null. */
export function exifOffset(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(v.trim());
  if (!m || Number(m[2]) > 14 || Number(m[3]) > 59) return null;
  return `${m[1]}${m[2]}:${m[3]}`;
}

/** A GPS position that means something (not NaN, in range, not the 0,0 that some phones write without a fix). */
export function usableGps(lat: unknown, lon: unknown): { lat: number; lon: number } | null {
  if (typeof lat !== 'number' || typeof lon !== 'number' || !Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180 || (lat === 0 && lon === 0)) return null;
  return { lat, lon };
}

/** The date, its offset and the GPS position from a file or a bare EXIF (TIFF) block. */
export async function readExifFacts(input: Uint8Array): Promise<ExifFacts> {
  let buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  // sharp's `exif` starts with the APP1 "Exif\0\0" header for some formats: exifr wants the TIFF block.
  if (buf.length > 6 && buf.toString('latin1', 0, 6) === 'Exif\0\0') buf = buf.subarray(6);
  try {
    const pick = [...DATE_TAGS.flat(), 'GPSLatitude', 'GPSLatitudeRef', 'GPSLongitude', 'GPSLongitudeRef'];
    // Raw strings, so the date does not depend on the machine's time zone; exifr adds latitude/longitude.
    const exif = (await exifr.parse(buf, { pick, reviveValues: false, gps: true, tiff: true, exif: true })) as Record<string, unknown> | undefined;
    if (!exif) return NO_FACTS;
    for (const [date, offset] of DATE_TAGS) {
      const takenAt = exifDate(exif[date]);
      if (takenAt) return { takenAt, takenOffset: exifOffset(exif[offset]), gps: usableGps(exif.latitude, exif.longitude) };
    }
    return { takenAt: null, takenOffset: null, gps: usableGps(exif.latitude, exif.longitude) };
  } catch {
    return NO_FACTS;
  }
}
