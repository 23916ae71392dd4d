/**
 * A library that `serve` or the desktop app holds for days (issue 25): a 15 MB photo to search by through
 * browser mode, a library folder replaced by a link after indexing, a model switch on a compacted library
 * whose progress follows the work, two indexers on one library, and SIGTERM after a library folder flapped.
 * Real SQLite, real generated ONNX models, real photo files, the real CLI.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { ApiEvent, IndexSummary } from '../../shared/api';
import { backendPort } from '../../main/backend/handlers';
import { acquireIndexLock } from '../../main/backend/library/index-lock';
import { openBackend, type Backend } from '../../main/backend/backend';
import { startServer } from '../../main/server/index';
import { makePhotos } from '../helpers/fixtures';
import { startServe, stopServe, type Served } from '../helpers/serve';
import { installModelCopy } from '../helpers/synthetic-library';
import { useTempModel } from '../helpers/temp-model';

let tmp: string;
let modelDir: string;

useTempModel('ps-endure-', 11, (t, m) => {
  tmp = t;
  modelDir = m;
});

/** A data folder with `count` photos in `<name>/photos`, indexed. */
async function library(name: string, count: number): Promise<{ b: Backend; dataDir: string; photos: string }> {
  const dataDir = path.join(tmp, name, 'data');
  const photos = path.join(tmp, name, 'photos');
  await makePhotos(photos, count, 7, { format: 'jpeg' });
  const b = await openBackend({ dataDir, modelDir });
  await (await b.library.addFolders([photos])).done;
  return { b, dataDir, photos };
}

function post(port: number, token: string, method: string, body: unknown): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: `/api/${method}`, headers: { host: `127.0.0.1:${port}`, authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function get(port: number, token: string, p: string): Promise<{ status: number; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, headers: { host: `127.0.0.1:${port}`, authorization: `Bearer ${token}` } }, (res) => {
        res.resume().on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] }));
      })
      .on('error', reject);
  });
}

describe('a library held for days', () => {
  it('finds a library photo from a 15 MB copy of it sent to searchImage in browser mode', async () => {
    const { b, photos } = await library('big-image', 6);
    const server = await startServer({ backend: backendPort(b), port: 0, staticDir: tmp });
    try {
      const original = path.join(photos, 'photo-003.jpg');
      // The photo blown up to 2240 × 2240 and stored as an uncompressed PNG: about 15 MB of image.
      const big = await sharp(original).resize(2240, 2240).png({ compressionLevel: 0 }).toBuffer();
      expect(big.length).toBeGreaterThan(15_000_000);
      expect(big.length).toBeLessThan(20 * 1024 * 1024);
      const r = await post(server.port, server.token, 'searchImage', { image: big.toString('base64'), top: 3 });
      expect(r.status).toBe(200);
      const result = r.json as { ok: boolean; value: { path: string; score: number }[] };
      expect(result.ok).toBe(true);
      expect(result.value[0]!.path).toBe(original);
      expect(result.value[0]!.score).toBeGreaterThan(0.9);
    } finally {
      await server.close();
      await b.close();
    }
  });

  it('does not follow a library folder replaced by a link to another folder after indexing', async () => {
    const { b, photos } = await library('swapped', 3);
    const server = await startServer({ backend: backendPort(b), port: 0, staticDir: tmp });
    try {
      const [hit] = await b.search.search('a shape', 1);
      expect(await b.photoFile(hit!.id, 'full')).toBe(hit!.path);
      expect((await get(server.port, server.token, `/api/photo/${hit!.id}?size=full`)).status).toBe(200);
      // Another folder holds a text file under the indexed name; the library folder becomes a link to it.
      const elsewhere = path.join(tmp, 'swapped', 'elsewhere');
      mkdirSync(elsewhere);
      writeFileSync(path.join(elsewhere, path.basename(hit!.path)), 'not a photo: a private text file\n');
      renameSync(photos, `${photos}.moved`);
      symlinkSync(elsewhere, photos);
      expect(await b.photoFile(hit!.id, 'full')).toBeNull();
      expect((await get(server.port, server.token, `/api/photo/${hit!.id}?size=full`)).status).toBe(404);
      // The folder put back as it was indexed: served again.
      rmSync(photos);
      renameSync(`${photos}.moved`, photos);
      expect(await b.photoFile(hit!.id, 'full')).toBe(hit!.path);
    } finally {
      await server.close();
      await b.close();
    }
  });

  it('models use on a compacted library: the bar counts photos embedded with the new model, never ahead of them', async () => {
    const N = 40;
    const { b, dataDir } = await library('switch', N);
    try {
      expect((await b.compaction.compact()).featuresDropped).toBe(N);
      await installModelCopy(modelDir, dataDir, 'model-b');
      const seen: { done: number; total: number; embedded: number }[] = [];
      let jobId = '';
      const off = b.onEvent((e: ApiEvent) => {
        if (e.type === 'job' && e.job.id === jobId) seen.push({ done: e.job.done, total: e.job.total, embedded: b.state.store.countEmbeddings('model-b') });
      });
      // The switch's index job reports to it (its bar moves while photos are decoded, not only at the end).
      const indexFor = b.library.indexFor.bind(b.library);
      const followed: boolean[] = [];
      let relayed = 0;
      b.library.indexFor = (ctx, id, onJob) => {
        followed.push(onJob !== undefined);
        return indexFor(ctx, id, onJob && ((j) => (relayed++, onJob(j))));
      };
      const job = (await b.modelSwitch.activateModel('model-b'))!;
      jobId = job.info.id;
      await job.done;
      off();
      expect(followed).toEqual([true]);
      expect(relayed).toBeGreaterThan(0);
      expect(seen.length).toBeGreaterThan(1);
      for (const s of seen) expect(s.done).toBeLessThanOrEqual(s.embedded);
      expect(seen.filter((s) => s.total > 0).every((s) => s.total === N)).toBe(true);
      expect(seen.at(-1)).toEqual({ done: N, total: N, embedded: N });
      expect(b.state.active.id()).toBe('model-b');
    } finally {
      await b.close();
    }
  });

  it('a second indexer on the same library waits for the first, says so, and finds the photos done', async () => {
    const N = 48;
    const { b: first, dataDir, photos } = await library('two-indexers', 0);
    await makePhotos(photos, N, 9, { format: 'jpeg' });
    const second = await openBackend({ dataDir, modelDir });
    try {
      const stages: string[] = [];
      second.onEvent((e) => {
        if (e.type === 'job') stages.push(e.job.stage);
      });
      const a = first.library.startIndex([photos]);
      // The second starts once the first has begun its work (it holds the lock from its start).
      await new Promise<void>((resolve) => {
        const off = first.onEvent((e) => {
          if (e.type === 'job' && e.job.id === a.info.id && e.job.stage !== 'Counting photos') {
            off();
            resolve();
          }
        });
      });
      const bJob = second.library.startIndex([photos]);
      const [ra, rb]: IndexSummary[] = await Promise.all([a.done, bJob.done]);
      expect(ra.added).toBe(N);
      expect(rb).toMatchObject({ added: 0, updated: 0, unchanged: N });
      expect(stages.some((s) => /^Another process \(pid \d+\) is indexing this library since [\d:]+: waiting for it to finish$/.test(s))).toBe(true);
      expect(first.state.store.countPhotos()).toBe(N);
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('an index lock left by a process killed with kill -9 is taken over once stale', async () => {
    const dataDir = path.join(tmp, 'killed');
    mkdirSync(dataDir, { recursive: true });
    const lockModule = path.join(__dirname, '..', '..', 'dist', 'main', 'backend', 'library', 'index-lock.js');
    const child = spawn(process.execPath, ['-e', `require(${JSON.stringify(lockModule)}).acquireIndexLock(${JSON.stringify(dataDir)}, { staleMs: 2000 }).then(() => { console.log('locked'); setInterval(() => {}, 1000); })`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
      child.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const waits: string[] = [];
    const lock = await acquireIndexLock(dataDir, { staleMs: 2000, pollMs: 100, onWait: (l) => waits.push(l) });
    await lock.release();
    // It was held (by the dead process) when asked for, and taken over without anyone releasing it.
    expect(waits).toEqual([expect.stringMatching(new RegExp(`^Another process \\(pid ${child.pid}\\) is indexing this library`))]);
  });

  it('serve exits promptly on SIGTERM after a library folder went away and came back', async () => {
    const { b, dataDir, photos } = await library('flap', 3);
    await b.close();
    let served: Served | undefined;
    try {
      served = await startServe({ dataDir, modelDir });
      const s = served;
      const token = /token=([A-Za-z0-9_-]+)/.exec(s.loginUrl)![1]!;
      const notices: string[] = [];
      // The server's events say when the folder is gone and when it is back (its watcher polls every 5 s).
      const events = http.get({ host: '127.0.0.1', port: s.port, path: '/api/events', headers: { host: `127.0.0.1:${s.port}`, authorization: `Bearer ${token}` } });
      // Polled; bounded by the test's timeout.
      const notice = async (what: RegExp) => {
        while (!notices.some((n) => what.test(n))) await new Promise((r) => setTimeout(r, 50));
      };
      events.on('response', (res) =>
        res.setEncoding('utf8').on('data', (chunk: string) => {
          for (const m of chunk.matchAll(/^data: (.*)$/gm)) {
            const e = JSON.parse(m[1]!) as ApiEvent;
            if (e.type === 'notice') notices.push(e.message);
          }
        }),
      );
      await new Promise((r) => events.once('response', r));
      renameSync(photos, `${photos}.away`);
      await notice(/is gone/);
      renameSync(`${photos}.away`, photos);
      await notice(/is back/);
      events.destroy();
      const exited = new Promise<number | null>((r) => s.child.once('exit', (code) => r(code)));
      s.child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 2000))]);
      expect(code).toBe(0);
    } finally {
      await stopServe(served);
    }
  });
});

