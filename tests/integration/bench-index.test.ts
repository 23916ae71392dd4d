import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchIndex } from '../../bench/bench-index';
import { Store } from '../../main/backend/store';
import { makePhotos } from '../helpers/fixtures';
import { testModel, type CountingModel } from '../helpers/counting-model';

let tmp: string;
let model: CountingModel;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-bench-index-'));
  model = await testModel(path.join(tmp, 'model'), { seed: 5 });
});
afterAll(async () => {
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('benchIndex', () => {
  it('times the tower alone and the whole pipeline over the same photos', async () => {
    const photos = path.join(tmp, 'photos');
    await makePhotos(photos, 12, 21);
    const before = { ...model.calls };
    const dataDir = path.join(tmp, 'data');
    const r = await benchIndex({ folder: photos, model, dataDir, batchSize: 4 });
    expect(r.images).toBe(12);
    expect(r.skipped).toBe(0);
    expect(r.imagesPerSec).toBeGreaterThan(0);
    expect(r.modelOnlyImagesPerSec).toBeGreaterThan(0);
    expect(r.ratio).toBeCloseTo(r.imagesPerSec / r.modelOnlyImagesPerSec, 10);
    // CPU time per photo: every step measured, the tower and the whole pipeline did work.
    expect(Object.keys(r.coreMs).sort()).toEqual(['decode', 'header', 'heads', 'pipeline', 'pixelHash', 'read', 'sha256', 'store', 'thumbnail', 'toFloat', 'tower']);
    expect(r.coreMs.decode).toBeGreaterThan(0);
    // Cold thumbnails of the 10 photos after the 2 warm-up ones: each a real decode + encode.
    expect(r.coreMs.thumbnail).toBeGreaterThan(0);
    expect(r.thumbnailP50Ms).toBeGreaterThan(0);
    expect(r.thumbnailP95Ms).toBeGreaterThanOrEqual(r.thumbnailP50Ms);
    expect(r.coreMs.tower).toBeGreaterThan(0);
    expect(r.coreMs.pipeline).toBeGreaterThan(0); // not compared with the steps: CPU times of separate runs are not ordered
    // Every photo went through the tower twice: timed alone (after a warm-up batch of 4), then in the pipeline.
    expect(model.calls.towerImages - before.towerImages).toBe(4 + 12 + 12);
    // The pipeline really indexed into the given data directory.
    const store = new Store(path.join(dataDir, 'library.db'));
    try {
      expect(store.countPhotos()).toBe(12);
    } finally {
      store.close();
    }
  });

  it('refuses a data folder that already holds a library, and a folder without photos', async () => {
    await expect(benchIndex({ folder: path.join(tmp, 'photos'), model, dataDir: path.join(tmp, 'data') })).rejects.toThrow(/already holds a library/);
    const empty = path.join(tmp, 'empty');
    await expect(benchIndex({ folder: empty, model })).rejects.toThrow(/No photos found in .*empty/);
    expect(existsSync(empty)).toBe(false);
  });
});
