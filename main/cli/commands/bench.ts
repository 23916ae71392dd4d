/**
 * `bench search`, `bench index`: figures for docs/BENCHMARKS.md. Their code lives in the repo's bench/
 * folder, loaded only when asked for: the installed app does not ship it.
 */
import type { Command } from 'commander';
import { AppError, resolveDataDir } from '../../backend';
import type { Runner } from '../context';
import { out } from '../format';
import { intIn } from '../options';
import { shown } from '../terminal';

function loadBench(): typeof import('../../../bench/commands') {
  try {
    return require('../../../bench/commands') as typeof import('../../../bench/commands');
  } catch (e) {
    if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND') throw e;
    throw new AppError('unsupported', 'Benchmarks run from a source checkout of Photo Search (npm install, then npx photo-search bench …); the installed app does not include them.');
  }
}

const lines = (o: object) => Object.entries(o).map(([k, v]) => `${k}: ${typeof v === 'number' ? Number(v.toFixed(3)) : v}`);

export function registerBench(program: Command, run: Runner): void {
  const bench = program.command('bench').description('benchmarks (figures for docs/BENCHMARKS.md)');
  bench
    .command('search')
    .description('search latency over N random unit vectors in a scratch store')
    .option('--vectors <n>', 'how many vectors', intIn('--vectors', 1), 100_000)
    .option('--dim <d>', 'vector size', intIn('--dim', 1, 65_536), 512)
    .option('--queries <q>', 'timed queries', intIn('--queries', 1), 100)
    .option('--json')
    .action((o: { vectors: number; dim: number; queries: number; json?: boolean }) =>
      run(async () => {
        const { benchSearch } = loadBench();
        const r = await benchSearch({ vectors: o.vectors, dim: o.dim, queries: o.queries, seed: 1 });
        out(!!o.json, r, () => lines(r).join('\n'));
      }, false),
    );
  bench
    .command('index')
    .description('indexing throughput vs the image tower alone')
    .argument('<folder>')
    .option('--json')
    .action((folder: string, o: { json?: boolean }) =>
      run(async (_cli, g) => {
        const { benchIndexActiveModel } = loadBench();
        const r = await benchIndexActiveModel({
          dataDir: resolveDataDir(g.data),
          modelDir: g.modelDir ?? process.env.PHOTO_SEARCH_MODEL_DIR ?? null,
          folder,
          onProgress: (m) => process.stderr.write(`${shown(m)}\n`),
        });
        const { coreMs, ...rest } = r;
        out(!!o.json, r, () => [...lines(rest), 'CPU ms per photo:', ...lines(coreMs).map((l) => `  ${l}`)].join('\n'));
      }, false),
    );
}
