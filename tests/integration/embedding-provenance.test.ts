/**
 * A model that keeps its id but changes (the built-in model of a newer app: other heads, or photos seen another way)
 * must not leave its old embeddings beside its new queries: indexing and re-embedding drop them first and embed
 * every photo again, from cached features when the features are the same.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel } from '../../main/backend/catalog/open-model';
import { embeddingProvenance } from '../../main/backend/library/embedding-provenance';
import { indexFolders, reembedFromCache } from '../../main/backend/library/indexer';
import { initHeads } from '../../main/backend/model/heads';
import { saveHeads } from '../../main/backend/model/heads-format';
import { Store } from '../../main/backend/store';
import { counting, testModel, type CountingModel } from '../helpers/counting-model';
import { makePhotos } from '../helpers/fixtures';

const PHOTOS = 6;
let tmp: string;
let model: CountingModel;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-provenance-'));
  model = await testModel(path.join(tmp, 'model'), { seed: 4 });
  await makePhotos(path.join(tmp, 'photos'), PHOTOS, 21);
});
afterAll(async () => {
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** The same model folder (same id, same towers) with other heads: what a newer app's built-in model looks like. */
async function retrained(name: string): Promise<CountingModel> {
  const dir = path.join(tmp, name);
  cpSync(model.dir, dir, { recursive: true });
  await saveHeads(path.join(dir, model.manifest.heads), initHeads(model.heads.spec, 99));
  return counting(await openModel(dir));
}

/** A library file of its own, with the photos indexed by `model`, closed afterwards. */
async function withIndexed(name: string, fn: (store: Store, root: string) => Promise<void>): Promise<void> {
  const store = new Store(path.join(tmp, `${name}.db`));
  const root = path.join(tmp, 'photos');
  try {
    expect((await indexFolders({ store, model, roots: [root] })).added).toBe(PHOTOS);
    await fn(store, root);
  } finally {
    store.close();
  }
}

/** `model`'s folder with other heads, loaded, disposed afterwards. */
async function withRetrained(name: string, fn: (next: CountingModel) => Promise<void>): Promise<void> {
  const next = await retrained(name);
  try {
    await fn(next);
  } finally {
    await next.dispose();
  }
}

describe('embeddings made by another version of a model', () => {
  it('are embedded again by the next index, from the cached features, and only once', async () => {
    await withIndexed('again', async (store, root) => {
      // The same model again: nothing to do.
      expect((await indexFolders({ store, model, roots: [root] })).unchanged).toBe(PHOTOS);
      await withRetrained('next-heads', async (next) => {
        expect(next.id).toBe(model.id);
        expect(embeddingProvenance(next)).not.toBe(embeddingProvenance(model));
        const before = { ...next.calls };
        const s = await indexFolders({ store, model: next, roots: [root] });
        expect(s).toMatchObject({ added: 0, updated: PHOTOS, unchanged: 0 });
        // Heads only: the tower features were cached, so no photo was decoded again.
        expect(next.calls.prepareImage - before.prepareImage).toBe(0);
        // What is stored now is what the new heads make of the cached features
        // (every photo lacks an embedding of a model that does not exist: a list of them all).
        const all = store.photosMissingEmbedding('none-such');
        const feats = store.getFeatures(next.photoFeatureKey, all.map((p) => p.contentHash));
        const fresh = await next.embedImageFeatures(all.map((p) => feats.get(p.contentHash)!.data));
        const stored = store.embeddingsForModel(next.id);
        expect(stored.ids.length).toBe(PHOTOS);
        all.forEach((p, i) => {
          const row = stored.ids.indexOf(p.id);
          const got = stored.matrix.subarray(row * stored.dim, (row + 1) * stored.dim);
          expect(Array.from(got).map((x) => +x.toFixed(5))).toEqual(Array.from(fresh[i]!).map((x) => +x.toFixed(5)));
        });
        // And only once.
        expect((await indexFolders({ store, model: next, roots: [root] })).unchanged).toBe(PHOTOS);
      });
    });
  }, 60_000);

  it('are embedded again when the library has no record of who made them (written by an older version)', async () => {
    await withIndexed('older', async (store, root) => {
      store.setSetting(`embeddingsMadeBy:${model.id}`, null);
      expect((await indexFolders({ store, model, roots: [root] })).updated).toBe(PHOTOS);
      expect((await indexFolders({ store, model, roots: [root] })).unchanged).toBe(PHOTOS);
    });
  }, 60_000);

  it('are re-made by a model switch from the cached features', async () => {
    await withIndexed('switch', async (store, root) => {
      await withRetrained('switch-heads', async (next) => {
        expect(await reembedFromCache({ store, model: next })).toMatchObject({ embedded: PHOTOS, missing: 0 });
        expect(store.countEmbeddings(next.id)).toBe(PHOTOS);
        expect((await indexFolders({ store, model: next, roots: [root] })).unchanged).toBe(PHOTOS);
      });
    });
  }, 60_000);
});
