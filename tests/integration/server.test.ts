// The browser-mode server over a real socket: the access token, input validation, loopback-only binding,
// Host and Origin checks (remote too), body limit, static serving without traversal, photos and
// server-sent events.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_METHODS } from '../../shared/api';
import { CSP, isLoopbackHost, resolveStaticPath, startServer, type RunningServer } from '../../main/server/index';
import { allowedHostHeaders, chooseAccessToken, cookieValue } from '../../main/server/http-util';
import { RecordingBackend } from '../helpers/recording-backend';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request; it carries the server's token (as scripts send it) unless `auth` is false or headers replace it. */
function request(port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string; auth?: boolean; connect?: string; token?: string }): Promise<Reply> {
  const connect = opts.connect ?? '127.0.0.1';
  const auth: Record<string, string> = opts.auth === false ? {} : { authorization: `Bearer ${opts.token ?? server.token}` };
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: connect, port, method: opts.method ?? 'GET', path: opts.path, headers: { host: `${connect}:${port}`, ...auth, ...opts.headers } },
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

function post(port: number, method: string, body: unknown, headers: Record<string, string> = {}, extra: { auth?: boolean; connect?: string; token?: string } = {}): Promise<Reply> {
  return request(port, {
    method: 'POST',
    path: `/api/${method}`,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body),
    ...extra,
  });
}

/** Resolves once `cond` holds (polled; bounded by the test's timeout). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
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
  const photos = { 1: photo, 2: path.join(dir, 'gone.jpg') };
  backend = new RecordingBackend((method) => {
    if (method === 'openPhoto') return { ok: false, code: 'unsupported', message: 'This needs the desktop app.' };
    if (method === 'search') return { ok: true, value: [{ id: 1, path: photos[1], score: 0.5, width: 4, height: 3, takenAt: null }] };
    return { ok: true, value: null };
  }, photos);
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

describe('access token', () => {

  it('answers 401 on every /api route without a valid token or cookie, before the backend sees anything', async () => {
    backend.calls = [];
    const cookie = `photo-search-token-${port}`;
    for (const method of API_METHODS) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { cookie: `${cookie}=wrong` }, { cookie: `photo-search-token-${port + 1}=${server.token}` }]) {
        const r = await post(port, method, { path: '/etc', id: 1, query: 'x', source: '/x', set: '/x' }, headers, { auth: false });
        expect(r.status, `${method} ${JSON.stringify(headers)}`).toBe(401);
        expect(JSON.parse(r.body)).toEqual({ ok: false, code: 'forbidden', message: 'Open Photo Search with the link `photo-search serve` printed: it carries the access token.' });
      }
    }
    for (const p of ['/api/photo/1?size=full', '/api/photo/1?size=thumb', '/api/events', '/api/dropDatabase', '/api/%']) {
      expect((await request(port, { path: p, auth: false })).status, p).toBe(401);
    }
    expect(backend.calls).toEqual([]);
  });

  it('trades the token in the link for an HttpOnly SameSite=Strict cookie and redirects to the address without it', async () => {
    expect(server.loginUrl).toBe(`http://127.0.0.1:${port}/?token=${server.token}`);
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const login = await request(port, { path: `/?token=${server.token}`, auth: false });
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/');
    const setCookie = login.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).toMatch(new RegExp(`^photo-search-token-${port}=${server.token}; `));
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    const cookie = setCookie.split(';')[0];
    const r = await post(port, 'status', undefined, { cookie }, { auth: false });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ok: true, value: null });
    expect((await request(port, { path: '/api/photo/1?size=thumb', headers: { cookie }, auth: false })).status).toBe(200);
    // Other query parameters survive the redirect.
    expect((await request(port, { path: `/index.html?x=1&token=${server.token}`, auth: false })).headers.location).toBe('/index.html?x=1');
    // Never a redirect to another host.
    expect((await request(port, { path: `//evil.example/x?token=${server.token}`, auth: false })).headers.location).toBe('/x');
  });

  it('answers the app address without the token with a page that says which link to open, not the app', async () => {
    const cookie = `photo-search-token-${port}`;
    for (const headers of [{}, { cookie: `${cookie}=stale-token-from-an-earlier-start` }]) {
      for (const p of ['/', '/index.html']) {
        const r = await request(port, { path: p, headers, auth: false });
        expect(r.status, p).toBe(401);
        expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(r.body).not.toContain('<title>Photo Search</title>');
        expect(r.body).toContain('<h1>Open the link <code>photo-search serve</code> printed</h1>');
        // Its CSP allows exactly its own inline style, by hash, and nothing else.
        const style = /<style>([^<]*)<\/style>/.exec(r.body)![1]!;
        const hash = createHash('sha256').update(style).digest('base64');
        expect(r.headers['content-security-policy']).toBe(`default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`);
      }
    }
    // With the cookie (or the header scripts send) the address is the app.
    expect((await request(port, { path: '/', headers: { cookie: `${cookie}=${server.token}` }, auth: false })).body).toContain('<title>Photo Search</title>');
    expect((await request(port, { path: '/' })).body).toContain('<title>Photo Search</title>');
  });

  it('refuses a wrong token in the link without setting a cookie', async () => {
    const r = await request(port, { path: '/?token=guess', auth: false });
    expect(r.status).toBe(401);
    expect(r.headers['set-cookie']).toBeUndefined();
    expect(r.body).toMatch(/access token is not valid/);
  });

  it('makes a new random token at each start', async () => {
    const other = await startServer({ backend, port: 0, staticDir: dir });
    try {
      expect(other.token).not.toBe(server.token);
      expect((await post(other.port, 'status', undefined, {}, { token: server.token })).status).toBe(401);
      expect((await post(other.port, 'status', undefined, {}, { token: other.token })).status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('takes the token from PHOTO_SEARCH_TOKEN when set, and refuses a weak one', () => {
    expect(chooseAccessToken({ PHOTO_SEARCH_TOKEN: 'a'.repeat(24) })).toBe('a'.repeat(24));
    expect(chooseAccessToken({})).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(() => chooseAccessToken({ PHOTO_SEARCH_TOKEN: 'secret' })).toThrow(/PHOTO_SEARCH_TOKEN must be at least 24 letters/);
  });

  it('reads cookies by exact name', () => {
    expect(cookieValue('a=1; photo-search-token-5=abc; b=2', 'photo-search-token-5')).toBe('abc');
    expect(cookieValue('photo-search-token-55=abc', 'photo-search-token-5')).toBeUndefined();
    expect(cookieValue(undefined, 'x')).toBeUndefined();
  });
});

describe('malformed addresses', () => {
  it.each(['/api/%', '/api/%E0%A4%A', '/api/sta%tus'])('answers 400 for a malformed percent-escape: %s', async (p) => {
    for (const method of ['GET', 'POST']) {
      const r = await request(port, { method, path: p, headers: { 'content-type': 'application/json' } });
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body)).toMatchObject({ ok: false, code: 'invalid_input', message: expect.stringMatching(/malformed %-escape/) });
    }
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
  it('serves on another loopback address such as 127.0.0.2, checking Host against it', async () => {
    const s = await startServer({ backend, port: 0, host: '127.0.0.2', staticDir: path.join(dir, 'www') });
    try {
      expect(s.url).toBe(`http://127.0.0.2:${s.port}/`);
      const ok = await post(s.port, 'status', undefined, { origin: `http://127.0.0.2:${s.port}` }, { connect: '127.0.0.2', token: s.token });
      expect(ok.status).toBe(200);
      expect((await request(s.port, { path: '/', connect: '127.0.0.2', token: s.token })).status).toBe(200);
      const evil = await post(s.port, 'status', undefined, { host: `evil.example:${s.port}` }, { connect: '127.0.0.2', token: s.token });
      expect(evil.status).toBe(403);
      expect(JSON.parse(evil.body).message).toBe(`Host "evil.example:${s.port}" is not allowed; open http://127.0.0.2:${s.port}/ instead.`);
    } finally {
      await s.close();
    }
  });

  it('keeps the Host and Origin checks and the token with allowRemote', async () => {
    const s = await startServer({ backend, port: 0, host: '0.0.0.0', allowRemote: true, staticDir: dir });
    try {
      backend.calls = [];
      const opts = { token: s.token };
      expect((await post(s.port, 'status', undefined, {}, opts)).status).toBe(200);
      expect((await post(s.port, 'status', undefined, { host: `evil.example:${s.port}` }, opts)).status).toBe(403);
      expect((await post(s.port, 'status', undefined, { origin: 'https://evil.example' }, opts)).status).toBe(403);
      expect((await post(s.port, 'status', undefined, {}, { auth: false })).status).toBe(401);
      expect(backend.calls).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it('allows the Host names of the bound address only', () => {
    const ifaces = { lo: [{ address: '127.0.0.1' }], eth0: [{ address: '192.168.1.20' }, { address: 'fe80::1' }] } as unknown as Parameters<typeof allowedHostHeaders>[2];
    expect(allowedHostHeaders('127.0.0.1', 80, ifaces).sort()).toEqual(['127.0.0.1:80', '[::1]:80', 'localhost:80']);
    expect(allowedHostHeaders('127.0.0.2', 80, ifaces).sort()).toEqual(['127.0.0.1:80', '127.0.0.2:80', '[::1]:80', 'localhost:80']);
    expect(allowedHostHeaders('192.168.1.20', 80, ifaces)).toEqual(['192.168.1.20:80']);
    expect(allowedHostHeaders('0.0.0.0', 80, ifaces).sort()).toEqual(['127.0.0.1:80', '192.168.1.20:80', '[::1]:80', '[fe80::1]:80', 'localhost:80']);
  });

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
      const r = await request(s.port, { path: '/', token: s.token });
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
      const req = http.get({ host: '127.0.0.1', port, path: '/api/events', headers: { host: `127.0.0.1:${port}`, authorization: `Bearer ${server.token}` } }, (res) => {
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString('utf8');
          if (text.includes('models-changed')) {
            req.destroy();
            resolve(text);
          }
        });
        // The listener is attached once the headers are out: emit as soon as it is there.
        void until(() => backend.listeners.size > 0).then(() => backend.emit({ type: 'models-changed' }));
      });
      req.on('error', reject);
    });
    expect(received).toContain('data: {"type":"models-changed"}\n\n');
    // The closed stream unsubscribed (waited for, not timed: the test's own timeout bounds it).
    await until(() => backend.listeners.size === 0);
    expect(backend.listeners.size).toBe(0);
  });
});
