/**
 * Live folders (issue 15, item 4): while the backend runs as the app or `serve` do (startUp), photos added,
 * replaced, moved and deleted under a library folder change search results without a manual re-scan.
 */
import { copyFileSync, mkdtempSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../shared/api';
import { openBackend } from '../../main/backend/backend';
import { makePhotos } from '../helpers/fixtures';
import { generateTestModel } from '../helpers/generate-model';

let tmp: string;
let modelDir: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-livefolders-'));
  modelDir = await generateTestModel(path.join(tmp, 'model'), { seed: 29, knownWords: true });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`not reached in ${ms} ms; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe('live folders', () => {
  it('search follows photos added, replaced, moved and deleted in a watched folder', async () => {
    const dir = path.join(tmp, 'photos');
    const spare = path.join(tmp, 'spare');
    await makePhotos(dir, 4, 71);
    const extra = await makePhotos(spare, 3, 72, { format: 'png' });
    const b = await openBackend({ dataDir: path.join(tmp, 'data'), modelDir });
    const events: ApiEvent['type'][] = [];
    b.onEvent((e) => events.push(e.type));
    try {
      await (await b.library.addFolders([dir])).done;
      await b.startUp({ watchOptions: { debounceMs: 200, pollMs: 200 } });
      const paths = async () => (await b.search.search('a shape', 50)).map((h) => path.relative(dir, h.path)).sort();
      expect(await paths()).toEqual(['photo-000.jpg', 'photo-001.png', 'photo-002.webp', 'photo-003.jpg']);

      // Added: two new files.
      copyFileSync(extra[0]!.path, path.join(dir, 'new-a.png'));
      copyFileSync(extra[1]!.path, path.join(dir, 'new-b.png'));
      await until(paths, (p) => p.includes('new-a.png') && p.includes('new-b.png'));

      // Replaced: a file gets another photo's content; its vector follows (it now finds the other's twin).
      const like = async () => (await b.search.searchLikeFile(extra[2]!.path, 1))[0]?.path;
      expect(await like()).not.toBe(path.join(dir, 'photo-000.jpg'));
      copyFileSync(extra[2]!.path, path.join(dir, 'photo-000.jpg'));
      await until(async () => (await b.search.searchLikeFile(extra[2]!.path, 1))[0]!.score, (s) => s > 0.9999);
      expect(await like()).toBe(path.join(dir, 'photo-000.jpg'));

      // Moved and deleted.
      renameSync(path.join(dir, 'new-a.png'), path.join(dir, 'moved.png'));
      unlinkSync(path.join(dir, 'photo-003.jpg'));
      await until(paths, (p) => p.includes('moved.png') && !p.includes('new-a.png') && !p.includes('photo-003.jpg'));
      expect(await paths()).toEqual(['moved.png', 'new-b.png', 'photo-000.jpg', 'photo-001.png', 'photo-002.webp']);
      expect(events).toContain('library-changed');
    } finally {
      await b.close();
    }
  }, 180_000);

  it('a library folder removed from the library is no longer watched; close stops the watcher', async () => {
    const a = path.join(tmp, 'a');
    const c = path.join(tmp, 'c');
    await makePhotos(a, 2, 81);
    await makePhotos(c, 2, 82);
    const b = await openBackend({ dataDir: path.join(tmp, 'data2'), modelDir });
    try {
      await (await b.library.addFolders([a, c])).done;
      await b.startUp({ watchOptions: { debounceMs: 200, pollMs: 200 } });
      await b.library.removeFolder(c);
      const before = (await b.library.status()).images;
      await makePhotos(c, 4, 83, { format: 'png' }); // new files in the folder that left the library
      await new Promise((r) => setTimeout(r, 1500));
      expect((await b.library.status()).images).toBe(before);
      expect(b.state.jobs.list().filter((j) => j.kind === 'index' && j.state === 'running')).toEqual([]);
    } finally {
      await b.close();
    }
  }, 120_000);
});
