/**
 * Word accuracy and speed of the text reader on the generated photos (docs/BENCHMARKS.md, "Words in photos"):
 *
 *   npx tsx tests/helpers/text-bench.ts [--plain N] [--json]
 *
 * Makes the text photos of text-photos.ts and N plain photos in a temp folder, then reads each as the text
 * pass does (read-photo.ts: read the file, decode; a photo of 720 px or more is first looked at 480 px and read
 * at up to 960 px only when the look sees text; detect, recognize where boxes were found), one at a time, after
 * one warm-up photo. `--no-look` reads every photo at full size at once, as before the look. Prints, per photo, the words expected and read; in total, word accuracy (exact
 * words, and words found intact with spaces ignored) and photos/s on photos with and without text.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_PIXEL_LIMIT } from '../../main/backend/photos/decode';
import { decodeFirst, readDecoded } from '../../main/backend/text/read-photo';
import { TextReader } from '../../main/backend/text/reader';
import { makePhotos } from './fixtures';
import { makeTextPhotos, wordAccuracy } from './text-photos';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const plainAt = args.indexOf('--plain');
  const plain = plainAt >= 0 ? Number(args[plainAt + 1]) : 12;
  const json = args.includes('--json');
  const look = !args.includes('--no-look');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-text-bench-'));
  try {
    const photos = await makeTextPhotos(dir, { plain: Math.ceil(plain / 2) });
    const shapes = await makePhotos(path.join(dir, 'shapes'), Math.floor(plain / 2), 5);
    const all = [...photos, ...shapes.map((s) => ({ file: s.path, text: '' }))];
    const reader = await TextReader.open();
    const readPhoto = async (file: string) => {
      const buf = readFileSync(file);
      return (await readDecoded(reader, await decodeFirst(buf, file, DEFAULT_PIXEL_LIMIT, look), buf, file, DEFAULT_PIXEL_LIMIT)).lines;
    };
    await readPhoto(all[0]!.file); // warm-up
    const rows: { file: string; expected: string; read: string; ms: number; words: number; exact: number; joined: number }[] = [];
    for (const p of all) {
      const t = process.hrtime.bigint();
      const lines = await readPhoto(p.file);
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      const read = lines.map((l) => l.text).join('\n');
      rows.push({ file: path.basename(p.file), expected: p.text, read, ms, ...wordAccuracy(p.text, read) });
    }
    await reader.dispose();
    const withText = rows.filter((r) => r.expected);
    const without = rows.filter((r) => !r.expected);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const result = {
      photosWithText: withText.length,
      photosWithoutText: without.length,
      words: sum(withText.map((r) => r.words)),
      wordAccuracyExact: sum(withText.map((r) => r.exact)) / sum(withText.map((r) => r.words)),
      wordAccuracyJoined: sum(withText.map((r) => r.joined)) / sum(withText.map((r) => r.words)),
      falseTextPhotos: without.filter((r) => r.read).length,
      withTextPhotosPerSec: withText.length / (sum(withText.map((r) => r.ms)) / 1000),
      withoutTextPhotosPerSec: without.length / (sum(without.map((r) => r.ms)) / 1000),
      rows,
    };
    if (json) console.log(JSON.stringify(result, null, 2));
    else {
      for (const r of rows) console.log(`${r.file.padEnd(22)} ${r.ms.toFixed(0).padStart(5)} ms  ${r.expected ? `${r.joined}/${r.words}` : '-'}  ${JSON.stringify(r.read)}`);
      const { rows: _rows, ...totals } = result;
      console.log(totals);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
