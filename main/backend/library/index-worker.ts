/**
 * Indexing off the main thread. The same file is both sides:
 *  - main side: `runIndexInWorker` starts a worker_threads Worker on this module and relays its messages;
 *  - worker side: opens its own Store on the same database file (WAL lets the main side keep reading and
 *    writing; busy_timeout makes either side wait for the other's short write transactions) and loads the
 *    model itself, then runs indexFolders.
 * Messages worker → main: progress, done(summary), cancelled(summary), error(message). Main → worker: cancel.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { IndexSummary } from '../../../shared/api';
import { loadModel } from '../model/model';
import type { EmbeddingModel } from '../model/types';
import { dataPaths } from '../paths';
import { Store } from '../store';
import { startWorker } from '../worker-path';
import { IndexCancelledError, indexFolders, type IndexProgress } from './indexer';

const TASK = 'photo-search-index';

export interface IndexWorkerOptions {
  dataDir: string;
  modelDir: string;
  roots: string[];
  onProgress?: (p: IndexProgress) => void;
  signal?: AbortSignal;
  batchSize?: number;
  decodeConcurrency?: number;
  maxPixels?: number;
}

interface WorkerInput {
  task: typeof TASK;
  dataDir: string;
  modelDir: string;
  roots: string[];
  batchSize?: number;
  decodeConcurrency?: number;
  maxPixels?: number;
}

type WorkerMessage =
  | { type: 'progress'; progress: IndexProgress }
  | { type: 'done'; summary: IndexSummary }
  | { type: 'cancelled'; summary: IndexSummary }
  | { type: 'error'; message: string };

/** Index `roots` in a worker thread; rejects with IndexCancelledError when `signal` aborts. */
export function runIndexInWorker(opts: IndexWorkerOptions): Promise<IndexSummary> {
  return new Promise<IndexSummary>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new IndexCancelledError({ added: 0, updated: 0, removed: 0, unchanged: 0, skipped: 0, images: 0, seconds: 0, unavailable: [] }));
      return;
    }
    const input: WorkerInput = {
      task: TASK,
      dataDir: opts.dataDir,
      modelDir: opts.modelDir,
      roots: opts.roots,
      batchSize: opts.batchSize,
      decodeConcurrency: opts.decodeConcurrency,
      maxPixels: opts.maxPixels,
    };
    const worker = startWorker(__dirname, 'index-worker', { workerData: input });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => worker.postMessage({ type: 'cancel' });
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') opts.onProgress?.(m.progress);
      else if (m.type === 'done') finish(() => resolve(m.summary));
      else if (m.type === 'cancelled') finish(() => reject(new IndexCancelledError(m.summary)));
      else if (m.type === 'error') finish(() => reject(new Error(m.message)));
    });
    worker.on('error', (e) => finish(() => reject(new Error(`Indexing failed: ${e.message}`))));
    worker.on('exit', (code) =>
      finish(() => reject(new Error(`Indexing stopped unexpectedly (worker exit code ${code}). Run it again: finished batches are kept.`))),
    );
  });
}

/** Worker side: everything heavy is loaded here, not in the main thread. */
async function workerMain(input: WorkerInput): Promise<void> {
  const port = parentPort!;
  const post = (m: WorkerMessage) => port.postMessage(m);
  const ac = new AbortController();
  port.on('message', (m: { type?: string }) => {
    if (m?.type === 'cancel') ac.abort();
  });
  const paths = dataPaths(input.dataDir);
  let store: Store | null = null;
  let model: EmbeddingModel | null = null;
  try {
    store = new Store(paths.db);
    model = await loadModel(input.modelDir);
    let last = 0;
    let lastImages = -1;
    const summary = await indexFolders({
      store,
      model,
      roots: input.roots,
      signal: ac.signal,
      batchSize: input.batchSize,
      decodeConcurrency: input.decodeConcurrency,
      maxPixels: input.maxPixels,
      onProgress: (progress) => {
        // indexFolders already throttles; keep the message rate bounded anyway, except for a committed
        // batch (the photo count changed): the header follows those.
        const t = Date.now();
        if (t - last < 100 && progress.stage !== 'Done' && progress.images === lastImages) return;
        last = t;
        lastImages = progress.images;
        post({ type: 'progress', progress });
      },
    });
    post({ type: 'done', summary });
  } catch (e) {
    if (e instanceof IndexCancelledError) post({ type: 'cancelled', summary: e.summary });
    else {
      const err = store ? store.explain(e) : e; // a full disk or a damaged library file, in words
      post({ type: 'error', message: err instanceof Error ? err.message.split('\n')[0] : String(err) });
    }
  } finally {
    await model?.dispose().catch(() => undefined);
    store?.close();
    port.close(); // lets the worker's event loop end
  }
}

if (!isMainThread && (workerData as WorkerInput | undefined)?.task === TASK) {
  void workerMain(workerData as WorkerInput);
}
