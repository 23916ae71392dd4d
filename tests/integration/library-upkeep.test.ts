/**
 * The backend's side of a pleasant app (issue 14): honest index totals, a live photo count, clear job end
 * states, folder notices and upkeep (what a removed folder leaves behind), paths a person types, models
 * addressed by name and removed safely. Real SQLite, real sharp, real onnxruntime on a generated model.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiEvent, JobInfo } from '../../shared/api';
import { backendPort } from '../../main/backend/handlers';
import { openBackend, type Backend } from '../../main/backend/backend';
import { expandHome, userPath } from '../../main/backend/paths';
import { makePhotos } from '../helpers/fixtures';
import { useTempModel } from '../helpers/temp-model';

let tmp: string;
let modelDir: string;

useTempModel('ps-upkeep-', 4, (t, m) => {
  tmp = t;
  modelDir = m;
});

async function backend(name: string): Promise<Backend> {
  return openBackend({ dataDir: path.join(tmp, name), modelDir });
}

/** Wait for the index job a call started (the API returns as soon as it starts). */
async function settled(b: Backend): Promise<void> {
  while (b.state.jobs.list().some((j) => j.kind === 'index' && j.state === 'running')) await new Promise((r) => setTimeout(r, 20));
}

function thumbFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((fan) => readdirSync(path.join(dir, fan)));
}

describe('indexing progress', () => {
  it('counts the photos first, then reports the real total with a rate and time left, and the live photo count', async () => {
    const root = path.join(tmp, 'count-photos');
    await makePhotos(root, 40, 11);
    writeFileSync(path.join(root, 'broken.jpg'), 'not a photo');
    const b = await backend('data-count');
    const jobs: JobInfo[] = [];
    const counts: number[] = [];
    let finished = false;
    b.onEvent((e: ApiEvent) => {
      if (e.type === 'job') {
        jobs.push(e.job);
        if (e.job.state !== 'running') finished = true;
      }
      if (e.type === 'library-count' && !finished) counts.push(e.images);
    });
    try {
      const r = await b.library.addFolders([root]);
      await r.done;
      const running = jobs.filter((j) => j.state === 'running');
      // Every report with a total has the whole folder's total (41 files: 40 photos and a broken one).
      const totals = new Set(running.filter((j) => j.total > 0).map((j) => j.total));
      expect([...totals]).toEqual([41]);
      // Before any file is looked at, the job says it is counting, with an indeterminate (0) total.
      expect(running[0].stage).toMatch(/^Counting photos/);
      expect(running[0].total).toBe(0);
      const measured = running.filter((j) => j.done > 0 && j.done < j.total);
      expect(measured.some((j) => typeof j.rate === 'number' && j.rate > 0 && typeof j.etaSeconds === 'number')).toBe(true);
      // The header count follows committed batches, before the run ends.
      expect(counts.some((n) => n > 0 && n < 40)).toBe(true);
      expect(counts.at(-1)).toBe(40);
      const done = jobs.at(-1)!;
      expect(done).toMatchObject({ state: 'done', stage: 'Done', done: 41, total: 41 });
    } finally {
      await b.close();
    }
  });
});

describe('job end states', () => {
  it('a cancelled index says Cancelled with how far it got and marks its folder incomplete until a full run', async () => {
    const root = path.join(tmp, 'cancel-photos');
    await makePhotos(root, 12, 12);
    const b = await backend('data-cancel');
    try {
      const r = await b.library.addFolders([root]);
      b.state.jobs.cancel(r.info.id);
      await r.done.catch(() => undefined);
      const job = b.state.jobs.list().find((j) => j.id === r.info.id)!;
      expect(job.state).toBe('cancelled');
      expect(job.stage).toBe('Cancelled');
      expect(job.done).toBeLessThanOrEqual(job.total);
      expect((await b.library.status()).incomplete).toEqual([root]);
      expect(b.library.folders()).toEqual([{ path: root, photos: expect.any(Number), incomplete: true }]);
      // Resume: a full run clears the mark.
      await b.library.startIndex([root]).done;
      expect((await b.library.status()).incomplete).toEqual([]);
      expect(b.library.folders()).toEqual([{ path: root, photos: 12, incomplete: false }]);
    } finally {
      await b.close();
    }
  });

  it('a failed training job says Failed with the reason, not the stage it was in', async () => {
    const set = path.join(tmp, 'bad-set');
    mkdirSync(path.join(set, 'Images'), { recursive: true });
    writeFileSync(path.join(set, 'captions.txt'), 'image,caption\n');
    const b = await backend('data-fail');
    try {
      const job = b.training.startTraining({ set, epochs: 1 });
      await job.done.catch(() => undefined);
      const info = b.state.jobs.list().find((j) => j.id === job.info.id)!;
      expect(info.state).toBe('failed');
      expect(info.stage).toBe('Failed');
      expect(info.message).toMatch(/bad-set/);
    } finally {
      await b.close();
    }
  });
});

describe('library folders', () => {
  it('says when a folder has no photos, is already in the library, or is inside one; never indexes a photo twice', async () => {
    const outer = path.join(tmp, 'nest');
    await makePhotos(path.join(outer, 'inner'), 6, 21);
    await makePhotos(outer, 4, 22);
    const empty = path.join(tmp, 'no-photos');
    mkdirSync(path.join(empty, 'sub'), { recursive: true });
    writeFileSync(path.join(empty, 'notes.txt'), 'no photos here');
    const b = await backend('data-folders');
    try {
      const e = await backendPort(b).call('addFolder', { path: empty });
      expect(e.ok).toBe(true);
      const added = (e as { value: { notice: string | null; job: JobInfo } }).value;
      expect(added.notice).toMatch(new RegExp(`^No photos found in ${empty}`));
      expect((await b.library.status()).roots).toContain(empty);
      await settled(b);

      const inner = await b.library.addFolders([path.join(outer, 'inner')]);
      expect(inner.notices).toEqual([]);
      await inner.done;
      expect((await b.library.status()).images).toBe(6);

      // The containing folder takes the inner one over: its 6 photos are kept, 4 more are added.
      const containing = await b.library.addFolders([outer]);
      expect(containing.notices.join(' ')).toMatch(/contains .*inner.*not indexed twice/);
      const s1 = await containing.done;
      expect(s1.added).toBe(4);
      expect((await b.library.status()).roots).toEqual([outer, empty].sort());
      expect((await b.library.status()).images).toBe(10);

      const again = await b.library.addFolders([outer]);
      expect(again.notices).toEqual([`${outer} is already in the library — re-scanned.`]);
      expect((await again.done).unchanged).toBe(10);

      const inside = await b.library.addFolders([path.join(outer, 'inner')]);
      expect(inside.notices[0]).toMatch(/is inside .*nest, which is already in the library — re-scanned/);
      await inside.done;
      expect((await b.library.status()).roots).toEqual([outer, empty].sort());
      expect((await b.library.status()).images).toBe(10);
    } finally {
      await b.close();
    }
  });

  it('expands ~ and refuses a relative path with a message', async () => {
    expect(expandHome('~/Pictures', '/home/u')).toBe('/home/u/Pictures');
    expect(expandHome('~', '/home/u')).toBe('/home/u');
    expect(expandHome('/a/~/b', '/home/u')).toBe('/a/~/b');
    expect(() => userPath('Pictures/holidays', 'folder')).toThrow(/"Pictures\/holidays" is a relative path\. Give the full path of the folder/);
    const b = await backend('data-paths');
    try {
      const r = await backendPort(b).call('addFolder', { path: 'photos' });
      expect(r).toMatchObject({ ok: false, code: 'invalid_input' });
      expect((r as { message: string }).message).toMatch(/relative path/);
      expect((await b.library.status()).roots).toEqual([]);
      const home = await backendPort(b).call('inspectCaptionSet', { path: '~/surely-not-a-captioned-set-here' });
      expect((home as { message: string }).message).toContain(path.join(os.homedir(), 'surely-not-a-captioned-set-here'));
    } finally {
      await b.close();
    }
  });

  it('removing a folder removes its photos, their cached features and thumbnails, and keeps what another folder shares', async () => {
    const a = path.join(tmp, 'remove-a');
    const keep = path.join(tmp, 'remove-b');
    await makePhotos(a, 5, 31);
    await makePhotos(keep, 3, 32);
    // The same content in both folders: its features and thumbnail must survive removing `a`.
    const shared = readdirSync(keep)[0];
    writeFileSync(path.join(a, `copy-of-${shared}`), readFileSync(path.join(keep, shared)));
    const b = await backend('data-remove');
    try {
      await (await b.library.addFolders([a, keep])).done;
      const model = await b.state.active.load();
      expect(b.state.store.countPhotos()).toBe(9);
      const ids = (await b.search.search('a red circle', 100)).map((h) => h.id);
      for (const id of ids) expect(await b.photoFile(id, 'thumb')).not.toBeNull();
      expect(thumbFiles(b.state.thumbnailsDir)).toHaveLength(8); // 9 photos, 8 distinct contents
      expect(b.state.store.countFeatures(model.imageTowerKey)).toBe(8);

      const r = await b.library.removeFolder(a);
      expect(r).toEqual({ roots: [keep], removed: 6 });
      expect(b.state.store.countPhotos()).toBe(3);
      expect(b.state.store.countFeatures(model.imageTowerKey)).toBe(3);
      expect(thumbFiles(b.state.thumbnailsDir)).toHaveLength(3);
      // The search still works on what is left.
      expect(await b.search.search('a red circle', 10)).toHaveLength(3);
    } finally {
      await b.close();
    }
  });
});

describe('models by name', () => {
  it('addresses a trained model by its name, refuses a second model of that name, and removes only what it may', async () => {
    const { makeCaptionedSet } = await import('../helpers/captioned-set');
    const set = path.join(tmp, 'named-set');
    await makeCaptionedSet(set, { photos: 20, seed: 8 });
    const b = await backend('data-names');
    try {
      const r = await (b.training.startTraining({ set, name: 'my-flickr', epochs: 1 }).done);
      const m = b.catalog.models().find((x) => x.id === r.model)!;
      expect(m.name).toBe('my-flickr');
      expect(r.model).not.toBe('my-flickr'); // the id is the name plus a stamp…
      expect(b.state.registry.get('my-flickr').id).toBe(r.model); // …and the name finds it
      expect(b.state.registry.get('MY-FLICKR').id).toBe(r.model);
      expect(() => b.training.startTraining({ set, name: 'my-flickr', epochs: 1 })).toThrow(/A model named "my-flickr" already exists/);

      await b.modelSwitch.activateModel('my-flickr');
      expect((await b.library.status()).modelName).toBe('my-flickr');
      expect((await b.training.evaluate(set, 'my-flickr')).images).toBe(20);
      await expect(b.catalog.removeModel('my-flickr')).rejects.toThrow(/is the active model/);
      const builtin = b.catalog.models().find((x) => x.builtin);
      if (builtin) await expect(b.catalog.removeModel(builtin.id)).rejects.toThrow(/built-in model; it cannot be removed/);

      await b.modelSwitch.activateModel(b.state.registry.defaultId());
      // The --model-dir model is not the data folder's to delete.
      await expect(b.catalog.removeModel(b.state.registry.defaultId())).rejects.toThrow(/is the active model/);
      expect(await b.catalog.removeModel('my-flickr')).toEqual({ removed: r.model });
      expect(b.catalog.models().some((x) => x.id === r.model)).toBe(false);
      expect(existsSync(path.join(b.state.modelsDir, r.model))).toBe(false);
      expect(b.state.store.countEmbeddings(r.model)).toBe(0);
      expect(() => b.state.registry.get('my-flickr')).toThrow(/Unknown model "my-flickr"/);
    } finally {
      await b.close();
    }
  });
});
