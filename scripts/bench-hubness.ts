/**
 * How the hubness correction's settings (model/query-bank.ts) were chosen: on held-out Flickr8k TRAIN photos, never
 * dev. Heads are trained on 90% of the train photos (seed 42, the split every built-in choice uses; fresh heads, the
 * built-in recipe without extra views, 20 epochs); the other 10% (600 photos, 3,000 captions) are ranked with
 * cos − λ · hub for a grid of β, λ and bank sizes, the bank drawn from the training captions as
 * scripts/make-query-bank.ts draws it (one caption from each of N photos).
 *
 *   npx tsx scripts/bench-hubness.ts --train ../shared/datasets/flickr8k/train [--work scratch/hubness] [--json]
 *
 * Photo features are cached in the work folder, so a second run decodes no photo.
 */
import { Command } from 'commander';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { openModel } from '../main/backend/catalog/open-model';
import { builtinModelDir } from '../main/backend/catalog/registry';
import { HeadsRunner, initHeads } from '../main/backend/model/heads';
import { hubPenalties, type QueryBank } from '../main/backend/model/query-bank';
import { dataPaths } from '../main/backend/paths';
import { Store } from '../main/backend/store';
import { evaluateEmbeddings } from '../main/backend/train/evaluate';
import { computeSetFeatures, storeFeatureCache } from '../main/backend/train/features';
import { readCaptionSet } from '../main/backend/train/readers';
import { BUILTIN_RECIPE } from '../main/backend/train/recipe';
import { splitByPhoto } from '../main/backend/train/split';
import { initTf } from '../main/backend/train/tf';
import { trainHeads } from '../main/backend/train/trainer';
import { seededRandom, shuffleInPlace } from '../shared/random';

const BETAS = [5, 15, 25, 35];
const LAMBDAS = [0, 0.25, 0.5, 0.75, 1];
const BANKS = [256, 1024, 4096];

async function main(): Promise<void> {
  const o = new Command()
    .requiredOption('--train <dir>', 'Flickr8k train (Images/ and captions.txt)')
    .option('--work <dir>', 'feature cache folder', 'scratch/hubness')
    .option('--epochs <n>', 'epochs of the heads', (v) => Number(v), 20)
    .option('--json', 'print JSON')
    .parse()
    .opts<{ train: string; work: string; epochs: number; json?: boolean }>();
  await initTf();
  await fs.mkdir(path.join(o.work, 'data'), { recursive: true });
  const store = new Store(dataPaths(path.join(o.work, 'data')).db);
  const model = await openModel(builtinModelDir());
  try {
    const set = await readCaptionSet(o.train);
    const f = await computeSetFeatures(model, set, storeFeatureCache(store), { onProgress: (p) => process.stderr.write(`\r${p.stage} ${p.done}/${p.total}   `) });
    process.stderr.write('\n');
    const split = splitByPhoto(f.images.length, { seed: 42, valFraction: 0.1 });
    const r = await trainHeads({
      heads: initHeads({ ...model.heads.spec }, 42),
      imageFeatures: f.imageFeatures,
      captions: f.captions,
      trainPhotos: split.train,
      valPhotos: split.val,
      lr: BUILTIN_RECIPE.lr,
      epochs: o.epochs,
      schedule: 'cosine',
      seed: 42,
      batchSize: BUILTIN_RECIPE.batchSize,
      onEpoch: (e) => process.stderr.write(`\repoch ${e.epoch}/${e.epochs}   `),
    });
    process.stderr.write('\n');
    const heads = new HeadsRunner(r.heads, 'pooled');
    const local = new Map(split.val.map((p, i) => [p, i]));
    const caps = f.captions.filter((c) => local.has(c.photo));
    const img = await heads.embedImage(split.val.map((p) => f.imageFeatures[p]!));
    const txt = await heads.embedText(caps.map((c) => c.features));
    const capPhoto = caps.map((c) => local.get(c.photo)!);
    // The bank: one caption of each of N training photos, drawn as make-query-bank.ts draws them.
    const rand = seededRandom(1);
    const byPhoto = new Map<number, number[]>();
    f.captions.forEach((c, i) => {
      if (local.has(c.photo)) return;
      byPhoto.set(c.photo, [...(byPhoto.get(c.photo) ?? []), i]);
    });
    const order = shuffleInPlace([...byPhoto.keys()], rand);
    const picked = order.map((p) => byPhoto.get(p)![Math.floor(rand() * byPhoto.get(p)!.length)]!);
    const bankRows = await heads.embedText(picked.slice(0, Math.max(...BANKS)).map((i) => f.captions[i]!.features));
    const rows: { bank: number; beta: number; lambda: number; r1: number; r5: number; r10: number }[] = [];
    for (const size of BANKS) {
      const vectors = new Float32Array(size * model.embedDim);
      bankRows.slice(0, size).forEach((v, i) => vectors.set(v, i * model.embedDim));
      for (const beta of BETAS) {
        for (const lambda of LAMBDAS) {
          const bank: QueryBank = { vectors, count: size, dim: model.embedDim, beta, lambda };
          const t = evaluateEmbeddings(img, txt, capPhoto, lambda > 0 ? hubPenalties(bank, img) : undefined).textToImage;
          rows.push({ bank: size, beta, lambda, ...t });
        }
      }
    }
    await heads.dispose();
    const best = rows.reduce((a, b) => (b.r1 + b.r5 + b.r10 > a.r1 + a.r5 + a.r10 ? b : a));
    if (o.json) console.log(JSON.stringify({ heldOutPhotos: split.val.length, captions: caps.length, rows, best }, null, 2));
    else {
      console.log(`held-out: ${split.val.length} train photos, ${caps.length} captions; text→photo R@1/5/10`);
      for (const x of rows) console.log(`  bank ${String(x.bank).padStart(4)}  β ${String(x.beta).padStart(2)}  λ ${x.lambda.toFixed(2)}  ${x.r1.toFixed(1)}/${x.r5.toFixed(1)}/${x.r10.toFixed(1)}`);
      console.log(`best by R@1+R@5+R@10: bank ${best.bank}, β ${best.beta}, λ ${best.lambda}`);
    }
  } finally {
    store.close();
    await model.dispose();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
