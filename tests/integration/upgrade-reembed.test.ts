/**
 * A library indexed by an earlier version of the app, whose built-in model has changed since (same id, other heads):
 * when the app or `serve` starts (startUp), the library is indexed again at once, so search never compares the new
 * model's queries with the old model's photos; an unchanged model starts nothing.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent, IndexSummary } from '../../shared/api';
import { openBackend } from '../../main/backend/backend';
import { openModel } from '../../main/backend/catalog/open-model';
import { embeddingProvenance } from '../../main/backend/library/embedding-provenance';
import { initHeads } from '../../main/backend/model/heads';
import { loadHeads, saveHeads } from '../../main/backend/model/heads-format';
import { coverageNotes } from '../../main/cli/format';
import { makePhotos } from '../helpers/fixtures';
import { generateTestModel } from '../helpers/generate-model';

const PHOTOS = 5;
let tmp: string;
let modelDir: string;
let photos: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-upgrade-'));
  modelDir = await generateTestModel(path.join(tmp, 'model'), { seed: 31 });
  photos = path.join(tmp, 'photos');
  await makePhotos(photos, PHOTOS, 33);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Open the backend on `dataDir` with `dir` as its model, run startUp as the app does, and report the index jobs it started. */
async function startAndWatch(dataDir: string, dir: string, fn?: (b: Awaited<ReturnType<typeof openBackend>>) => Promise<void>) {
  const b = await openBackend({ dataDir, modelDir: dir });
  const events: ApiEvent[] = [];
  b.onEvent((e) => events.push(e));
  try {
    await fn?.(b);
    await b.startUp({ watch: false });
    await b.state.jobs.idle('index');
    const jobs = events.flatMap((e) => (e.type === 'job' && e.job.kind === 'index' && e.job.state === 'done' ? [e.job] : []));
    const notices = events.flatMap((e) => (e.type === 'notice' ? [e.message] : []));
    const model = await b.state.active.load();
    return { jobs, notices, embedded: b.state.store.countEmbeddings(model.id), made: b.state.store.getSetting(`embeddingsMadeBy:${model.id}`), now: embeddingProvenance(model), hits: (await b.search.search('a shape', 10)).length };
  } finally {
    await b.close();
  }
}

describe('start-up after the active model changed under the same id', () => {
  it('embeds the library again with the model as it is now; an unchanged model starts nothing', async () => {
    const dataDir = path.join(tmp, 'data');
    const dir = path.join(tmp, 'model-v1');
    cpSync(modelDir, dir, { recursive: true });
    // Version 1 indexes the library.
    const first = await startAndWatch(dataDir, dir, async (b) => {
      await (await b.library.addFolders([photos])).done;
    });
    expect(first.embedded).toBe(PHOTOS);
    expect(first.jobs).toHaveLength(1); // the addFolders job only: nothing was outdated at start-up
    expect(first.made).toBe(first.now);

    // Started again with the same model: nothing to do.
    const again = await startAndWatch(dataDir, dir);
    expect(again.jobs).toHaveLength(0);
    expect(again.notices).toEqual([]);

    // The upgrade: the same folder (same id, same towers) now holds other heads.
    const loaded = await openModel(dir);
    const manifest = loaded.manifest;
    await loaded.dispose();
    const heads = await loadHeads(path.join(dir, manifest.heads));
    await saveHeads(path.join(dir, manifest.heads), initHeads(heads.spec, 99));
    // Before anything embeds them again (the CLI starts nothing by itself): status counts them, search's notes say so.
    const cli = await openBackend({ dataDir, modelDir: dir });
    try {
      const st = await cli.library.status();
      expect(st.outdated).toBe(PHOTOS);
      expect(coverageNotes(st).join(' ')).toMatch(/5 of 5 photos were embedded by an earlier version of model .* run `photo-search index`/);
    } finally {
      await cli.close();
    }
    const upgraded = await startAndWatch(dataDir, dir);
    expect(upgraded.now).not.toBe(first.now);
    expect(upgraded.jobs).toHaveLength(1);
    expect((upgraded.jobs[0]!.result as IndexSummary).updated).toBe(PHOTOS);
    expect(upgraded.notices.join(' ')).toMatch(/changed with this version: embedding the library's 5 photos again/);
    expect(upgraded.made).toBe(upgraded.now);
    expect(upgraded.embedded).toBe(PHOTOS);
    expect(upgraded.hits).toBe(PHOTOS);
    const after = await openBackend({ dataDir, modelDir: dir });
    try {
      expect((await after.library.status()).outdated).toBe(0);
    } finally {
      await after.close();
    }
  }, 120_000);
});
