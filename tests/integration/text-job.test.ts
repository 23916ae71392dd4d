/**
 * The text pass as part of the index job, through the backend's handlers: it runs after the photos are
 * embedded (they are searchable meanwhile), reports its own stage, is cancelled like indexing (what was read
 * stays, the folder is marked incomplete) and resumes with the photos still unread; `photoText` gives the viewer
 * the lines read in a photo. Real SQLite, sharp and onnxruntime (the PP-OCRv4 models, a generated embedding model).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiEvent, JobInfo } from '../../shared/api';
import { openBackend } from '../../main/backend/backend';
import { makeTextPhotos } from '../helpers/text-photos';
import { useTempModel } from '../helpers/temp-model';

let tmp: string;
let modelDir: string;

useTempModel('ps-text-job-', 6, (t, m) => {
  tmp = t;
  modelDir = m;
});

describe('the text pass in the index job', () => {
  it('runs after embedding, cancels like indexing, resumes where it stopped, and feeds the viewer', async () => {
    const root = path.join(tmp, 'photos');
    // Enough photos that a cancel sent at the first report (from another thread) lands before the last few are read.
    // (plain-8's texture reads as a lone "9", which counts as text: left out so that only the text photos have text.)
    const photos = (await makeTextPhotos(root, { plain: 31 })).filter((p) => path.basename(p.file) !== 'plain-8.jpg' || (rmSync(p.file), false));
    const b = await openBackend({ dataDir: path.join(tmp, 'data'), modelDir });
    try {
      const jobs: JobInfo[] = [];
      let embeddedWhenTextStarted = -1;
      const first = await b.library.addFolders([root]);
      b.onEvent((e: ApiEvent) => {
        if (e.type !== 'job' || e.job.id !== first.info.id) return;
        jobs.push(e.job);
        if (/^Reading text in photos: [1-9]/.test(e.job.stage) && embeddedWhenTextStarted < 0) {
          embeddedWhenTextStarted = b.state.store.countEmbeddings(b.state.active.id());
          b.state.jobs.cancel(e.job.id); // after the first photo read
        }
      });
      await first.done.catch(() => undefined);
      expect(embeddedWhenTextStarted).toBe(photos.length); // every photo was embedded (searchable) first
      const reading = jobs.filter((j) => j.stage.startsWith('Reading text in photos'));
      expect(reading.length).toBeGreaterThan(0);
      // The reports keep the run's count of files looked at: all of them.
      for (const j of reading) expect([j.done, j.total]).toEqual([photos.length, photos.length]);
      expect(jobs.at(-1)).toMatchObject({ state: 'cancelled', stage: 'Cancelled' });
      const afterCancel = await b.library.status();
      expect(afterCancel.text.read).toBeGreaterThanOrEqual(1);
      expect(afterCancel.text.read).toBeLessThan(photos.length);
      expect(afterCancel.incomplete).toEqual([root]);

      // Resume: a new run reads only what was left, and ends as indexing ends.
      const summary = await b.library.startIndex([root]).done;
      expect(summary.unchanged).toBe(photos.length);
      expect(summary.text!.read).toBe(photos.length - afterCancel.text.read);
      const st = await b.library.status();
      expect(st.text).toMatchObject({ read: photos.length, withText: photos.filter((p) => p.text).length });
      expect(st.incomplete).toEqual([]);

      // The viewer's details: the receipt's lines with boxes inside the photo; a plain photo has none.
      const hits = await b.handlers.search({ query: 'text:4711' });
      expect(hits.map((h) => path.basename(h.path))).toEqual(['receipt.jpg']);
      const text = (await b.handlers.photoText({ id: hits[0]!.id }))!;
      expect(text.lines.map((l) => l.text).join(' ')).toMatch(/INVOICE\s*4711/);
      for (const l of text.lines) {
        expect(l.box).toHaveLength(4);
        for (const [x, y] of l.box) expect(x >= 0 && x <= 1 && y >= 0 && y <= 1).toBe(true);
      }
      const plain = b.state.store.photoByPath(photos.find((p) => !p.text)!.file)!;
      expect(await b.handlers.photoText({ id: plain.id })).toMatchObject({ lines: [], failed: null });
      await expect(b.handlers.photoText({ id: 999_999 })).rejects.toThrow('Photo 999999 is not in the library.');

      // Removing the folder takes the words read in its photos with it.
      await b.library.removeFolder(root);
      expect(b.state.store.db.prepare('SELECT count(*) FROM photo_text').pluck().get()).toBe(0);
    } finally {
      await b.close();
    }
  }, 180_000);
});
