/**
 * Switching models is crash-safe (issue 12, item 6): the library is embedded with the new model before it
 * becomes active, an interrupted switch leaves the old model active with every photo searchable and is
 * reported as pending, and the same command (or the next app start) finishes it keeping the work done.
 * The kill -9 version of this runs in fault-injection.test.ts.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openBackend, type Backend } from '../../main/backend/backend';
import { installModelCopy, writeSyntheticLibrary } from '../helpers/synthetic-library';
import { useTempModel } from '../helpers/temp-model';

const N = 1300; // six re-embedding batches of 256

let tmp: string;
let modelDir: string;

useTempModel('ps-switch-', 7, (t, m) => {
  tmp = t;
  modelDir = m;
});

async function library(name: string): Promise<Backend> {
  const dataDir = path.join(tmp, name);
  await writeSyntheticLibrary(path.join(dataDir, 'library.db'), modelDir, N, 3);
  await installModelCopy(modelDir, dataDir, 'model-b');
  return openBackend({ dataDir, modelDir });
}

describe('models use (item 6)', () => {
  it('a cancelled switch keeps the old model active and every photo searchable, reports the switch as pending, and finishes on the next try', async () => {
    const b = await library('cancel');
    try {
      const oldModel = b.state.active.id();
      expect(oldModel).not.toBe('model-b');
      const job = (await b.modelSwitch.activateModel('model-b'))!;
      expect(job).not.toBeNull();
      // Pending as soon as the job starts; the old model is still the one search uses.
      expect(b.state.active.id()).toBe(oldModel);
      expect((await b.library.status()).pendingModel).toMatchObject({ id: 'model-b', total: N });
      // Cancel at the first progress report: one batch of 256 is committed.
      const off = b.onEvent((e) => {
        if (e.type === 'job' && e.job.id === job.info.id && e.job.done > 0) b.state.jobs.cancel(job.info.id);
      });
      await expect(job.done).rejects.toThrow(/Switching to model model-b was cancelled with \d+ photos still to embed; the previous model stays active/);
      off();

      const st = await b.library.status();
      expect(st.model).toBe(oldModel);
      expect(st.embedded).toBe(N);
      expect(st.pendingModel!.id).toBe('model-b');
      expect(st.pendingModel!.embedded).toBeGreaterThan(0);
      expect(st.pendingModel!.embedded).toBeLessThan(N);
      expect(await b.search.search('a red circle', N + 10)).toHaveLength(N);

      // The next start finishes it (the server and the desktop app call this at start).
      const again = (await b.modelSwitch.resume())!;
      expect(again).not.toBeNull();
      await again.done;
      const done = await b.library.status();
      expect(done).toMatchObject({ model: 'model-b', embedded: N, images: N, pendingModel: null });
      expect(await b.search.search('a red circle', N + 10)).toHaveLength(N);
      expect(await b.modelSwitch.resume()).toBeNull();
      expect(b.state.store.disk.integrityCheck()).toBe('ok');
    } finally {
      await b.close();
    }
  });

  it('search says how many photos the active model has not embedded instead of "no photos"', async () => {
    const b = await library('none-embedded');
    try {
      // A library left by a version that activated the model before embedding (the old behaviour).
      b.state.store.setSetting('activeModel', 'model-b');
      await expect(b.search.search('a red circle')).rejects.toThrow(
        `None of the ${N} photos is embedded with model model-b yet. Run \`photo-search models use model-b\``,
      );
      const job = (await b.modelSwitch.activateModel('model-b'))!;
      await job.done;
      expect(await b.search.search('a red circle', 5)).toHaveLength(5);
    } finally {
      await b.close();
    }
  });
});
