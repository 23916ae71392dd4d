/**
 * The running app sees changes made by another process (issue 12, item 7): a backend that has its search
 * index loaded (as `serve` or the desktop app has) answers from the library as the CLI leaves it, in
 * another process, without a restart, by applying the logged embedding changes to the loaded index.
 */
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openBackend } from '../../main/backend/backend';
import { Store } from '../../main/backend/store';
import { makePhotos } from '../helpers/fixtures';
import { useTempModel } from '../helpers/temp-model';

const run = promisify(execFile);
const BIN = path.join(__dirname, '..', '..', 'bin', 'photo-search.js');
/** Tests that start the CLI several times: one start can take seconds on a loaded machine. */
const CLI_TIMEOUT = 240_000;

let tmp: string;
let modelDir: string;

useTempModel('ps-live-', 17, (t, m) => {
  tmp = t;
  modelDir = m;
});

async function cliIndex(dataDir: string, folder: string): Promise<void> {
  await run(process.execPath, [BIN, 'index', folder], {
    env: { ...process.env, PHOTO_SEARCH_DATA: dataDir, PHOTO_SEARCH_MODEL_DIR: modelDir },
    timeout: 120_000,
  });
}

describe('a running backend and another process writing the library', () => {
  it('search sees photos another process added, re-embedded and removed, updating the loaded index in place', async () => {
    const data = path.join(tmp, 'data');
    const first = await makePhotos(path.join(tmp, 'first'), 6, 41, { format: 'jpeg' });
    const second = await makePhotos(path.join(tmp, 'second'), 5, 42, { format: 'jpeg' });
    await cliIndex(data, path.join(tmp, 'first'));

    const b = await openBackend({ dataDir: data, modelDir });
    let loads = 0;
    const load = b.state.store.iterateEmbeddings.bind(b.state.store);
    b.state.store.iterateEmbeddings = (...args: Parameters<Store['iterateEmbeddings']>) => {
      loads++;
      return load(...args);
    };
    let changedEvents = 0;
    b.onEvent((e) => {
      if (e.type === 'library-changed') changedEvents++;
    });
    try {
      expect(await b.search.search('a shape', 50)).toHaveLength(6);
      expect(loads).toBe(1);

      // Another process adds a folder.
      await cliIndex(data, path.join(tmp, 'second'));
      const after = await b.search.search('a shape', 50);
      expect(after).toHaveLength(11);
      expect(after.map((h) => h.path).sort()).toEqual([...first, ...second].map((p) => p.path).sort());
      expect(changedEvents).toBe(1);

      // Another process removes two photos (deleted on disk, then indexed).
      rmSync(first[0]!.path);
      rmSync(first[1]!.path);
      await cliIndex(data, path.join(tmp, 'first'));
      const fewer = (await b.search.search('a shape', 50)).map((h) => h.path);
      expect(fewer).toHaveLength(9);
      expect(fewer).not.toContain(first[0]!.path);
      expect(fewer).not.toContain(first[1]!.path);

      // Another process rewrites one photo's vector: the loaded index holds the new one.
      const target = b.state.store.photoByPath(second[0]!.path)!;
      const other = new Database(path.join(data, 'library.db'));
      const v = new Float32Array(b.state.store.embeddingFor(target.id, b.state.active.id())!.length);
      v[0] = 1;
      other.prepare('UPDATE embeddings SET data = ? WHERE photo_id = ?').run(Buffer.from(v.buffer), target.id);
      other.close();
      // Scored against another photo P, the target now scores P's first component (its vector is e0).
      const probe = b.state.store.photoByPath(second[1]!.path)!;
      const hit = (await b.search.searchLike(probe.id, 50)).find((h) => h.id === target.id)!;
      expect(hit.score).toBeCloseTo(b.state.store.embeddingFor(probe.id, b.state.active.id())![0]!, 5);

      // All of this without reloading the index from the database.
      expect(loads).toBe(1);
    } finally {
      await b.close();
    }
  }, CLI_TIMEOUT);
});

describe('the embedding change log', () => {
  it('logs inserts, replacements, cascaded deletes, and says when it no longer reaches back', () => {
    const store = new Store(path.join(tmp, 'log', 'library.db'));
    try {
      const photo = (i: number) => ({ path: `/p/${i}.jpg`, root: '/p', size: i, mtimeMs: 1, contentHash: `h${i}`, width: 1, height: 1, takenAt: null });
      const unit = new Float32Array([1, 0, 0, 0]);
      const ids = store.writeBatch([1, 2, 3].map((i) => ({ photo: photo(i), embedding: { modelId: 'm', data: unit } })));
      const start = store.lastEmbeddingChange();
      expect(start).toBe(3);
      store.putEmbeddingsChecked('m', [{ photoId: ids[1]!, hash: 'h2', data: unit }]); // replace
      store.putEmbeddingsChecked('other', [{ photoId: ids[0]!, hash: 'h1', data: unit }]); // another model
      store.db.prepare('DELETE FROM photos WHERE path = ?').run('/p/3.jpg'); // cascades to its embedding
      expect(store.embeddingChangesSince(start, 'm')).toEqual({ upTo: 6, photoIds: [ids[1], ids[2]], complete: true });
      expect(store.embeddingChangesSince(6, 'm')).toEqual({ upTo: 6, photoIds: [], complete: true });
      store.db.prepare('DELETE FROM embedding_changes WHERE seq <= 4').run(); // as the trim trigger does
      expect(store.embeddingChangesSince(2, 'm').complete).toBe(false);
      expect(store.embeddingChangesSince(4, 'm').complete).toBe(true);
    } finally {
      store.close();
    }
  });
});
