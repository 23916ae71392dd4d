/**
 * Write a model's caption memory (model/caption-memory.ts): every captioned photo of a set as tower features (the
 * photo as search sees it, the mean of its captions' text features), name it in the model's manifest, and embed the
 * model's query bank again (the bank is embedded as queries are, and queries now move with the memory). The
 * built-in model's is Flickr8k train, the photos its heads were trained on; scripts/train-builtin.ts runs this
 * after installing new heads:
 *
 *   npx tsx scripts/make-caption-memory.ts --set ../shared/datasets/flickr8k/train --model models/builtin
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { openModel } from '../main/backend/catalog/open-model';
import { readManifest, writeManifest } from '../main/backend/catalog/manifest';
import { CAPTION_MEMORY_DEFAULTS, CAPTION_MEMORY_FILE, encodeMemory, memoryEntries } from '../main/backend/model/caption-memory';
import { dataPaths } from '../main/backend/paths';
import { Store } from '../main/backend/store';
import { computeSetFeatures, storeFeatureCache } from '../main/backend/train/features';
import { readCaptionSet } from '../main/backend/train/readers';
import { embedQueryBank } from './make-query-bank';

export interface CaptionMemoryOptions {
  set: string;
  model: string;
  /** A data folder whose feature cache is used (and filled): a second run decodes no photo. */
  data?: string;
  k?: number;
  temperature?: number;
  weight?: number;
}

export async function makeCaptionMemory(o: CaptionMemoryOptions): Promise<{ photos: number; bytes: number }> {
  const data = o.data ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'caption-memory-')));
  const store = new Store(dataPaths(data).db);
  const model = await openModel(o.model);
  let rows: Buffer;
  try {
    const set = await readCaptionSet(o.set);
    const f = await computeSetFeatures(model, set, storeFeatureCache(store), {
      onProgress: (p) => process.stderr.write(`\r${p.stage} ${p.done}/${p.total}      `),
    });
    process.stderr.write('\n');
    const entries = memoryEntries(f, f.images.map((_, i) => i));
    if (!entries) throw new Error(`${o.model}'s text tower gives token rows, not one vector per caption: it cannot keep a caption memory.`);
    rows = encodeMemory(entries, model.manifest.image.featureDim, model.manifest.text.featureDim);
  } finally {
    store.close();
    await model.dispose();
    if (!o.data) await fs.rm(data, { recursive: true, force: true });
  }
  await fs.writeFile(path.join(o.model, CAPTION_MEMORY_FILE), rows);
  const manifest = await readManifest(o.model);
  manifest.text.captionMemory = {
    file: CAPTION_MEMORY_FILE,
    k: o.k ?? CAPTION_MEMORY_DEFAULTS.k,
    temperature: o.temperature ?? CAPTION_MEMORY_DEFAULTS.temperature,
    weight: o.weight ?? CAPTION_MEMORY_DEFAULTS.weight,
  };
  await writeManifest(o.model, manifest);
  await embedQueryBank(o.model);
  return { photos: rows.length / (8 + manifest.image.featureDim + manifest.text.featureDim), bytes: rows.length };
}

async function main(): Promise<void> {
  const o = new Command()
    .requiredOption('--set <dir>', 'captioned set (Images/ and captions.txt): the photos the heads were trained on')
    .requiredOption('--model <dir>', 'model folder to write the memory into')
    .option('--data <dir>', 'data folder whose feature cache to use')
    .option('--k <n>', 'nearest captions a query borrows from', (v) => Number(v), CAPTION_MEMORY_DEFAULTS.k)
    .option('--temperature <x>', 'sharpness of the softmax over their similarities', (v) => Number(v), CAPTION_MEMORY_DEFAULTS.temperature)
    .option('--weight <x>', 'how far a query moves toward their photos', (v) => Number(v), CAPTION_MEMORY_DEFAULTS.weight)
    .parse()
    .opts<CaptionMemoryOptions>();
  const r = await makeCaptionMemory(o);
  console.log(`${r.photos} photos of ${o.set} → ${path.join(o.model, CAPTION_MEMORY_FILE)} (${(r.bytes / 1e6).toFixed(1)} MB)`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error((e as Error).message);
    process.exit(1);
  });
}
