/**
 * How far copies of a photo and different photos are, by pixel hash and by the built-in model's embedding
 * (docs/BENCHMARKS.md, "Near-duplicates by pixels"): for each of the first COPIES photos of DIR, a 50% and a
 * 25% resize, a JPEG quality-40 copy and the same pixels under EXIF orientation 6 and 3; then every pair of
 * the first PHOTOS photos. Prints, per kind, the differing bits (of 255) and the embedding cosine.
 *
 *   npx tsx tests/helpers/bench-pixel-hash.ts DIR [COPIES] [PHOTOS] [--json]
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { builtinModelDir } from '../../main/backend/catalog/registry';
import { openModel } from '../../main/backend/catalog/open-model';
import { orientedHashes, pixelDistance, pixelHashOfTensor, pixelSimilarity } from '../../main/backend/photos/pixel-hash';

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== '--json');
  const [dir, copies = '40', photos = '400'] = args;
  if (!dir || !/^\d+$/.test(copies) || !/^\d+$/.test(photos)) {
    console.error('Usage: npx tsx tests/helpers/bench-pixel-hash.ts DIR [COPIES] [PHOTOS] [--json]');
    process.exit(1);
  }
  const files = readdirSync(dir).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort().slice(0, Math.max(Number(copies), Number(photos)));
  if (files.length === 0) {
    console.error(`No JPEG, PNG or WebP photos in ${dir}: point it at a folder of photos (for Flickr8k, its Images/ folder).`);
    process.exit(1);
  }
  const model = await openModel(builtinModelDir());
  const look = async (buf: Buffer) => {
    const p = await model.prepareImage(buf);
    const hash = orientedHashes(pixelHashOfTensor(p.tensor, model.manifest.image.preprocess));
    const [embedding] = await model.embedImageFeatures(await model.imageFeatures([p]));
    return { hash, embedding: embedding! };
  };
  const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
  const kinds: Record<string, { bits: number[]; cosine: number[] }> = {};
  const note = (kind: string, a: Awaited<ReturnType<typeof look>>, b: Awaited<ReturnType<typeof look>>) => {
    const k = (kinds[kind] ??= { bits: [], cosine: [] });
    k.bits.push(pixelDistance(a.hash, b.hash));
    k.cosine.push(cosine(a.embedding, b.embedding));
  };
  const originals = [];
  for (const [i, f] of files.entries()) {
    const buf = readFileSync(path.join(dir, f));
    const original = await look(buf);
    if (i < Number(photos)) originals.push(original);
    if (i >= Number(copies)) continue;
    const width = (await sharp(buf).metadata()).width!;
    const variants: Record<string, Promise<Buffer>> = {
      'resized 50%': sharp(buf).resize(Math.round(width / 2)).jpeg({ quality: 85 }).toBuffer(),
      'resized 25%': sharp(buf).resize(Math.round(width / 4)).jpeg({ quality: 85 }).toBuffer(),
      'JPEG quality 40': sharp(buf).jpeg({ quality: 40 }).toBuffer(),
      'EXIF orientation 6 (turned 90°)': sharp(buf).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer(),
      'EXIF orientation 3 (upside down)': sharp(buf).jpeg({ quality: 95 }).withMetadata({ orientation: 3 }).toBuffer(),
    };
    for (const [kind, v] of Object.entries(variants)) note(kind, original, await look(await v));
  }
  for (let a = 0; a < originals.length; a++) for (let b = a + 1; b < originals.length; b++) note('different photos', originals[a]!, originals[b]!);
  await model.dispose();
  const range = (v: number[]) => [Math.min(...v), Math.max(...v)];
  const rows = Object.entries(kinds).map(([kind, k]) => ({ kind, pairs: k.bits.length, bits: range(k.bits), pixelSimilarity: range(k.bits).map(pixelSimilarity).reverse(), cosine: range(k.cosine) }));
  if (process.argv.includes('--json')) return void console.log(JSON.stringify(rows, null, 2));
  for (const r of rows) {
    console.log(`${r.kind.padEnd(34)} ${String(r.pairs).padStart(6)} pairs  bits ${r.bits.join('–').padEnd(7)}  pixel similarity ${r.pixelSimilarity.map((x) => x.toFixed(3)).join('–')}  cosine ${r.cosine.map((x) => x.toFixed(3)).join('–')}`);
  }
}

void main();
