/**
 * Choosing the image tower's blocks on held-out train photos. One probe tower with every candidate block
 * (scripts/build-model/coco-image-tower.ts) runs once over a captioned set (its features kept in the work folder's
 * feature cache, as the app keeps them); then, for each candidate (a subset of the blocks, some scaled), fresh heads
 * are trained like new ones (lr 2e-3, warm-up + cosine, seed 42, batches of 128 photos) on 90% of the photos and
 * scored on the other 10% (text→photo recall among the held-out photos).
 *
 *   npx tsx scripts/probe-tower-blocks.ts --train ../shared/datasets/flickr8k/train [--epochs 20] [--only NAME,…]
 *     [--work scratch/probe-blocks] [--json]
 *
 * Dev is never read. Each candidate takes minutes on two cores (6,000 photos, 20 epochs).
 */
import { Command } from 'commander';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { openModel } from '../main/backend/catalog/open-model';
import { initHeads } from '../main/backend/model/heads';
import { saveHeads } from '../main/backend/model/heads-format';
import type { HeadsSpec } from '../main/backend/model/heads-format';
import { Store } from '../main/backend/store';
import { computeSetFeatures, storeFeatureCache } from '../main/backend/train/features';
import { readCaptionSet } from '../main/backend/train/readers';
import { splitByPhoto } from '../main/backend/train/split';
import { initTf } from '../main/backend/train/tf';
import { trainHeads } from '../main/backend/train/trainer';
import { buildCocoImageTowerOnnx, COCO_POOLS, type TowerPools } from './build-model/coco-image-tower';

const ROOT = path.join(__dirname, '..');
const SHIPPED = ['global', 'colour'];
/** Candidates: the block groups they keep (see blockGroup) and a scale for the class blocks. */
const CANDIDATES: Record<string, { keep: string[]; classScale?: number }> = {
  shipped: { keep: SHIPPED },
  'classes max': { keep: [...SHIPPED, 'classes max'] },
  'classes max ×0.5': { keep: [...SHIPPED, 'classes max'], classScale: 0.5 },
  'classes max+count ×0.5': { keep: [...SHIPPED, 'classes max', 'classes count'], classScale: 0.5 },
  'classes grid ×0.5': { keep: [...SHIPPED, 'classes grid'], classScale: 0.5 },
  'classes max+grid ×0.5': { keep: [...SHIPPED, 'classes max', 'classes grid'], classScale: 0.5 },
};
const PROBE: TowerPools = { ...COCO_POOLS, classes: { blocks: ['max', 'count', 'grid'], weight: 1 } };

const blockGroup = (name: string) => (name.startsWith('classes') ? name : name.startsWith('colour') ? 'colour' : 'global');

/** A model folder whose image tower is the probe tower (text tower and tokenizer from the built-in model). */
async function probeModelDir(work: string): Promise<{ dir: string; blocks: { name: string; dim: number }[] }> {
  const dir = path.join(work, 'probe-model');
  const src = path.join(ROOT, 'models', 'builtin');
  const tower = buildCocoImageTowerOnnx(224, PROBE);
  await fs.mkdir(dir, { recursive: true });
  for (const f of ['text_tower.onnx', 'tokenizer.json', 'known-words.txt']) await fs.copyFile(path.join(src, f), path.join(dir, f));
  await fs.writeFile(path.join(dir, 'image_tower.onnx'), tower.onnx);
  const manifest = JSON.parse(await fs.readFile(path.join(src, 'model.json'), 'utf8'));
  manifest.id = 'probe-blocks';
  manifest.image.featureDim = tower.featureDim;
  delete manifest.training;
  await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(manifest, null, 2));
  const heads = JSON.parse(await fs.readFile(path.join(src, 'heads.json'), 'utf8'));
  await saveHeads(path.join(dir, 'heads.json'), initHeads({ ...heads.spec, imageInDim: tower.featureDim }, 1));
  return { dir, blocks: tower.blocks };
}

async function main(): Promise<void> {
  const o = new Command()
    .requiredOption('--train <dir>', 'captioned set (held-out photos come from it)')
    .option('--epochs <n>', 'epochs per candidate', Number, 20)
    .option('--only <names>', `comma-separated candidates (${Object.keys(CANDIDATES).join(', ')})`)
    .option('--work <dir>', 'work folder (feature cache)', path.join(ROOT, 'scratch', 'probe-blocks'))
    .option('--json', 'one JSON line per candidate')
    .parse()
    .opts<{ train: string; epochs: number; only?: string; work: string; json?: boolean }>();
  await initTf();
  const { dir, blocks } = await probeModelDir(o.work);
  const store = new Store(path.join(o.work, 'library.db'));
  const model = await openModel(dir);
  try {
    const set = await readCaptionSet(o.train);
    const f = await computeSetFeatures(model, set, storeFeatureCache(store), { onProgress: (p) => process.stderr.write(`\r${p.stage} ${p.done}/${p.total}   `) });
    process.stderr.write('\n');
    const split = splitByPhoto(f.images.length, { seed: 42, valFraction: 0.1 });
    const names = o.only ? o.only.split(',') : Object.keys(CANDIDATES);
    for (const name of names) {
      const c = CANDIDATES[name];
      if (!c) throw new Error(`Unknown candidate ${name}: one of ${Object.keys(CANDIDATES).join(', ')}.`);
      let offset = 0;
      const slices = blocks.map((b) => ({ ...b, offset: (offset += b.dim) - b.dim })).filter((b) => c.keep.includes(blockGroup(b.name)));
      const dim = slices.reduce((a, b) => a + b.dim, 0);
      const imageFeatures = f.imageFeatures.map((x) => {
        const out = new Float32Array(dim);
        let w = 0;
        for (const b of slices) {
          const scale = b.name.startsWith('classes') ? (c.classScale ?? 1) : 1;
          for (let j = 0; j < b.dim; j++) out[w + j] = x[b.offset + j]! * scale;
          w += b.dim;
        }
        return out;
      });
      const spec = { ...model.heads.spec, imageInDim: dim } as HeadsSpec;
      const started = Date.now();
      const r = await trainHeads({ heads: initHeads(spec, 42), imageFeatures, captions: f.captions, trainPhotos: split.train, valPhotos: split.val, lr: 2e-3, epochs: o.epochs, schedule: 'cosine', seed: 42, batchSize: 128 });
      const row = { candidate: name, dim, bytesPerPhoto: dim * 2, bestEpoch: r.best.epoch, heldOut: r.best.val.textToImage, heldOutPhotos: split.val.length, seconds: (Date.now() - started) / 1000 };
      const t = row.heldOut;
      console.log(o.json ? JSON.stringify(row) : `${name.padEnd(24)} ${String(dim).padStart(5)}-d  held-out R@1/5/10 ${t.r1.toFixed(1)}/${t.r5.toFixed(1)}/${t.r10.toFixed(1)} (best epoch ${row.bestEpoch})`);
    }
  } finally {
    await model.dispose();
    store.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
