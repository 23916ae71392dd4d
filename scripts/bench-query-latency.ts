/**
 * Query latency as the app sees it: N distinct captions of a captioned set searched one after another through the
 * search service (embed the query, top 20 over the library, re-rank, match percentages), after one warm-up query.
 * Prints p50 and p90 in ms. Index the photos first (`photo-search --data DIR index SET/Images`).
 *
 *   npx tsx scripts/bench-query-latency.ts --data DIR --set ../shared/datasets/flickr8k/dev [--queries 200]
 */
import { Command } from 'commander';
import { openBackend } from '../main/backend/backend';
import { builtinModelDir } from '../main/backend/catalog/registry';
import { readCaptionSet } from '../main/backend/train/readers';

async function main(): Promise<void> {
  const o = new Command()
    .requiredOption('--data <dir>', 'the data folder of an indexed library')
    .requiredOption('--set <dir>', 'a captioned set whose captions are the queries')
    .option('--queries <n>', 'how many queries', (v) => Number(v), 200)
    .option('--model <dir>', 'model folder', builtinModelDir())
    .parse()
    .opts<{ data: string; set: string; queries: number; model: string }>();
  const captions = (await readCaptionSet(o.set)).images.flatMap((im) => im.captions);
  const step = Math.max(1, Math.floor(captions.length / o.queries));
  const queries = captions.filter((_, i) => i % step === 0).slice(0, o.queries);
  const b = await openBackend({ dataDir: o.data, modelDir: o.model });
  try {
    await b.search.search('a dog', 20);
    const ms: number[] = [];
    for (const q of queries) {
      const t0 = performance.now();
      await b.search.search(q, 20);
      ms.push(performance.now() - t0);
    }
    ms.sort((x, y) => x - y);
    const at = (p: number) => ms[Math.min(ms.length - 1, Math.floor(ms.length * p))]!.toFixed(1);
    console.log(`${queries.length} queries: p50 ${at(0.5)} ms, p90 ${at(0.9)} ms`);
  } finally {
    await b.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
