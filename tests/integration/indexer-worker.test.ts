import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runIndexInWorker } from '../../main/backend/library/index-worker';
import { Cancelled } from '../../main/backend/errors';
import { indexFolders, type IndexProgress } from '../../main/backend/library/indexer';
import { openModel } from '../../main/backend/catalog/open-model';
import { Store } from '../../main/backend/store';
import { makePhotos } from '../helpers/fixtures';
import { useTempModel } from '../helpers/temp-model';

let tmp: string;
let modelDir: string;

useTempModel('ps-worker-', 4, (t, m) => {
  tmp = t;
  modelDir = m;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('indexing in a worker', () => {
  it('indexes in a worker thread while the main side holds the same database open', async () => {
    const dataDir = path.join(tmp, 'data-worker');
    const root = path.join(tmp, 'photos-worker');
    await makePhotos(root, 20, 61);
    const main = new Store(path.join(dataDir, 'library.db')); // the service's connection
    const progress: IndexProgress[] = [];
    const model = await openModel(modelDir);
    try {
      const run = runIndexInWorker({ dataDir, modelDir, roots: [root], batchSize: 4, onProgress: (p) => progress.push(p) });
      // Main-side reads and writes keep working during the run (WAL + busy_timeout).
      while (main.countPhotos() < 20 && progress.at(-1)?.stage !== 'Done') {
        main.setSetting('ping', String(Date.now()));
        await sleep(5);
      }
      const summary = await run;
      expect(summary).toMatchObject({ added: 20, skipped: 0, images: 20 });
      expect(main.countPhotos()).toBe(20);
      expect(main.countEmbeddings(model.id)).toBe(20);
      expect(progress.at(-1)).toMatchObject({ stage: 'Done', done: 20, total: 20 });
      // A second run in a worker finds nothing to do.
      expect(await runIndexInWorker({ dataDir, modelDir, roots: [root] })).toMatchObject({ unchanged: 20, added: 0 });
    } finally {
      main.close();
      await model.dispose();
    }
  });

  it('cancels through the signal and reports a model it cannot load in one line', async () => {
    const dataDir = path.join(tmp, 'data-cancel');
    const root = path.join(tmp, 'photos-cancel');
    await makePhotos(root, 8, 62);
    const ac = new AbortController();
    const run = runIndexInWorker({ dataDir, modelDir, roots: [root], signal: ac.signal });
    ac.abort();
    await expect(run).rejects.toBeInstanceOf(Cancelled);
    const missing = path.join(tmp, 'no-model');
    const err = (await runIndexInWorker({ dataDir, modelDir: missing, roots: [root] }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain(missing);
    expect(err.message).not.toContain('\n');
  });

  it('survives kill -9 mid-run: the database is intact, no half-written photo, and the next run completes', async () => {
    const dataDir = path.join(tmp, 'data-kill');
    const root = path.join(tmp, 'photos-kill');
    const total = 40;
    await makePhotos(root, total, 63);
    const store = new Store(path.join(dataDir, 'library.db'));
    const model = await openModel(modelDir);
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'helpers', 'kill-child.ts'), dataDir, modelDir, root, '150'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<NodeJS.Signals | number | null>((r) => child.on('exit', (code, sig) => r(sig ?? code)));
      // Kill once the first batch is committed.
      const deadline = Date.now() + 30_000;
      while (store.countPhotos() < 4) {
        if (Date.now() > deadline) throw new Error(`child never committed a batch: ${stderr}`);
        if (child.exitCode !== null) throw new Error(`child exited early (${child.exitCode}): ${stderr}`);
        await sleep(10);
      }
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');

      const before = store.countPhotos();
      expect(before).toBeGreaterThanOrEqual(4);
      expect(before).toBeLessThan(total); // killed mid-run, not after
      expect(store.disk.integrityCheck()).toBe('ok');
      expect(store.photosMissingEmbedding(model.id)).toEqual([]);

      const summary = await indexFolders({ store, model, roots: [root], batchSize: 4 });
      expect(summary).toMatchObject({ added: total - before, unchanged: before, images: total });
      expect(store.countEmbeddings(model.id)).toBe(total);
    } finally {
      store.close();
      await model.dispose();
    }
  });
});
