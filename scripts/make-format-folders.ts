/**
 * Folders of the same 12 MP camera photos as JPEG, HEIC (HEVC) and RAW with an embedded full-size preview (a DNG
 * around the JPEG), for `photo-search bench index` (docs/BENCHMARKS.md, "Phone and camera formats"). HEIC is encoded
 * by Debian's heif-enc (package libheif-examples) at quality 50, about what a phone writes; the DNG's preview is the
 * JPEG itself, as cameras embed a full-size JPEG beside the sensor data.
 *
 *   npx tsx scripts/make-format-folders.ts DIR [COUNT] [SEED]
 *   npx photo-search bench index DIR/jpeg --json; npx photo-search bench index DIR/heic --json; npx photo-search bench index DIR/raw --json
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rawLike, writeHeic } from '../tests/helpers/camera-files';
import { makeCameraPhotos } from '../tests/helpers/fixtures';

async function main(): Promise<void> {
  const [dir, count = '16', seed = '1'] = process.argv.slice(2);
  if (!dir || !/^\d+$/.test(count) || !/^\d+$/.test(seed)) {
    console.error('Usage: npx tsx scripts/make-format-folders.ts DIR [COUNT] [SEED]');
    process.exit(1);
  }
  const jpegDir = path.join(dir, 'jpeg');
  const heicDir = path.join(dir, 'heic');
  const rawDir = path.join(dir, 'raw');
  for (const d of [heicDir, rawDir]) mkdirSync(d, { recursive: true });
  // Upright photos: HEIC keeps its rotation in the container, which heif-enc does not write from EXIF.
  const photos = await makeCameraPhotos(jpegDir, Number(count), Number(seed), { megapixels: 12, orientations: [1] });
  const bytes = { jpeg: 0, heic: 0, raw: 0 };
  for (const p of photos) {
    const jpeg = readFileSync(p.path);
    const name = path.basename(p.path, '.jpg');
    const heic = path.join(heicDir, `${name}.heic`);
    writeHeic(jpeg, heic, 50);
    const raw = path.join(rawDir, `${name}.dng`);
    writeFileSync(raw, await rawLike('dng', jpeg));
    bytes.jpeg += jpeg.length;
    bytes.heic += statSync(heic).size;
    bytes.raw += statSync(raw).size;
  }
  const mb = (n: number) => `${(n / photos.length / 1e6).toFixed(2)} MB`;
  console.log(`${photos.length} photos (12 MP) in ${jpegDir} (${mb(bytes.jpeg)} each), ${heicDir} (${mb(bytes.heic)}), ${rawDir} (${mb(bytes.raw)})`);
}

void main();
