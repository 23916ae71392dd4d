/**
 * Retraining on a new kind of photo, end to end through the CLI: generated scenes of coloured shapes, counts and
 * positions ("a gray ring above a red diamond", tests/helpers/scenes.ts), 2,000 to train on and 300 others to
 * test on. Runs `photo-search train` on the first set and `photo-search eval` of the starting and the new model on
 * the second, and prints text→photo recall, what the fine-tune chose and the wall time.
 *
 *   npx tsx scripts/bench-scenes.ts [--invented] [--train 2000] [--test 300] [--work scratch/scenes] [--keep SET] [--json]
 *
 * `--invented` names the shapes with invented words ("a gray fep above a red toma"): a model can learn them only
 * from the set. `--keep ../shared/datasets/flickr8k/dev` also evaluates both models on that set: what the new model still
 * finds of the kind its base knew (a retrained model must not be worse there). Needs `npm run build` (it runs the built CLI, as a user would).
 */
import { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { INVENTED_SHAPE_WORDS, makeSceneSet } from '../tests/helpers/scenes';

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'bin', 'photo-search.js');

interface Recall {
  textToImage: { r1: number; r5: number; r10: number };
}

function cli(data: string, args: string[]): unknown {
  const out = execFileSync(process.execPath, [CLI, '--data', data, ...args, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out);
}

async function ensureSet(dir: string, photos: number, seed: number, invented: boolean): Promise<void> {
  if (existsSync(path.join(dir, 'captions.txt'))) return;
  await makeSceneSet(dir, { photos, seed, shapeWords: invented ? INVENTED_SHAPE_WORDS : undefined });
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--invented', 'invented words for the shapes')
    .option('--train <n>', 'photos to train on', (v) => Number.parseInt(v, 10), 2000)
    .option('--test <n>', 'photos to test on', (v) => Number.parseInt(v, 10), 300)
    .option('--base <model>', 'model to start from (default: the built-in one)')
    .option('--work <dir>', 'work folder (sets and a data folder)', path.join(ROOT, 'scratch', 'scenes'))
    .option('--keep <set>', "a captioned set of the base's kind, evaluated with both models")
    .option('--json', 'print the result as JSON')
    .parse()
    .opts<{ invented?: boolean; train: number; test: number; base?: string; work: string; keep?: string; json?: boolean }>();
  const kind = o.invented ? 'invented' : 'named';
  const work = path.resolve(o.work);
  const trainDir = path.join(work, `${kind}-train-${o.train}`);
  const testDir = path.join(work, `${kind}-test-${o.test}`);
  await ensureSet(trainDir, o.train, 1, !!o.invented);
  await ensureSet(testDir, o.test, 2, !!o.invented);
  const data = await fs.mkdtemp(path.join(work, 'data-'));
  try {
    const before = cli(data, ['eval', testDir, ...(o.base ? ['--model', o.base] : [])]) as Recall;
    const name = `scenes-${kind}-${Date.now()}`;
    const t0 = Date.now();
    const trained = cli(data, ['train', trainDir, '--name', name, ...(o.base ? ['--base', o.base] : [])]) as { heldOut: unknown; trainSeconds: number; blend: number };
    const trainWall = (Date.now() - t0) / 1000;
    const after = cli(data, ['eval', testDir, '--model', name]) as Recall;
    const kept = o.keep
      ? { set: o.keep, before: (cli(data, ['eval', o.keep, ...(o.base ? ['--model', o.base] : [])]) as Recall).textToImage, after: (cli(data, ['eval', o.keep, '--model', name]) as Recall).textToImage }
      : null;
    const result = { kind, trainPhotos: o.train, testPhotos: o.test, before: before.textToImage, after: after.textToImage, kept, heldOut: trained.heldOut, trainSeconds: trained.trainSeconds, trainWallSeconds: trainWall };
    if (o.json) console.log(JSON.stringify(result, null, 2));
    else {
      const f = (r: Recall['textToImage']) => `${r.r1.toFixed(1)} / ${r.r5.toFixed(1)} / ${r.r10.toFixed(1)}`;
      console.log(`${kind} shapes: train on ${o.train}, test on ${o.test} others; text→photo R@1/5/10 ${f(before.textToImage)} → ${f(after.textToImage)}; train ${trainWall.toFixed(0)} s wall`);
      if (kept) console.log(`${kept.set} with the starting → new model: text→photo R@1/5/10 ${f(kept.before)} → ${f(kept.after)}`);
      console.log(`chosen: ${JSON.stringify((trained.heldOut as { choice?: unknown } | null)?.choice ?? null)}`);
    }
  } finally {
    await fs.rm(data, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(1);
});
