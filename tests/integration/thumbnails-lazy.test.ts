/**
 * Thumbnails are made on first display, not while indexing: the Backend's photoFile (behind the HTTP
 * route and the Electron photo:// protocol) makes, caches and reuses them.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexFolders } from '../../main/backend/library/indexer';
import { thumbnailPath } from '../../main/backend/library/thumbnails';
import { generateTestModel } from '../helpers/generate-model';
import { loadModel } from '../../main/backend/model/model';
import type { EmbeddingModel } from '../../main/backend/model/types';
import { Backend } from '../../main/backend/service';
import { makePhotos } from '../helpers/fixtures';

let tmp: string;
let model: EmbeddingModel;
let backend: Backend;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-thumbs-'));
  const modelDir = await generateTestModel(path.join(tmp, 'model'), { seed: 3 });
  model = await loadModel(modelDir);
  backend = await Backend.create({ dataDir: path.join(tmp, 'data'), modelDir });
});
afterAll(async () => {
  await backend.close();
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('lazy thumbnails', () => {
  it('are made on first display, reused after, and missing originals give null', async () => {
    const root = path.join(tmp, 'photos');
    const photos = await makePhotos(root, [
      { name: 'wide', format: 'jpeg', width: 600, height: 300, shapes: [{ shape: 'circle', color: 'red', x: 0.3, y: 0.5, size: 0.5 }] },
      { name: 'small', format: 'png', width: 100, height: 80, shapes: [{ shape: 'square', color: 'blue', x: 0.5, y: 0.5, size: 0.5 }] },
    ]);
    backend.store.addRoot(root); // only photos inside library folders are served
    const summary = await indexFolders({ store: backend.store, model, roots: [root] });
    expect(summary.added).toBe(2);
    expect(existsSync(backend.thumbnailsDir)).toBe(false); // indexing made none

    const [wide, small] = photos.map((p) => backend.store.photoByPath(p.path)!);
    const thumb = await backend.photoFile(wide.id, 'thumb');
    expect(thumb).toBe(thumbnailPath(backend.thumbnailsDir, wide.contentHash));
    expect(await sharp(thumb!).metadata()).toMatchObject({ format: 'jpeg', width: 256, height: 128 });
    const made = statSync(thumb!).mtimeMs;
    expect(await backend.photoFile(wide.id, 'thumb')).toBe(thumb); // cached: not made again
    expect(statSync(thumb!).mtimeMs).toBe(made);
    expect(readdirSync(path.dirname(thumb!))).toEqual([path.basename(thumb!)]); // no temp files left

    // Not enlarged; and once made, a thumbnail outlives its original until pruned.
    expect(await sharp((await backend.photoFile(small.id, 'thumb'))!).metadata()).toMatchObject({ width: 100, height: 80 });
    unlinkSync(photos[0].path);
    expect(await backend.photoFile(wide.id, 'thumb')).toBe(thumb);

    // No thumbnail yet and the original gone: nothing to show (the route answers 404), no throw.
    const other = await makePhotos(path.join(tmp, 'more'), 1, 9);
    backend.store.addRoot(path.join(tmp, 'more'));
    await indexFolders({ store: backend.store, model, roots: [path.join(tmp, 'more')] });
    const row = backend.store.photoByPath(other[0].path)!;
    unlinkSync(other[0].path);
    expect(await backend.photoFile(row.id, 'thumb')).toBeNull();
    expect(await backend.photoFile(999_999, 'thumb')).toBeNull();
  });
});
