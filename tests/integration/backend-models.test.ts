/**
 * The backend's model lifecycle on a real library (generated models, real SQLite, real sharp, real
 * onnxruntime): the active model id is resolved once per setting (searches do not re-read every model.json)
 * and follows a switch made here or by another process; a model switch that must re-index runs that as the
 * one `index` job (a re-scan meanwhile is refused, never a second worker on the same folders); and a
 * long-running front's start-up loads the search index before the first search asks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JobInfo } from '../../shared/api';
import { openBackend, type Backend } from '../../main/backend/backend';
import { makePhotos } from '../helpers/fixtures';
import { generateTestModel } from '../helpers/generate-model';

const PHOTOS = 10;

let tmp: string;
let modelDir: string;
let dataDir: string;
let photos: string;
let b: Backend;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-backend-models-'));
  modelDir = await generateTestModel(path.join(tmp, 'model-a'), { seed: 7 });
  dataDir = path.join(tmp, 'data');
  // A second model with its own image tower: switching to it finds no cached tower features, so it must re-index.
  await generateTestModel(path.join(dataDir, 'models', 'model-b'), { seed: 8, id: 'model-b' });
  await generateTestModel(path.join(dataDir, 'models', 'model-c'), { seed: 9, id: 'model-c' });
  photos = path.join(tmp, 'photos');
  await makePhotos(photos, PHOTOS, 41);
  b = await openBackend({ dataDir, modelDir });
  await (await b.library.addFolders([photos])).done;
});

afterAll(async () => {
  await b?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('the active model', () => {
  it('is resolved once: searches do not list the models again', async () => {
    const modelA = b.state.active.id();
    expect(modelA).not.toBe('model-b');
    await b.search.search('red', 3);
    const listing = vi.spyOn(b.state.registry, 'list');
    try {
      for (const q of ['red', 'a dog', 'blue sky']) expect((await b.search.search(q, 3)).length).toBe(3);
      expect(b.state.active.id()).toBe(modelA);
      expect(listing).not.toHaveBeenCalled();
    } finally {
      listing.mockRestore();
    }
  });
});

describe('a model switch that must re-index', () => {
  it('runs the re-index as the one index job: a re-scan meanwhile is refused as busy', async () => {
    const api = b.handlers;
    const indexJobs = new Set<string>();
    const rescans: Promise<unknown>[] = [];
    const off = b.onEvent((e) => {
      if (e.type !== 'job' || e.job.kind !== 'index' || e.job.state !== 'running' || indexJobs.has(e.job.id)) return;
      indexJobs.add(e.job.id);
      // The switch's re-index has just started: a re-scan from any front must not start a second worker.
      rescans.push(api.rescan().then((job: JobInfo) => job, (err: unknown) => err));
    });
    try {
      const job = await b.modelSwitch.activateModel('model-b');
      expect(job).not.toBeNull();
      await job!.done;
    } finally {
      off();
    }
    expect(indexJobs.size).toBe(1);
    expect(await Promise.all(rescans)).toEqual([expect.objectContaining({ code: 'busy', message: expect.stringMatching(/An index job is already running/) })]);
    // The new model is active at once (the cached id was forgotten), with every photo embedded.
    expect(b.state.active.id()).toBe('model-b');
    const st = await b.library.status();
    expect(st).toMatchObject({ model: 'model-b', images: PHOTOS, embedded: PHOTOS, pendingModel: null });
    expect(b.state.jobs.list().filter((j) => j.kind === 'index').map((j) => j.state)).toEqual(['done', 'done']);
  });

  it('follows a switch another process made (the CLI while the app runs)', async () => {
    const other = await openBackend({ dataDir, modelDir });
    try {
      const back = other.state.registry.defaultId();
      expect(await other.modelSwitch.activateModel(back)).toBeNull(); // its embeddings exist: switched at once
      expect(b.state.active.id()).toBe(back);
      expect((await b.search.search('red', 2)).length).toBe(2);
    } finally {
      await other.close();
    }
  });
});

describe('cancelling a model switch while it re-indexes', () => {
  it('cancels its index job too, and leaves the old model active with the switch pending', async () => {
    const before = b.state.active.id();
    let switchJob: string | null = null;
    let indexJob: string | null = null;
    const off = b.onEvent((e) => {
      if (e.type === 'job' && e.job.kind === 'index' && e.job.state === 'running' && !indexJob && switchJob) {
        indexJob = e.job.id;
        b.state.jobs.cancel(switchJob);
      }
    });
    try {
      const job = (await b.modelSwitch.activateModel('model-c'))!;
      switchJob = job.info.id;
      await expect(job.done).rejects.toMatchObject({ code: 'cancelled', message: expect.stringMatching(/^Switching to model model-c was cancelled/) });
    } finally {
      off();
    }
    expect(b.state.jobs.list().find((j) => j.id === indexJob)?.state).toBe('cancelled');
    expect(b.state.active.id()).toBe(before);
    expect((await b.library.status()).pendingModel).toMatchObject({ id: 'model-c', total: PHOTOS });
  });
});

describe('start-up of the desktop app and `serve`', () => {
  it('loads the search index before any search asks for it', async () => {
    const fresh = await openBackend({ dataDir, modelDir });
    const loads = vi.spyOn(fresh.state.store, 'iterateEmbeddings');
    try {
      expect(fresh.state.searchIndex.peek()).toBeNull();
      await fresh.startUp({ watch: false });
      // No search has run: only the warm-up can have loaded the index (from the sidecar file, or from SQLite
      // when there is none yet).
      await vi.waitFor(() => expect(fresh.state.searchIndex.peek()?.size).toBe(PHOTOS), { timeout: 60_000, interval: 20 });
      const warmed = fresh.state.searchIndex.peek();
      const readsBefore = loads.mock.calls.length;
      expect(readsBefore).toBeLessThanOrEqual(1);
      expect((await fresh.search.search('red', 2)).length).toBe(2);
      // The search used the warmed index: no second load.
      expect(fresh.state.searchIndex.peek()).toBe(warmed);
      expect(loads).toHaveBeenCalledTimes(readsBefore);
    } finally {
      loads.mockRestore();
      await fresh.close();
    }
  });
});
