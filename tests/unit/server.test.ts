// The browser-mode server over a real socket: input validation, loopback-only binding, Host and Origin
// checks, body limit, static serving without traversal, photos and server-sent events.
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent, ApiMethod, BackendPort, Result } from '../../shared/api';
import { CSP, isLoopbackHost, resolveStaticPath, startServer, type RunningServer } from '../../main/server/index';

/** The transport edge: a BackendPort that records what reached it. */
class RecordingBackend implements BackendPort {
  calls: { method: ApiMethod; request: unknown }[] = [];
  listeners = new Set<(e: ApiEvent) => void>();
  constructor(private photos: Record<number, string>) {}
  async call(method: ApiMethod, request: unknown): Promise<Result<unknown>> {
    this.calls.push({ method, request });
    if (method === 'openPhoto') return { ok: false, code: 'unsupported', message: 'This needs the desktop app.' };
    if (method === 'search') return { ok: true, value: [{ id: 1, path: this.photos[1], score: 0.5, width: 4, height: 3, takenAt: null }] };
    return { ok: true, value: null };
  }
  async photoFile(id: number): Promise<string | null> {
    return this.photos[id] ?? null;
  }
  onEvent(listener: (e: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(e: ApiEvent): void {
    for (const l of this.listeners) l(e);
  }
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: { host: `127.0.0.1:${port}`, ...opts.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function post(port: number, method: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return request(port, {
    method: 'POST',
    path: `/api/${method}`,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

let dir: string;
let backend: RecordingBackend;
let server: RunningServer;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ps-server-'));
  const www = path.join(dir, 'www');
  mkdirSync(path.join(www, 'assets'), { recursive: true });
  writeFileSync(path.join(www, 'index.html'), '<!doctype html><title>Photo Search</title>');
  writeFileSync(path.join(www, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(path.join(www, 'assets', 'app.css'), 'body{}');
  writeFileSync(path.join(www, '.env'), 'SECRET=dotfile');
  writeFileSync(path.join(dir, 'secret.txt'), 'TOP-SECRET');
  const photo = path.join(dir, 'photo.jpg');
  writeFileSync(photo, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
  backend = new RecordingBackend({ 1: photo, 2: path.join(dir, 'gone.jpg') });
  server = await startServer({ backend, port: 0, staticDir: www });
  port = server.port;
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('API calls', () => {
  it('passes a valid request to the backend and returns its Result', async () => {
    backend.calls = [];
    const r = await post(port, 'search', { query: 'dog on a beach', top: 5 });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(r.body) as Result<{ id: number }[]>;
    expect(body.ok && body.value[0].id).toBe(1);
    expect(backend.calls).toEqual([{ method: 'search', request: { query: 'dog on a beach', top: 5 } }]);
  });

  it('accepts methods without a body', async () => {
    const r = await post(port, 'status', undefined);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ok: true, value: null });
  });

  it.each([
    ['an empty query', 'search', { query: '   ' }, /search: query: type something to search for/],
    ['an unknown field', 'search', { query: 'x', evil: 1 }, /Invalid request to search/],
    ['a wrong type', 'searchLike', { id: 'seven' }, /searchLike: id:/],
    ['a missing path', 'addFolder', {}, /addFolder: path:/],
  ])('rejects %s with an invalid_input Result before the backend sees it', async (_what, method, body, message) => {
    backend.calls = [];
    const r = await post(port, method, body);
    expect(r.status).toBe(400);
    const result = JSON.parse(r.body) as Result<unknown>;
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe('invalid_input');
      expect(result.message).toMatch(message);
      expect(result.message).not.toContain('\n');
    }
    expect(backend.calls).toEqual([]);
  });

  it('answers an unknown method with a not_found Result (404)', async () => {
    const r = await post(port, 'dropDatabase', {});
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body)).toMatchObject({ ok: false, code: 'not_found', message: 'Unknown API method "dropDatabase".' });
    const proto = await post(port, '__proto__', {});
    expect(proto.status).toBe(404);
  });

  it('rejects bad JSON, other content types and GET', async () => {
    const bad = await post(port, 'search', '{"query":');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).message).toMatch(/not valid JSON/);
    // A cross-site HTML form can only send form or text content types.
    const form = await post(port, 'addFolder', 'path=/etc', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    const get = await request(port, { path: '/api/status' });
    expect(get.status).toBe(405);
  });

  it('refuses bodies over the limit', async () => {
    const r = await post(port, 'search', { query: 'x'.repeat(2 * 1024 * 1024) });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toMatchObject({ ok: false, code: 'invalid_input' });
  });

  it('returns backend errors as Results with status 200 (they are answers, not transport failures)', async () => {
    const r = await post(port, 'openPhoto', { id: 1 });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ok: false, code: 'unsupported', message: 'This needs the desktop app.' });
  });
});

describe('origin checks', () => {
  it('rejects a foreign Host header (DNS rebinding)', async () => {
    backend.calls = [];
    const r = await post(port, 'status', undefined, { host: `evil.example:${port}` });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toMatchObject({ ok: false, code: 'forbidden' });
    const page = await request(port, { path: '/', headers: { host: `evil.example:${port}` } });
    expect(page.status).toBe(403);
    const otherPort = await post(port, 'status', undefined, { host: `127.0.0.1:${port + 1}` });
    expect(otherPort.status).toBe(403);
    expect(backend.calls).toEqual([]);
  });

  it('accepts localhost and 127.0.0.1 on its own port', async () => {
    expect((await post(port, 'status', undefined, { host: `localhost:${port}` })).status).toBe(200);
    expect((await post(port, 'status', undefined, { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` })).status).toBe(200);
  });

  it('rejects a cross-site Origin', async () => {
    const r = await post(port, 'addFolder', { path: '/' }, { origin: 'https://evil.example' });
    expect(r.status).toBe(403);
  });
});

describe('binding', () => {
  it('refuses a non-loopback address unless allowRemote', async () => {
    await expect(startServer({ backend, port: 0, host: '0.0.0.0', staticDir: dir })).rejects.toThrow(/Refusing to listen on 0\.0\.0\.0.*allowRemote/);
    await expect(startServer({ backend, port: 0, host: '192.168.1.20', staticDir: dir })).rejects.toThrow(/127\.0\.0\.1 only/);
  });

  it('binds to loopback by default and reports its URL', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${port}/`);
  });

  it('knows which hosts are loopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.0.1', 'example.com', '128.0.0.1', 'localhost.evil.com']) expect(isLoopbackHost(h), h).toBe(false);
  });
});

describe('static files', () => {
  it('serves index.html with the strict CSP and assets with their types', async () => {
    const page = await request(port, { path: '/' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toBe(CSP);
    expect(CSP.startsWith("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'")).toBe(true);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).toContain('<title>Photo Search</title>');
    expect((await request(port, { path: '/assets/app.js' })).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await request(port, { path: '/assets/app.css' })).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await request(port, { path: '/assets/none.js' })).status).toBe(404);
  });

  it.each(['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/assets/..%5c..%5csecret.txt', '/..%00/secret.txt', '/.env', '//etc/passwd'])(
    'does not leave the static folder: %s',
    async (p) => {
      const r = await request(port, { path: p });
      expect(r.status).toBe(404);
      expect(r.body).not.toContain('TOP-SECRET');
      expect(r.body).not.toContain('SECRET=dotfile');
    },
  );

  it('resolves static paths only inside the root', () => {
    const root = path.join(dir, 'www');
    expect(resolveStaticPath(root, '/assets/app.js')).toBe(path.join(root, 'assets', 'app.js'));
    expect(resolveStaticPath(root, '/a/../../secret.txt')).toBeNull();
    expect(resolveStaticPath(root, '/%E0%A4%A')).toBeNull();
  });

  it('says how to build the renderer when it is missing', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'ps-empty-'));
    const s = await startServer({ backend, port: 0, staticDir: empty });
    try {
      const r = await request(s.port, { path: '/' });
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body).message).toMatch(/npm run build:renderer/);
    } finally {
      await s.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('photos and events', () => {
  it('streams a photo with its content type', async () => {
    const r = await request(port, { path: '/api/photo/1?size=thumb' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('image/jpeg');
    expect(r.headers['content-length']).toBe('7');
  });

  it('answers 404 for unknown photos and 400 for a bad size', async () => {
    expect((await request(port, { path: '/api/photo/99?size=thumb' })).status).toBe(404);
    expect((await request(port, { path: '/api/photo/2?size=full' })).status).toBe(404);
    expect((await request(port, { path: '/api/photo/1?size=huge' })).status).toBe(400);
  });

  it('forwards backend events as server-sent events', async () => {
    const received = await new Promise<string>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/api/events', headers: { host: `127.0.0.1:${port}` } }, (res) => {
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString('utf8');
          if (text.includes('models-changed')) {
            req.destroy();
            resolve(text);
          }
        });
        // The listener is attached once the headers are out.
        setTimeout(() => backend.emit({ type: 'models-changed' }), 50);
      });
      req.on('error', reject);
    });
    expect(received).toContain('data: {"type":"models-changed"}\n\n');
    // The closed stream unsubscribed.
    await new Promise((r) => setTimeout(r, 50));
    expect(backend.listeners.size).toBe(0);
  });
});
