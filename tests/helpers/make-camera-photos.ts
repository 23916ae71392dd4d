/**
 * Camera-like JPEG folders for benchmarks (docs/BENCHMARKS.md, "Real camera files"); the test run makes
 * only tiny ones. ~4 s of CPU per 12 MP photo.
 *
 *   npx tsx tests/helpers/make-camera-photos.ts DIR COUNT [12|24] [SEED]
 */
import { makeCameraPhotos } from './fixtures';

async function main(): Promise<void> {
  const [dir, count, mp = '12', seed = '1'] = process.argv.slice(2);
  if (!dir || !/^\d+$/.test(count ?? '') || (mp !== '12' && mp !== '24') || !/^\d+$/.test(seed)) {
    console.error('Usage: npx tsx tests/helpers/make-camera-photos.ts DIR COUNT [12|24] [SEED]');
    process.exit(1);
  }
  const photos = await makeCameraPhotos(dir, Number(count), Number(seed), { megapixels: Number(mp) as 12 | 24 });
  console.log(`${photos.length} photos (${mp} MP) in ${dir}`);
}

void main();
