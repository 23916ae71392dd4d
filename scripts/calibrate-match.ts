/**
 * Measures the figures behind the match percentage (main/backend/search/relevance.ts) on a captioned set:
 * index its photos in a scratch library, search each photo's first caption over the whole library, and read how
 * far the described photo stands out (its z-score against the query's scores over the library).
 *
 *   npx tsx scripts/calibrate-match.ts ../shared/datasets/flickr8k/dev [--fit 300]
 *
 * The first `--fit` captions give the quartiles of z that relevance.ts uses; the others check the percentage the
 * app shows: the share of described photos at or above GOOD_MATCH, and how many photos a query puts there.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GOOD_MATCH } from '../shared/api';
import { startBackend } from '../main/backend';

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(q * (s.length - 1))]!;
}

async function main(): Promise<void> {
  const set = process.argv[2];
  if (!set) throw new Error('Usage: npx tsx scripts/calibrate-match.ts SET_FOLDER [--fit N]');
  const fitAt = process.argv.indexOf('--fit');
  const fit = fitAt > 0 ? Number(process.argv[fitAt + 1]) : 300;
  const data = mkdtempSync(path.join(os.tmpdir(), 'ps-calibrate-'));
  const b = await startBackend({ dataDir: data });
  const api = b.handlers;
  try {
    const added = await api.addFolder({ path: path.resolve(set, 'Images') });
    await b.jobResult(added.job.id);
    const photos = (await api.folders()).reduce((n, f) => n + f.photos, 0);
    const firstCaption = new Map<string, string>();
    for (const line of readFileSync(path.join(set, 'captions.txt'), 'utf8').split('\n').slice(1)) {
      const comma = line.indexOf(',');
      if (comma > 0 && !firstCaption.has(line.slice(0, comma))) firstCaption.set(line.slice(0, comma), line.slice(comma + 1).trim());
    }
    const zFit: number[] = [];
    const checked: { match: number; above: number }[] = [];
    let i = 0;
    for (const [image, caption] of firstCaption) {
      const hits = await api.search({ query: caption, top: photos }).catch(() => null);
      if (!hits) continue;
      const own = hits.find((h) => path.basename(h.path) === image);
      if (!own) continue;
      if (i++ < fit) {
        const scores = hits.map((h) => h.score);
        const mean = scores.reduce((a, s) => a + s, 0) / scores.length;
        const sd = Math.sqrt(scores.reduce((a, s) => a + (s - mean) ** 2, 0) / scores.length);
        zFit.push((own.score - mean) / sd);
      } else {
        checked.push({ match: own.match!, above: hits.filter((h) => h.match! >= GOOD_MATCH).length });
      }
    }
    const result = {
      photos,
      fit: { captions: zFit.length, zQuartiles: [0.25, 0.5, 0.75].map((q) => Number(quantile(zFit, q).toFixed(3))) },
      check: {
        captions: checked.length,
        describedAtOrAboveGoodMatch: Number((checked.filter((c) => c.match >= GOOD_MATCH).length / checked.length).toFixed(3)),
        describedMedianMatch: quantile(checked.map((c) => c.match), 0.5),
        photosAtOrAboveGoodMatch: { median: quantile(checked.map((c) => c.above), 0.5), p10: quantile(checked.map((c) => c.above), 0.1), p90: quantile(checked.map((c) => c.above), 0.9) },
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await b.close();
    rmSync(data, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
