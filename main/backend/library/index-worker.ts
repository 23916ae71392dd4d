/**
 * Indexing off the main thread. The same file is both sides (the messages go through worker-relay.ts):
 *  - main side: `runIndexInWorker` starts a worker_threads Worker on this module;
 *  - worker side: opens its own Store on the same database file (WAL lets the main side keep reading and
 *    writing; busy_timeout makes either side wait for the other's short write transactions) and loads the
 *    model itself, then runs indexFolders.
 */
import { isMainThread, workerData } from 'node:worker_threads';
import type { IndexSummary } from '../../../shared/api';
import { openModel } from '../catalog/open-model';
import type { EmbeddingModel } from '../model/types';
import { dataPaths } from '../paths';
import { Store } from '../store';
import { runInWorker, serveInWorker, type WorkerContext } from '../worker-relay';
import { Cancelled } from '../errors';
import { readTextInPhotos } from '../text/text-pass';
import { findTextGate, textReadMode, type TextReadMode } from '../text/text-gate';
import { builtinModelDir } from '../catalog/registry';
import { INDEX_CANCELLED, indexFolders, type IndexProgress } from './indexer';

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
  /**
   * Read the words in photos after embedding: 'gate' (the default) past the text gate, 'all' every photo, 'off'
   * not at all; true means the default. Default from PHOTO_SEARCH_READ_TEXT (0 = off, all = all).
   */
  readText?: boolean | TextReadMode;
}

interface WorkerInput {
  task: typeof TASK;
  dataDir: string;
  modelDir: string;
  roots: string[];
  batchSize?: number;
  decodeConcurrency?: number;
  maxPixels?: number;
  readText: TextReadMode;
}

/** Index `roots` in a worker thread; rejects with Cancelled (its `partial` the summary so far) when `signal` aborts. */
export function runIndexInWorker(opts: IndexWorkerOptions): Promise<IndexSummary> {
  const input: WorkerInput = {
    task: TASK,
    dataDir: opts.dataDir,
    modelDir: opts.modelDir,
    roots: opts.roots,
    batchSize: opts.batchSize,
    decodeConcurrency: opts.decodeConcurrency,
    maxPixels: opts.maxPixels,
    readText: opts.readText === true ? 'gate' : opts.readText === false ? 'off' : (opts.readText ?? textReadMode()),
  };
  return runInWorker<IndexSummary, IndexProgress>({
    dir: __dirname,
    name: 'index-worker',
    input,
    signal: opts.signal,
    onEvent: opts.onProgress,
    cancelMessage: INDEX_CANCELLED,
    crashed: (e) => new Error(`Indexing failed: ${e.message}`),
    exited: (code) => new Error(`Indexing stopped unexpectedly (worker exit code ${code}). Run it again: finished batches are kept.`),
  });
}

/** Worker side: everything heavy is loaded here, not in the main thread. */
async function indexTask(input: WorkerInput, ctx: WorkerContext<IndexProgress>): Promise<IndexSummary> {
  const paths = dataPaths(input.dataDir);
  let store: Store | null = null;
  let model: EmbeddingModel | null = null;
  try {
    store = new Store(paths.db);
    model = await openModel(input.modelDir);
    let last = 0;
    let lastImages = -1;
    /** The run's last report ('Done'): held back while the text pass runs, sent when it ends. */
    let done: IndexProgress | null = null;
    const summary = await indexFolders({
      store,
      model,
      roots: input.roots,
      signal: ctx.signal,
      batchSize: input.batchSize,
      decodeConcurrency: input.decodeConcurrency,
      maxPixels: input.maxPixels,
      onProgress: (progress) => {
        // indexFolders already throttles; keep the message rate bounded anyway, except for a committed
        // batch (the photo count changed): the header follows those.
        const t = Date.now();
        if (progress.stage === 'Done' && input.readText !== 'off') {
          done = progress;
          return;
        }
        if (t - last < 100 && progress.stage !== 'Done' && progress.images === lastImages) return;
        last = t;
        lastImages = progress.images;
        ctx.send(progress);
      },
    });
    if (input.readText === 'off') return summary;
    // The gate reads the photo features indexing cached for the active model; none fits another tower or other views (every photo is read).
    const towerKey = model.photoFeatureKey;
    const gate = input.readText === 'gate' ? findTextGate([model.dir, builtinModelDir()], towerKey, model.manifest.image.featureDim) : null;
    // The text pass runs once every photo is embedded: the library is searchable by content meanwhile. Its
    // reports keep the run's count of files looked at (all of them by now) and say in the stage how far it is.
    await model.dispose().catch(() => undefined);
    model = null;
    const files: IndexProgress = done ?? { stage: 'Done', done: 0, total: 0, etaSeconds: 0, rate: null, images: summary.images };
    summary.text = await readTextInPhotos({
      store,
      signal: ctx.signal,
      maxPixels: input.maxPixels,
      gate: gate ? { gate, towerKey } : null,
      onProgress: (p) =>
        ctx.send({ ...files, stage: `${p.stage}: ${p.done.toLocaleString('en-US')} of ${p.total.toLocaleString('en-US')}`, etaSeconds: p.etaSeconds, rate: p.rate }),
    });
    if (ctx.signal.aborted) throw new Cancelled(INDEX_CANCELLED, summary);
    ctx.send(files);
    return summary;
  } catch (e) {
    throw store ? store.explain(e) : e; // a full disk or a damaged library file, in words
  } finally {
    await model?.dispose().catch(() => undefined);
    store?.close();
  }
}

if (!isMainThread && (workerData as WorkerInput | undefined)?.task === TASK) {
  serveInWorker(indexTask);
}
