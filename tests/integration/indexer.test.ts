import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IndexSummary } from '../../shared/api';
import { Cancelled } from '../../main/backend/errors';
import { indexFolders, reembedFromCache, type IndexProgress } from '../../main/backend/library/indexer';
import { pruneThumbnails, thumbnailFor, thumbnailPath } from '../../main/backend/library/thumbnails';
import { Store } from '../../main/backend/store';
import { BAD_FILES_PIXEL_LIMIT, encode, makeBadFiles, makePhotos, svgFor } from '../helpers/fixtures';
import { copyModelAs, testModel, type CountingModel } from '../helpers/counting-model';

let tmp: string;
let model: CountingModel;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-indexer-'));
  model = await testModel(path.join(tmp, 'model-a'), { seed: 3 });
});
afterAll(async () => {
  await model.dispose();
  // chmod 000 fixtures are removable by their owner; rm handles it.
  rmSync(tmp, { recursive: true, force: true });
});

function fresh(name: string) {
  const root = path.join(tmp, name, 'photos');
  const store = new Store(path.join(tmp, name, 'library.db'));
  const thumbs = path.join(tmp, name, 'thumbnails');
  mkdirSync(root, { recursive: true });
  return { root, store, thumbs };
}

function norm(v: Float32Array): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

/** Every photo row has its embedding for `modelId`. */
function orphanRows(store: Store, modelId: string): number {
  return store.photosMissingEmbedding(modelId).length;
}

describe('indexFolders', () => {
  it('indexes exactly the good photos and records why each bad file was skipped', async () => {
    const { root, store, thumbs } = fresh('good-bad');
    const good = [
      ...(await makePhotos(root, 6, 11)),
      ...(await makePhotos(path.join(root, 'nested', 'deeper'), 5, 12)),
    ];
    await makePhotos(path.join(root, '.hidden'), 2, 13); // never indexed
    const bad = await makeBadFiles(path.join(root, 'bad'));
    writeFileSync(path.join(root, 'readme.txt'), 'not a photo');
    const progress: IndexProgress[] = [];
    const before = { ...model.calls };

    const summary = await indexFolders({
      store,
      model,
      roots: [root],
      batchSize: 4,
      maxPixels: BAD_FILES_PIXEL_LIMIT,
      onProgress: (p) => progress.push(p),
    });

    const readableAsRoot = bad.filter((b) => !b.expectSkipped).length; // chmod 000 under root
    const expectSkipped = bad.filter((b) => b.expectSkipped);
    expect(summary).toMatchObject({
      added: good.length + readableAsRoot,
      updated: 0,
      removed: 0,
      unchanged: 0,
      skipped: expectSkipped.length,
      images: good.length + readableAsRoot,
    });
    expect(store.countPhotos()).toBe(good.length + readableAsRoot);
    expect(store.countSkipped()).toBe(expectSkipped.length);
    for (const b of expectSkipped) {
      const s = store.skipByPath(b.path);
      expect(s, b.kind).not.toBeNull();
      expect(s!.reason, b.kind).toMatch(b.reason);
      expect(s!.reason).not.toMatch(/\n|at .*\.ts:/); // one line, no stack
      expect(store.photoByPath(b.path)).toBeNull();
    }
    // Every photo: one unit-norm embedding and its dimensions.
    const { ids, matrix, dim } = store.embeddingsForModel(model.id);
    expect(ids.length).toBe(good.length + readableAsRoot);
    expect(dim).toBe(model.embedDim);
    for (let i = 0; i < ids.length; i++) expect(norm(matrix.subarray(i * dim, (i + 1) * dim))).toBeCloseTo(1, 5);
    for (const g of good) {
      const row = store.photoByPath(g.path)!;
      expect(row).toMatchObject({ root, width: 224, height: 224 });
    }
    // Thumbnails are not made while indexing (they cost a second decode); the first display makes them.
    expect(existsSync(thumbs)).toBe(false);
    const row = store.photoByPath(good[0].path)!;
    const thumb = await thumbnailFor(row, thumbs);
    expect(thumb).toBe(thumbnailPath(thumbs, row.contentHash));
    expect(await sharp(thumb).metadata()).toMatchObject({ format: 'jpeg', width: 224, height: 224 });
    expect(model.calls.prepareImage - before.prepareImage).toBe(good.length + readableAsRoot + 1); // + the truncated JPEG
    // Progress: ends at done === total, never exceeds it.
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ stage: 'Done', done: last.total });
    expect(last.total).toBe(good.length + bad.length);
    for (const p of progress) expect(p.done).toBeLessThanOrEqual(p.total);
    store.close();
  });

  it('re-indexes incrementally: edits re-embedded, unchanged not re-read, deletions leave, additions join', async () => {
    const { root, store } = fresh('incremental');
    const photos = await makePhotos(root, 10, 21);
    const bad = path.join(root, 'was-bad.jpg');
    writeFileSync(bad, '');
    const first = await indexFolders({ store, model, roots: [root], batchSize: 4 });
    expect(first).toMatchObject({ added: 10, skipped: 1, images: 10 });

    // Nothing changed: nothing decoded.
    let calls = model.calls.prepareImage;
    const again = await indexFolders({ store, model, roots: [root], batchSize: 4 });
    expect(again).toMatchObject({ added: 0, updated: 0, removed: 0, unchanged: 10, skipped: 1, images: 10 });
    expect(model.calls.prepareImage - calls).toBe(0); // the still-empty file is retried, but stops at its size

    // Edit one (new content, new mtime), delete one, add one, fix the bad one.
    const edited = photos[0].path;
    const oldRow = store.photoByPath(edited)!;
    const oldVec = store.embeddingFor(oldRow.id, model.id)!;
    writeFileSync(edited, await encode(svgFor({ ...photos[0].spec, shapes: [{ shape: 'square', color: 'green', x: 0.3, y: 0.3, size: 0.4 }] }, 999), 'jpeg'));
    utimesSync(edited, new Date(), new Date(Date.now() + 5000));
    unlinkSync(photos[1].path);
    const [added] = await makePhotos(path.join(root, 'new'), 1, 22);
    copyFileSync(photos[2].path, bad); // a valid photo now (same content as photos[2]: feature cache hit)
    calls = model.calls.prepareImage;
    const towerBefore = model.calls.towerImages;

    const third = await indexFolders({ store, model, roots: [root], batchSize: 4 });
    expect(third).toMatchObject({ added: 2, updated: 1, removed: 1, unchanged: 8, skipped: 0, images: 11 });
    // Decoded: the edited and the added file; the fixed one's content is cached, so only its header is read.
    expect(model.calls.prepareImage - calls).toBe(2);
    expect(model.calls.towerImages - towerBefore).toBe(2);
    expect(store.countSkipped()).toBe(0);
    expect(store.photoByPath(photos[1].path)).toBeNull();
    expect(store.photoByPath(added.path)).not.toBeNull();
    const newRow = store.photoByPath(edited)!;
    expect(newRow.id).toBe(oldRow.id);
    expect(newRow.contentHash).not.toBe(oldRow.contentHash);
    expect(Array.from(store.embeddingFor(newRow.id, model.id)!)).not.toEqual(Array.from(oldVec));
    expect(store.photoByPath(bad)!.contentHash).toBe(store.photoByPath(photos[2].path)!.contentHash);
    expect(orphanRows(store, model.id)).toBe(0);
    store.close();
  });

  it('keeps photos of a missing root, and of roots it did not walk', async () => {
    const { root, store } = fresh('missing-root');
    const other = path.join(tmp, 'missing-root', 'other');
    await makePhotos(root, 3, 31);
    await makePhotos(other, 2, 32);
    await indexFolders({ store, model, roots: [root, other] });
    expect(store.countPhotos()).toBe(5);
    rmSync(root, { recursive: true }); // an unplugged drive looks like this
    const s = await indexFolders({ store, model, roots: [root] });
    expect(s).toMatchObject({ removed: 0, images: 5 });
    expect(store.listSkipped().map((x) => x.path)).toEqual([root]);
    const s2 = await indexFolders({ store, model, roots: [other] });
    expect(s2).toMatchObject({ removed: 0, unchanged: 2, images: 5 });
    store.close();
  });

  it('a second model with the same tower embeds from cached features; reembedFromCache reports what it cannot', async () => {
    const { root, store } = fresh('models');
    await makePhotos(root, 8, 41);
    await indexFolders({ store, model, roots: [root] });
    const sameTower = await copyModelAs(model.dir, path.join(tmp, 'model-b'), 'copy-b');
    expect(sameTower.imageTowerKey).toBe(model.imageTowerKey);
    const s = await indexFolders({ store, model: sameTower, roots: [root] });
    expect(s).toMatchObject({ added: 0, updated: 8, unchanged: 0 });
    expect(sameTower.calls.prepareImage).toBe(0);
    expect(sameTower.calls.towerImages).toBe(0);
    expect(store.countEmbeddings('copy-b')).toBe(8);

    const heads = await copyModelAs(model.dir, path.join(tmp, 'model-c'), 'copy-c');
    const progress: IndexProgress[] = [];
    const r = await reembedFromCache({ store, model: heads, batchSize: 3, onProgress: (p) => progress.push(p) });
    expect(r).toEqual({ embedded: 8, missing: 0, missingPaths: [] });
    expect(heads.calls.towerImages).toBe(0);
    expect(progress.at(-1)).toMatchObject({ done: 8, total: 8 });
    expect(store.countEmbeddings('copy-c')).toBe(8);

    const otherTower = await testModel(path.join(tmp, 'model-d'), { seed: 6, id: 'other-d' });
    expect(otherTower.imageTowerKey).not.toBe(model.imageTowerKey);
    const r2 = await reembedFromCache({ store, model: otherTower });
    expect(r2.embedded).toBe(0);
    expect(r2.missing).toBe(8);
    expect(r2.missingPaths.every((p) => p.startsWith(root))).toBe(true);
    for (const m of [sameTower, heads, otherTower]) await m.dispose();
    store.close();
  });

  it('cancel stops after the batch in flight, keeps committed batches and deletes nothing', async () => {
    const { root, store } = fresh('cancel');
    const photos = await makePhotos(root, 30, 51);
    await indexFolders({ store, model, roots: [root], batchSize: 4 });
    for (const p of photos.slice(0, 6)) unlinkSync(p.path);
    await makePhotos(path.join(root, 'more'), 24, 52);

    const ac = new AbortController();
    // Cancel as soon as the first batch reaches the heads: the walk cannot have finished by then.
    model.beforeEmbed = () => ac.abort();
    const err = await indexFolders({ store, model, roots: [root], batchSize: 4, decodeConcurrency: 2, signal: ac.signal }).catch((e: unknown) => e);
    model.beforeEmbed = null;
    expect(err).toBeInstanceOf(Cancelled);
    const partial = (err as Cancelled<IndexSummary>).partial!;
    expect(partial.removed).toBe(0); // the walk did not complete: nothing may be deleted
    expect(partial.added).toBe(4); // exactly the batch in flight
    expect(store.countPhotos()).toBe(30 + 4);
    expect(orphanRows(store, model.id)).toBe(0);

    const done = await indexFolders({ store, model, roots: [root], batchSize: 4 });
    expect(done).toMatchObject({ added: 20, removed: 6, images: 48 });
    store.close();
  });
});

describe('thumbnails', () => {
  it('makes a 256 px JPEG on demand, once, atomically, keyed by content hash; prunes unknown ones', async () => {
    const dir = path.join(tmp, 'thumbs-on-demand');
    const [big] = await makePhotos(path.join(tmp, 'thumb-src'), [{ name: 'wide', format: 'png', width: 800, height: 400, shapes: [{ shape: 'circle', color: 'red', x: 0.3, y: 0.5, size: 0.5 }] }]);
    const hash = 'ab'.repeat(32);
    const [a, b] = await Promise.all([thumbnailFor({ path: big.path, contentHash: hash }, dir), thumbnailFor({ path: big.path, contentHash: hash }, dir)]);
    expect(a).toBe(thumbnailPath(dir, hash));
    expect(b).toBe(a);
    const meta = await sharp(a).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 256, 128]);
    expect(readdirSync(path.dirname(a))).toEqual([path.basename(a)]); // no temp files left
    expect(await pruneThumbnails(dir, (h) => h !== hash)).toBe(1);
    expect(existsSync(a)).toBe(false);
    expect(() => thumbnailPath(dir, '../../etc/passwd')).toThrow(/Invalid content hash/);
  });
});
