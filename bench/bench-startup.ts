/**
 * One search-index start-up in a fresh process, for `bench search`: open the library database, load the
 * index (from its sidecar when it matches), print what it cost as one JSON line. A fresh process is the
 * only honest way to see the memory a start-up takes: in the benchmark's own process, freeing the index
 * it built first would hide part of the growth.
 *
 *   node bench-startup.js DB SIDECAR_DIR MODEL_ID DIM
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Store } from '../main/backend/store';
import { LiveIndex } from '../main/backend/search/live-index';

export interface StartupResult {
  from: string;
  reason?: string;
  rows: number;
  /** Wall time until the index is ready to search, and the CPU time it took (all threads). */
  ms: number;
  cpuMs: number;
  /** Process RSS growth across the load, the RSS after it, and the index's own buffers. */
  rssDeltaMB: number;
  rssMB: number;
  indexMB: number;
}

const MB = 1024 * 1024;

export async function measureStartup(db: string, sidecarDir: string, modelId: string, dim: number): Promise<StartupResult> {
  const store = new Store(db);
  const live = new LiveIndex({ store, embedDim: async () => dim, sidecarDir });
  try {
    const rss0 = process.memoryUsage().rss;
    const cpu0 = process.cpuUsage();
    const idx = await live.get(modelId);
    const cpu = process.cpuUsage(cpu0);
    const rss = process.memoryUsage().rss;
    const load = live.lastLoad;
    return {
      from: load?.from ?? 'none',
      ...(load?.reason ? { reason: load.reason } : {}),
      rows: idx.size,
      ms: load?.ms ?? NaN,
      cpuMs: (cpu.user + cpu.system) / 1000,
      rssDeltaMB: (rss - rss0) / MB,
      rssMB: rss / MB,
      indexMB: idx.memoryBytes() / MB,
    };
  } finally {
    await live.close();
    store.close();
  }
}

/** Run `measureStartup` in a child process (compiled .js, or the .ts source through tsx under the tests). */
export async function startupInFreshProcess(db: string, sidecarDir: string, modelId: string, dim: number): Promise<StartupResult> {
  const js = path.join(__dirname, 'bench-startup.js');
  const args = existsSync(js) ? [js] : ['--import', 'tsx', path.join(__dirname, 'bench-startup.ts')];
  const { stdout } = await promisify(execFile)(process.execPath, [...args, db, sidecarDir, modelId, String(dim)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as StartupResult;
}

if (require.main === module) {
  const [db, dir, modelId, dim] = process.argv.slice(2);
  measureStartup(db, dir, modelId, Number(dim)).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
