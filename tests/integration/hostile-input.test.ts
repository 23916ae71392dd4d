/**
 * Hostile files and paths against the real backend (generated model, real SQLite, real sharp): photos
 * behind links that leave their library folder are neither indexed nor served, FIFOs, devices and oversized
 * files are refused before a byte is read (no hang), and a backend method that fails at once reaches HTTP
 * and IPC clients with its own error code.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiMethod, Result } from '../../shared/api';
import { MAX_PHOTO_BYTES, readRegularFile, readRegularFileSync, UnsafeFileError } from '../../main/backend/fs/safe-read';
import { generateTestModel } from '../helpers/generate-model';
import { readManifest } from '../../main/backend/catalog/manifest';
import { backendPort } from '../../main/backend/handlers';
import { openBackend, type Backend } from '../../main/backend/backend';
import { dispatchCall } from '../../main/electron/dispatch';
import { startServer, type RunningServer } from '../../main/server/index';
import { makeCaptionedSet } from '../helpers/captioned-set';
import { makePhotos } from '../helpers/fixtures';

const POSIX = process.platform !== 'win32';
let tmp: string;
let modelDir: string;
let backend: Backend;
let server: RunningServer;

function get(p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: server.port, path: p, headers: { authorization: `Bearer ${server.token}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      })
      .on('error', reject);
  });
}

/** The same call through browser mode's HTTP route and the desktop's IPC dispatch. */
async function viaBoth(method: ApiMethod, request?: unknown): Promise<[Result<unknown>, Result<unknown>]> {
  const res = await fetch(`${server.url}api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
    body: request === undefined ? '' : JSON.stringify(request),
  });
  const overHttp = (await res.json()) as Result<unknown>;
  const overIpc = await dispatchCall(backendPort(backend), {}, 'app://renderer/index.html', method, request);
  return [overHttp, overIpc];
}

beforeAll(async () => {
  tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'ps-hostile-')));
  modelDir = await generateTestModel(path.join(tmp, 'model'), { seed: 3 });
  backend = await openBackend({ dataDir: path.join(tmp, 'data'), modelDir });
  server = await startServer({ backend: backendPort(backend), port: 0, staticDir: tmp });
});

afterAll(async () => {
  await server?.close();
  await backend?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('error codes reach the clients', () => {
  it('keeps empty_library, unknown_model and not_found for methods that fail before they start', async () => {
    for (const [method, request, code] of [
      ['rescan', undefined, 'empty_library'],
      ['startTraining', { set: tmp, base: 'no-such-model' }, 'unknown_model'],
      ['activateModel', { id: 'no-such-model' }, 'unknown_model'],
      ['cancelJob', { id: 'no-such-job' }, 'not_found'],
    ] as const) {
      const [h, i] = await viaBoth(method, request);
      expect(h, method).toMatchObject({ ok: false, code });
      expect(i, method).toEqual(h);
    }
  });

  it('keeps busy when a job of the same kind is running', async () => {
    const photos = path.join(tmp, 'busy-photos');
    await makePhotos(photos, 6, 2);
    const first = await backend.library.addFolders([photos]);
    try {
      const [h, i] = await viaBoth('rescan');
      expect(h).toMatchObject({ ok: false, code: 'busy', message: expect.stringMatching(/already running/) });
      expect(i).toEqual(h);
    } finally {
      await first.done;
      await backend.library.removeFolder(photos);
    }
  });
});

describe.runIf(POSIX)('links out of a library folder', () => {
  it('are skipped by the indexer with the reason, and a link swapped in after indexing is not served', async () => {
    const root = path.join(tmp, 'lib');
    const outside = path.join(tmp, 'outside');
    const [inside] = await makePhotos(root, 2, 4);
    const [away] = await makePhotos(outside, 1, 5);
    writeFileSync(path.join(tmp, 'secret.txt'), 'TOP-SECRET first line\n');
    symlinkSync(away.path, path.join(root, 'away.jpg'));
    symlinkSync(outside, path.join(root, 'away-folder'));
    const job = await backend.library.addFolders([root]);
    const summary = await job.done;
    expect(summary).toMatchObject({ added: 2, skipped: 2 });
    const reasons = backend.library.skipped(100, 0).items.filter((s) => s.path.startsWith(root)).map((s) => [path.basename(s.path), s.reason]);
    expect(reasons.sort()).toEqual([
      ['away-folder', `links to ${outside}, outside the library folder ${root}: not indexed (add that folder itself to index it)`],
      ['away.jpg', `links to ${away.path}, outside the library folder ${root}: not indexed (add that folder itself to index it)`],
    ]);

    // Served while it is a real file inside the folder...
    const row = backend.state.store.photoByPath(inside.path)!;
    expect((await get(`/api/photo/${row.id}?size=full`)).status).toBe(200);
    // ...not once it became a link to a file elsewhere (here a text file that would go out as image/jpeg).
    unlinkSync(inside.path);
    symlinkSync(path.join(tmp, 'secret.txt'), inside.path);
    for (const size of ['full', 'thumb']) {
      const r = await get(`/api/photo/${row.id}?size=${size}`);
      expect(r.status, size).toBe(404);
      expect(r.body).not.toContain('TOP-SECRET');
    }
    expect(await backend.photoFile(row.id, 'full')).toBeNull();
    await backend.library.removeFolder(root);
  });
});

describe.runIf(POSIX)('FIFOs, devices and oversized files', () => {
  it('refuses them in search --like before reading (no hang)', async () => {
    const root = path.join(tmp, 'like-lib');
    await makePhotos(root, 3, 6);
    await (await backend.library.addFolders([root])).done;
    const fifo = path.join(tmp, 'fifo.jpg');
    execFileSync('mkfifo', [fifo]);
    const zero = path.join(tmp, 'zero.jpg');
    symlinkSync('/dev/zero', zero);
    await expect(backend.search.searchLikeFile(fifo, 3)).rejects.toThrow(`Cannot use ${fifo}: a FIFO (named pipe), not a regular file.`);
    await expect(backend.search.searchLikeFile(zero, 3)).rejects.toThrow(`Cannot use ${zero}: a character device, not a regular file.`);
    await backend.library.removeFolder(root);
  });

  it('refuses a captions file that is a FIFO, with a one-line reason (inspect returns, the server stays free)', async () => {
    const set = path.join(tmp, 'fifo-set');
    await makeCaptionedSet(set, { photos: 4, seed: 2 });
    unlinkSync(path.join(set, 'captions.txt'));
    execFileSync('mkfifo', [path.join(set, 'captions.txt')]);
    // Four at once used to block every file thread of the server until restart.
    const results = await Promise.all([1, 2, 3, 4].map(() => viaBoth('inspectCaptionSet', { path: set })));
    for (const [h, i] of results) {
      expect(h).toEqual({ ok: false, code: 'bad_dataset', message: expect.stringMatching(/^\S*captions\.txt is not a regular file \(a device, FIFO or socket\), not a captions file\. /) });
      expect(i).toEqual(h);
    }
    expect((await viaBoth('status'))[0]).toMatchObject({ ok: true });
  });

  it('refuses a model.json that is a FIFO', async () => {
    const dir = path.join(tmp, 'fifo-model');
    mkdirSync(dir);
    execFileSync('mkfifo', [path.join(dir, 'model.json')]);
    await expect(readManifest(dir)).rejects.toThrow(`Model manifest ${path.join(dir, 'model.json')}: a FIFO (named pipe), not a regular file.`);
  });

  it('skips a photo larger than the limit while indexing, without reading it', async () => {
    const root = path.join(tmp, 'big-lib');
    await makePhotos(root, 2, 7);
    const big = path.join(root, 'big.jpg');
    writeFileSync(big, '');
    truncateSync(big, MAX_PHOTO_BYTES + 20 * 1024 * 1024); // sparse: no disk space, no memory unless read
    const summary = await (await backend.library.addFolders([root])).done;
    expect(summary).toMatchObject({ added: 2, skipped: 1 });
    expect(backend.library.skipped(100, 0).items.find((s) => s.path === big)?.reason).toBe('too large (320 MB; the limit is 300 MB)');
    await backend.library.removeFolder(root);
  });

  it('reads regular files whole and refuses the rest by kind and size', async () => {
    const f = path.join(tmp, 'small.bin');
    writeFileSync(f, Buffer.from([1, 2, 3]));
    expect([...(await readRegularFile(f, 3))]).toEqual([1, 2, 3]);
    expect([...readRegularFileSync(f, 3)]).toEqual([1, 2, 3]);
    await expect(readRegularFile(f, 2)).rejects.toThrow(`${f}: too large (3 B; the limit is 2 B).`);
    expect(() => readRegularFileSync(f, 2)).toThrow(UnsafeFileError);
    await expect(readRegularFile(tmp, 10)).rejects.toThrow(`${tmp}: is a folder, not a file.`);
    await expect(readRegularFile('/dev/null', 10)).rejects.toMatchObject({ code: 'not_a_file', reason: 'a character device, not a regular file' });
    await expect(readRegularFile(path.join(tmp, 'missing.bin'), 10)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
