/**
 * `compact` and the size report off the main thread: dbstat and VACUUM are long synchronous SQLite calls
 * (seconds to minutes at 1M photos) that would freeze the app's or the server's event loop. Same shape as
 * index-worker.ts: the main side starts a worker on this module, the worker opens its own Store on the file.
 * A VACUUM cannot be interrupted, so there is no cancel: it ends with the old file or the new one.
 */
import { isMainThread, workerData } from 'node:worker_threads';
import type { CompactResult, LibrarySize } from '../../../shared/api';
import { dataPaths } from '../paths';
import { Store, type FeatureCompaction } from '../store';
import { runInWorker, serveInWorker, type WorkerContext } from '../worker-relay';
import { compactLibrary, librarySize } from './compact';

const TASK = 'photo-search-compact';

type WorkerInput =
  | { task: typeof TASK; what: 'size'; dataDir: string }
  | { task: typeof TASK; what: 'compact'; dataDir: string; compaction: FeatureCompaction; dryRun: boolean; tempDir?: string };

function run<R>(input: WorkerInput, onStage?: (stage: string) => void): Promise<R> {
  return runInWorker<R, string>({
    dir: __dirname,
    name: 'compact-worker',
    input,
    onEvent: onStage,
    cancelMessage: 'Cancelled.',
    crashed: (e) => new Error(`Compacting the library failed: ${e.message}`),
    exited: (code) => new Error(`Compacting the library stopped unexpectedly (worker exit code ${code}). The library file is intact (the old or the compacted one); run it again.`),
  });
}

export function librarySizeInWorker(dataDir: string): Promise<LibrarySize> {
  return run<LibrarySize>({ task: TASK, what: 'size', dataDir });
}

export function compactInWorker(opts: { dataDir: string; compaction: FeatureCompaction; dryRun: boolean; tempDir?: string; onStage?: (stage: string) => void }): Promise<CompactResult> {
  return run<CompactResult>({ task: TASK, what: 'compact', dataDir: opts.dataDir, compaction: opts.compaction, dryRun: opts.dryRun, tempDir: opts.tempDir }, opts.onStage);
}

async function compactTask(input: WorkerInput, ctx: WorkerContext<string>): Promise<LibrarySize | CompactResult> {
  const store = new Store(dataPaths(input.dataDir).db);
  try {
    if (input.what === 'size') return await librarySize(store, input.dataDir);
    return await compactLibrary({ store, dataDir: input.dataDir, compaction: input.compaction, dryRun: input.dryRun, tempDir: input.tempDir, onStage: (s) => ctx.send(s) });
  } catch (e) {
    throw store.explain(e); // a full disk or a damaged library file, in words
  } finally {
    store.close();
  }
}

if (!isMainThread && (workerData as WorkerInput | undefined)?.task === TASK) {
  serveInWorker(compactTask);
}
