/**
 * What the model does with things its training set rarely shows: Flickr8k dev captions grouped by how often their
 * rarest content word occurs in the train captions (never, 1–4 times, 5–19, 20 or more), with text→photo recall of
 * each group among all the dev photos. A model that only knows Flickr8k's world (people, dogs, outdoor sports)
 * does well on the last group and poorly on the first ones.
 *
 *   npx tsx scripts/bench-rare-words.ts [--train ../shared/datasets/flickr8k/train] [--dev ../shared/datasets/flickr8k/dev]
 *     [--model DIR] [--json]
 *
 * `--model`: a model folder (default models/builtin). Reads the sets where they are; nothing is copied.
 */
import { Command } from 'commander';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { openModel } from '../main/backend/catalog/open-model';
import { hubPenalties } from '../main/backend/model/query-bank';
import { evaluateEmbeddings } from '../main/backend/train/evaluate';
import { computeSetFeatures, MemoryFeatureCache } from '../main/backend/train/features';
import { readCaptionSet } from '../main/backend/train/readers';
import { contentWords } from './caption-words';

const ROOT = path.join(__dirname, '..');
const GROUPS: [string, number, number][] = [
  ['never in train', 0, 0],
  ['1–4 times', 1, 4],
  ['5–19 times', 5, 19],
  ['20+ times', 20, Infinity],
];

const words = (text: string) => contentWords(text);

async function main(): Promise<void> {
  const o = new Command()
    .option('--train <dir>', 'captioned set the model learned from', path.join(ROOT, '..', 'shared', 'datasets', 'flickr8k', 'train'))
    .option('--dev <dir>', 'captioned set to measure on', path.join(ROOT, '..', 'shared', 'datasets', 'flickr8k', 'dev'))
    .option('--model <dir>', 'model folder', path.join(ROOT, 'models', 'builtin'))
    .option('--json', 'print JSON')
    .parse()
    .opts<{ train: string; dev: string; model: string; json?: boolean }>();
  const counts = new Map<string, number>();
  const trainText = await fs.readFile(path.join(o.train, 'captions.txt'), 'utf8');
  for (const w of words(trainText)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const model = await openModel(o.model);
  try {
    const set = await readCaptionSet(o.dev);
    const f = await computeSetFeatures(model, set, new MemoryFeatureCache(), { onProgress: (p) => process.stderr.write(`\r${p.stage} ${p.done}/${p.total}   `) });
    process.stderr.write('\n');
    const img = await model.embedImageFeatures(f.imageFeatures);
    // Ranked as search ranks them: captions embedded as queries are (the caption memory), with the model's hubness
    // correction when it has a query bank.
    const txt = await model.expandQueries(await model.embedTextFeatures(f.captions.map((c) => c.features)));
    const penalty = hubPenalties(await model.queryBank(), img);
    const rows = GROUPS.map(([label, lo, hi]) => {
      const pick = f.captions.map((c, i) => [c, i] as const).filter(([c]) => {
        const ws = words(c.text);
        if (ws.length === 0) return false;
        const rarest = Math.min(...ws.map((w) => counts.get(w) ?? 0));
        return rarest >= lo && rarest <= hi;
      });
      const r = pick.length ? evaluateEmbeddings(img, pick.map(([, i]) => txt[i]!), pick.map(([c]) => c.photo), penalty).textToImage : null;
      const examples = pick.slice(0, 3).map(([c]) => c.text);
      return { group: label, captions: pick.length, r1: r?.r1 ?? null, r5: r?.r5 ?? null, r10: r?.r10 ?? null, examples };
    });
    const all = evaluateEmbeddings(img, txt, f.captions.map((c) => c.photo), penalty).textToImage;
    const out = { model: model.manifest.id, photos: f.images.length, all, groups: rows };
    if (o.json) console.log(JSON.stringify(out, null, 2));
    else {
      console.log(`${model.manifest.id} on ${f.images.length} photos: all captions R@1/5/10 ${all.r1.toFixed(1)}/${all.r5.toFixed(1)}/${all.r10.toFixed(1)}`);
      for (const r of rows) console.log(`  rarest word ${r.group.padEnd(15)} ${String(r.captions).padStart(5)} captions  R@1/5/10 ${r.r1?.toFixed(1)}/${r.r5?.toFixed(1)}/${r.r10?.toFixed(1)}   e.g. "${r.examples[0] ?? ''}"`);
    }
  } finally {
    await model.dispose();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
