/**
 * Start a worker_threads Worker for a module next to the caller, compiled (.js, the app and CLI) or
 * TypeScript source (.ts, under the test runner, loaded through tsx).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorker(dir: string, baseName: string, options: WorkerOptions = {}): Worker {
  const js = path.join(dir, `${baseName}.js`);
  if (existsSync(js)) return new Worker(js, options);
  const ts = path.join(dir, `${baseName}.ts`);
  if (!existsSync(ts)) throw new Error(`Worker module ${baseName} not found in ${dir}. Run \`npm run build\`.`);
  // NOTE: `execArgv: ['--import', 'tsx']` does not apply tsx to a worker's entry on Node 20 ("Unknown file
  // extension .ts"), so a tiny CommonJS bootstrap registers tsx's require hook and then loads the entry.
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(ts)});`, { ...options, eval: true });
}
