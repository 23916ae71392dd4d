// What a long-running browser-mode server must not accumulate: file handles of photos whose clients went
// away mid-body, and the request body limit that search by image needs (the documented 20 MB image).
import http from 'node:http';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SEARCH_IMAGE_BYTES } from '../../shared/api';
import { startServer, type RunningServer } from '../../main/server/index';
import { RecordingBackend } from '../helpers/recording-backend';

let dir: string;
let big: string;
let server: RunningServer;
let backend: RecordingBackend;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ps-endurance-'));
  big = path.join(dir, 'big.jpg');
  // Larger than the socket buffers, so a response is still being read from the file when its client leaves.
  writeFileSync(big, Buffer.alloc(8 * 1024 * 1024, 0xab));
  backend = new RecordingBackend(() => ({ ok: true, value: [] }), { 1: big });
  server = await startServer({ backend, port: 0, staticDir: dir });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Descriptors of this process open on `file` (Linux's /proc). */
function openOn(file: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      // closed while listing
    }
  }
  return n;
}

/** Ask for the full photo and hang up after the first chunk of its body (`bytes` read). */
function abortMidBody(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/api/photo/1?size=full', headers: { host: `127.0.0.1:${port}`, authorization: `Bearer ${server.token}` } }, (res) => {
      res.once('data', (chunk: Buffer) => {
        req.destroy();
        resolve(chunk.length);
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
  });
}

/** Resolves once `cond` holds, polled; false after `ms` (the leak this guards against never goes away). */
async function within(ms: number, cond: () => boolean): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

const linux = process.platform === 'linux';

describe('browser mode over time', () => {
  it.runIf(linux)('closes the photo file when clients hang up mid-body, so open files return to where they started', async () => {
    const start = readdirSync('/proc/self/fd').length;
    expect(openOn(big)).toBe(0);
    for (let i = 0; i < 40; i++) expect(await abortMidBody(server.port)).toBeGreaterThan(0);
    // Each aborted response let go of its file; nothing else piled up either.
    expect(await within(5000, () => openOn(big) === 0)).toBe(true);
    expect(await within(5000, () => readdirSync('/proc/self/fd').length <= start)).toBe(true);
  });

  it('takes a search image up to the documented size in one request', async () => {
    // 15 MB of image bytes is 20 MB of base64: well over the 1 MiB that other calls get.
    const image = Buffer.alloc(15 * 1024 * 1024, 7).toString('base64');
    const body = JSON.stringify({ image, top: 5 });
    const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: server.port, method: 'POST', path: '/api/searchImage', headers: { host: `127.0.0.1:${server.port}`, authorization: `Bearer ${server.token}`, 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text)).toEqual({ ok: true, value: [] });
    expect(backend.calls.at(-1)).toMatchObject({ method: 'searchImage' });
    expect((backend.calls.at(-1)!.request as { image: string }).image.length).toBe(image.length);
    expect(MAX_SEARCH_IMAGE_BYTES).toBe(20 * 1024 * 1024);
  });

  it('still refuses a body over the limit for the other calls, and a search image over 20 MB', async () => {
    // Only the declared length is sent: the refusal comes before any body is read.
    const declare = (method: string, bytes: number) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port: server.port,
          method: 'POST',
          path: `/api/${method}`,
          headers: { host: `127.0.0.1:${server.port}`, authorization: `Bearer ${server.token}`, 'content-type': 'application/json', 'content-length': String(bytes) },
        });
        req.on('response', (res) => {
          resolve(res.statusCode ?? 0);
          req.destroy();
        });
        req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
        req.flushHeaders();
      });
    expect(await declare('search', 2 * 1024 * 1024)).toBe(413);
    expect(await declare('searchImage', Math.ceil((MAX_SEARCH_IMAGE_BYTES + 1024 * 1024) / 3) * 4)).toBe(413);
  });
});
