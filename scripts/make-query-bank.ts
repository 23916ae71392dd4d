/**
 * Write a model's query bank (model/query-bank.ts): one caption from each of `--size` photos of a captioned set,
 * picked with a fixed seed, one per line in `query-bank.txt`, and name it in the model's manifest with the
 * correction's β and λ. The built-in model's bank comes from Flickr8k train; β = 15, λ = 0.75 were chosen on
 * held-out train photos (docs/BENCHMARKS.md, "Hubness correction"):
 *
 *   npx tsx scripts/make-query-bank.ts --set ../shared/datasets/flickr8k/train --model models/builtin
 */
import { Command } from 'commander';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { seededRandom, shuffleInPlace } from '../shared/random';
import { readManifest, writeManifest } from '../main/backend/catalog/manifest';
import { openModel } from '../main/backend/catalog/open-model';
import { headsDigest, MAX_BANK, MIN_BANK, parseBank } from '../main/backend/model/query-bank';
import { readCaptionSet } from '../main/backend/train/readers';

const BANK_FILE = 'query-bank.txt';
const VECTORS_FILE = 'query-bank.f32';

/**
 * Embed a model folder's bank with its own towers and heads and ship the rows (`vectors`), so searches need not
 * embed it. Run again whenever the heads change (scripts/train-builtin.ts does).
 */
export async function embedQueryBank(dir: string): Promise<void> {
  const manifest = await readManifest(dir);
  const spec = manifest.text.queryBank;
  if (!spec) return;
  const model = await openModel(dir);
  try {
    const captions = parseBank(await fs.readFile(path.join(dir, spec.file), 'utf8')).slice(0, MAX_BANK);
    // Embedded as queries are (with the model's caption memory, when it has one).
    const rows = await model.embedQueries(captions);
    const out = new Float32Array(rows.length * manifest.embedDim);
    rows.forEach((r, i) => out.set(r, i * manifest.embedDim));
    await fs.writeFile(path.join(dir, VECTORS_FILE), Buffer.from(out.buffer));
    manifest.text.queryBank = { ...spec, vectors: VECTORS_FILE, headsDigest: headsDigest(model.heads) };
    await writeManifest(dir, manifest);
  } finally {
    await model.dispose();
  }
}

async function main(): Promise<void> {
  const o = new Command()
    .requiredOption('--set <dir>', 'captioned set (Images/ and captions.txt)')
    .requiredOption('--model <dir>', 'model folder to write the bank into')
    .option('--size <n>', 'captions in the bank', (v) => Number(v), 1024)
    .option('--beta <x>', 'sharpness of the soft maximum', (v) => Number(v), 15)
    .option('--lambda <x>', 'weight of the correction', (v) => Number(v), 0.75)
    .option('--seed <n>', 'which photos and captions', (v) => Number(v), 1)
    .parse()
    .opts<{ set: string; model: string; size: number; beta: number; lambda: number; seed: number }>();
  if (!(o.size >= MIN_BANK && o.size <= MAX_BANK)) throw new Error(`--size must be between ${MIN_BANK} and ${MAX_BANK}.`);
  const set = await readCaptionSet(o.set);
  const rand = seededRandom(o.seed);
  const photos = shuffleInPlace(
    set.images.filter((im) => im.captions.length > 0),
    rand,
  );
  const lines = photos.slice(0, o.size).map((im) => im.captions[Math.floor(rand() * im.captions.length)]!.replace(/\s+/g, ' ').trim());
  await fs.writeFile(path.join(o.model, BANK_FILE), `${lines.join('\n')}\n`);
  const manifest = await readManifest(o.model);
  manifest.text.queryBank = { file: BANK_FILE, beta: o.beta, lambda: o.lambda };
  await writeManifest(o.model, manifest);
  await embedQueryBank(o.model);
  console.log(`${lines.length} captions from ${set.dir} → ${path.join(o.model, BANK_FILE)} (β ${o.beta}, λ ${o.lambda})`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error((e as Error).message);
    process.exit(1);
  });
}
