/**
 * Typing the plain name of a thing: each word that at least two captions of one Flickr8k dev photo use (3+
 * letters, not a stop word; 2 to 30 such photos) is a query, typed alone ("guitar", "snow", "bicycle"); a hit is
 * any of those photos among the top K of the 1,000 dev photos. `--template` also measures the word put in
 * caption-like templates ("a {}"), to see whether short queries should be rewritten.
 *
 *   npx tsx scripts/bench-plain-names.ts [--dev ../shared/datasets/flickr8k/dev] [--model DIR] [--template "a {}" …] [--json]
 */
import { Command } from 'commander';
import path from 'node:path';
import { openModel } from '../main/backend/catalog/open-model';
import { hubPenalties } from '../main/backend/model/query-bank';
import { computeSetFeatures, MemoryFeatureCache } from '../main/backend/train/features';
import { readCaptionSet } from '../main/backend/train/readers';
import { contentWords, STOP_WORDS } from './caption-words';

const ROOT = path.join(__dirname, '..');
/** Besides the usual stop words: words that describe where or how big, not what. */
const STOP = new Set([...STOP_WORDS, ...'what very just like next front back top side large small little big young older old'.split(' ')]);

async function main(): Promise<void> {
  const o = new Command()
    .option('--dev <dir>', 'captioned set', path.join(ROOT, '..', 'shared', 'datasets', 'flickr8k', 'dev'))
    .option('--model <dir>', 'model folder', path.join(ROOT, 'models', 'builtin'))
    .option('--template <t...>', 'caption-like templates to compare, {} = the word')
    .option('--json', 'print JSON')
    .parse()
    .opts<{ dev: string; model: string; template?: string[]; json?: boolean }>();
  const model = await openModel(o.model);
  try {
    const set = await readCaptionSet(o.dev);
    const f = await computeSetFeatures(model, set, new MemoryFeatureCache());
    const img = await model.embedImageFeatures(f.imageFeatures);
    // Ranked as search ranks them (the model's hubness correction, when it has a query bank).
    const penalty = hubPenalties(await model.queryBank(), img) ?? new Float32Array(img.length);
    const uses = new Map<string, Map<number, number>>();
    for (const c of f.captions) {
      for (const w of new Set(contentWords(c.text, STOP))) {
        const m = uses.get(w) ?? new Map<number, number>();
        m.set(c.photo, (m.get(c.photo) ?? 0) + 1);
        uses.set(w, m);
      }
    }
    const queries = [...uses]
      .map(([w, m]) => ({ word: w, photos: new Set([...m].filter(([, n]) => n >= 2).map(([p]) => p)) }))
      .filter((q) => q.photos.size >= 2 && q.photos.size <= 30);
    const rows = [];
    for (const template of ['{}', ...(o.template ?? [])]) {
      // Embedded as search embeds a query (with the model's caption memory, when it has one).
      const vecs = await model.embedQueries(queries.map((q) => template.replace('{}', q.word)));
      const hits = [0, 0, 0];
      let precision = 0;
      queries.forEach((q, i) => {
        const v = vecs[i]!;
        const top = img
          .map((x, j) => [x.reduce((a, y, k) => a + y * v[k]!, 0) - penalty[j]!, j] as const)
          .sort((a, b) => b[0] - a[0])
          .slice(0, 10)
          .map(([, j]) => j);
        [1, 5, 10].forEach((k, h) => (hits[h]! += top.slice(0, k).some((j) => q.photos.has(j)) ? 1 : 0));
        precision += top.filter((j) => q.photos.has(j)).length / 10;
      });
      const pct = (x: number) => Math.round((1000 * x) / queries.length) / 10;
      rows.push({ template, hit1: pct(hits[0]!), hit5: pct(hits[1]!), hit10: pct(hits[2]!), precisionAt10: pct(precision) });
    }
    if (o.json) console.log(JSON.stringify({ model: model.manifest.id, photos: f.images.length, queries: queries.length, rows }, null, 2));
    else {
      console.log(`${model.manifest.id}: ${queries.length} one-word queries among ${f.images.length} photos`);
      for (const r of rows) console.log(`  ${r.template.padEnd(20)} hit@1/5/10 ${r.hit1}/${r.hit5}/${r.hit10}  precision@10 ${r.precisionAt10}`);
    }
  } finally {
    await model.dispose();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
