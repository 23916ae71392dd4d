/**
 * Model folders compared caption by caption on captioned sets, as search ranks (each text query moved by the model's
 * caption memory, the hubness correction of its query bank): text→photo R@1/5/10 of each, and the paired change of
 * R@5 against the first, with its standard error. Several sets pool their captions: `--set S --models A,B` once per
 * set, the models in the same roles (e.g. cross-validation folds, each with its own retrained model).
 *
 *   npx tsx scripts/bench-paired.ts --data DIR --set held0 --models base,new0 --set held1 --models base,new1 [--json]
 *
 * `--data` keeps the tower features of the photos (a library folder: a second run decodes none).
 */
import { Command } from 'commander';
import path from 'node:path';
import { openModel } from '../main/backend/catalog/open-model';
import { hubPenalties } from '../main/backend/model/query-bank';
import { dataPaths } from '../main/backend/paths';
import { Store } from '../main/backend/store';
import { pairedHitDifference, searchScores, textToImageRanks } from '../main/backend/train/evaluate';
import { computeSetFeatures, MemoryFeatureCache, storeFeatureCache, type FeatureCache } from '../main/backend/train/features';
import { readCaptionSet } from '../main/backend/train/readers';
import { initTf } from '../main/backend/train/tf';

const collect = (v: string, prev: string[]) => [...prev, v];

/** Each caption's rank of its own photo among the set's photos, as `modelDir` ranks them for search. */
async function searchRanks(modelDir: string, setDir: string, cache: FeatureCache): Promise<Int32Array> {
  const model = await openModel(modelDir);
  try {
    const f = await computeSetFeatures(model, await readCaptionSet(setDir), cache);
    const img = await model.embedImageFeatures(f.imageFeatures);
    const txt = await model.expandQueries(await model.embedTextFeatures(f.captions.map((c) => c.features)));
    const scores = searchScores(img, txt, hubPenalties(await model.queryBank(), img));
    return textToImageRanks(scores, img.length, f.captions.map((c) => c.photo));
  } finally {
    await model.dispose();
  }
}

function concat(parts: Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const recallAt = (ranks: Int32Array, k: number) => (100 * ranks.filter((r) => r < k).length) / Math.max(1, ranks.length);

async function main() {
  const o = new Command()
    .option('--set <dir>', 'a captioned set (Images/ and captions.txt); repeat, one per --models', collect, [])
    .option('--models <dirs>', 'comma-separated model folders for the --set in the same place; the first is the reference', collect, [])
    .option('--data <dir>', 'library folder keeping the photos\' tower features')
    .option('--json', 'print the figures as JSON')
    .parse()
    .opts<{ set: string[]; models: string[]; data?: string; json?: boolean }>();
  if (!o.set.length || o.set.length !== o.models.length) throw new Error('Give one --models list for each --set.');
  const lists = o.models.map((m) => m.split(',').map((d) => path.resolve(d)));
  const roles = lists[0]!.length;
  if (roles < 1 || lists.some((l) => l.length !== roles)) throw new Error('Every --models list needs the same number of folders.');
  await initTf();
  const store = o.data ? new Store(dataPaths(path.resolve(o.data)).db) : null;
  const cache = store ? storeFeatureCache(store) : new MemoryFeatureCache();
  try {
    const ranks: Int32Array[][] = Array.from({ length: roles }, () => []);
    for (const [s, set] of o.set.entries()) {
      for (let r = 0; r < roles; r++) ranks[r]!.push(await searchRanks(lists[s]![r]!, path.resolve(set), cache));
    }
    const pooled = ranks.map(concat);
    const rows = pooled.map((rk, r) => ({
      models: lists.map((l) => l[r]!),
      captions: rk.length,
      r1: recallAt(rk, 1),
      r5: recallAt(rk, 5),
      r10: recallAt(rk, 10),
      pairedR5: r === 0 ? null : pairedHitDifference(pooled[0]!, rk, 5),
    }));
    if (o.json) console.log(JSON.stringify({ sets: o.set, roles: rows }, null, 2));
    else
      for (const [r, x] of rows.entries()) {
        const change = x.pairedR5 ? `, R@5 ${x.pairedR5.mean >= 0 ? '+' : ''}${x.pairedR5.mean.toFixed(2)} ± ${x.pairedR5.se.toFixed(2)} against the first` : '';
        console.log(`${r + 1}. ${path.basename(x.models[0]!)}${x.models.length > 1 ? ` (+${x.models.length - 1} more)` : ''}: R@1/5/10 ${x.r1.toFixed(2)} / ${x.r5.toFixed(2)} / ${x.r10.toFixed(2)} over ${x.captions} captions${change}`);
      }
  } finally {
    store?.close();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
