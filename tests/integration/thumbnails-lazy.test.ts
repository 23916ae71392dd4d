/**
 * Thumbnails are made on first display, not while indexing: the Backend's photoFile (behind the HTTP
 * route and the Electron photo:// protocol) makes, caches and reuses them, from the shrink-on-load decode
 * with EXIF rotation, in a cache with a size limit.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexFolders } from '../../main/backend/library/indexer';
import { limitThumbnails, makeThumbnail, thumbnailPath, touchThumbnail } from '../../main/backend/library/thumbnails';
import { generateTestModel } from '../helpers/generate-model';
import { openModel } from '../../main/backend/catalog/open-model';
import type { EmbeddingModel } from '../../main/backend/model/types';
import { openBackend, type Backend } from '../../main/backend/backend';
import { makeCameraPhotos, makePhotos } from '../helpers/fixtures';

let tmp: string;
let model: EmbeddingModel;
let backend: Backend;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-thumbs-'));
  const modelDir = await generateTestModel(path.join(tmp, 'model'), { seed: 3 });
  model = await openModel(modelDir);
  backend = await openBackend({ dataDir: path.join(tmp, 'data'), modelDir });
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
    backend.state.store.addRoot(root); // only photos inside library folders are served
    const summary = await indexFolders({ store: backend.state.store, model, roots: [root] });
    expect(summary.added).toBe(2);
    expect(existsSync(backend.state.thumbnailsDir)).toBe(false); // indexing made none

    const [wide, small] = photos.map((p) => backend.state.store.photoByPath(p.path)!);
    const thumb = await backend.photoFile(wide.id, 'thumb');
    expect(thumb).toBe(thumbnailPath(backend.state.thumbnailsDir, wide.contentHash));
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
    backend.state.store.addRoot(path.join(tmp, 'more'));
    await indexFolders({ store: backend.state.store, model, roots: [path.join(tmp, 'more')] });
    const row = backend.state.store.photoByPath(other[0].path)!;
    unlinkSync(other[0].path);
    expect(await backend.photoFile(row.id, 'thumb')).toBeNull();
    expect(await backend.photoFile(999_999, 'thumb')).toBeNull();
  });
});

/** Thumbnail files under `dir` with their sizes, by path. */
function cacheFiles(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync(dir)) return out;
  for (const fan of readdirSync(dir)) for (const name of readdirSync(path.join(dir, fan))) out.set(path.join(dir, fan, name), statSync(path.join(dir, fan, name)).size);
  return out;
}
const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

describe('thumbnail cache limit', () => {
  it('keeps the cache under its size limit, least recently shown first', async () => {
    const dir = path.join(tmp, 'limit-cache');
    const photos = await makePhotos(path.join(tmp, 'limit-photos'), 7, 21, { format: 'jpeg', width: 320, height: 240 });
    const hash = (i: number) => `${String(i).padStart(2, '0')}`.repeat(32);
    const day = 24 * 3600;
    const made: string[] = [];
    for (let i = 0; i < 6; i++) {
      made.push(await makeThumbnail(photos[i].path, hash(i), dir));
      const t = Date.now() / 1000 - 10 * day + i * 60; // made a minute apart, ten days ago
      utimesSync(made[i], t, t);
    }
    const size = (f: string) => statSync(f).size;
    // Room for about four: the two oldest must go (down to 90% of the limit).
    const limit = made.slice(2).reduce((s, f) => s + size(f), 0) + 1;
    const left = await limitThumbnails(dir, limit);
    expect(left).toBeLessThanOrEqual(limit);
    expect(left).toBe(total(cacheFiles(dir)));
    const kept = made.map((f) => existsSync(f));
    expect(kept.slice(0, 2)).toEqual([false, false]);
    const firstKept = kept.indexOf(true);
    expect(kept.slice(firstKept).every(Boolean)).toBe(true); // only a prefix of the oldest went

    // Showing the oldest survivor moves it to the back; the next thumbnail made over the limit prunes the others first.
    const shown = made[firstKept];
    await touchThumbnail(shown);
    expect(statSync(shown).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
    const seventh = await makeThumbnail(photos[6].path, hash(6), dir, limit);
    expect(existsSync(seventh)).toBe(true);
    expect(existsSync(shown)).toBe(true);
    expect(total(cacheFiles(dir))).toBeLessThanOrEqual(limit);
    expect(made.slice(firstKept + 1).some((f) => !existsSync(f))).toBe(true);
  });

  it('a pruned thumbnail is made again on its next display', async () => {
    const data = path.join(tmp, 'limit-data');
    const b = await openBackend({ dataDir: data, modelDir: model.dir, thumbnailCacheBytes: 1 });
    try {
      const root = path.join(tmp, 'limit-root');
      const [photo] = await makePhotos(root, 1, 33, { format: 'jpeg', width: 300, height: 200 });
      b.state.store.addRoot(root);
      await indexFolders({ store: b.state.store, model, roots: [root] });
      const row = b.state.store.photoByPath(photo.path)!;
      const first = (await b.photoFile(row.id, 'thumb'))!;
      // A 1-byte limit: the thumbnail just made stays until the next one is made.
      expect(first).toBe(thumbnailPath(b.state.thumbnailsDir, row.contentHash));
      expect(existsSync(first)).toBe(true);
      await limitThumbnails(b.state.thumbnailsDir, 0);
      expect(existsSync(first)).toBe(false);
      const again = (await b.photoFile(row.id, 'thumb'))!;
      expect(again).toBe(first);
      expect(await sharp(readFileSync(again)).metadata()).toMatchObject({ format: 'jpeg', width: 256, height: 171 });
    } finally {
      await b.close();
    }
  });

  it('a camera JPEG thumbnail is upright (EXIF orientation applied)', async () => {
    const [cam] = await makeCameraPhotos(path.join(tmp, 'limit-camera'), 1, 8, { width: 800, height: 600, orientations: [6] });
    const thumb = await makeThumbnail(cam.path, 'ab'.repeat(32), path.join(tmp, 'camera-thumbs'));
    expect(await sharp(thumb).metadata()).toMatchObject({ width: 192, height: 256 });
  });
});
