// The renderer's two transports must be indistinguishable: the HTTP client (browser mode, through the real
// server) and the IPC client (desktop, through the same dispatch main uses) give the same Results for the
// same calls, including validation errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendPort, PhotoSearchApi, Result } from '../../shared/api';
import { dispatchCall } from '../../main/electron/dispatch';
import { startServer, type RunningServer } from '../../main/server/index';
import { createHttpApi } from '../../renderer/src/api/http';
import { createIpcApi, type PhotoSearchBridge } from '../../renderer/src/api/ipc';
import { RecordingBackend } from '../helpers/recording-backend';
import { useServerToken } from '../helpers/token-fetch';

/** Echoes what reached it; removeFolder fails as the real one does for an unknown folder. */
const echo = () =>
  new RecordingBackend((method, request) =>
    method === 'removeFolder'
      ? { ok: false, code: 'not_found', message: `Folder ${(request as { path: string }).path} is not in the library.` }
      : { ok: true, value: { method, request: request ?? null } },
  );

/** A bridge shaped like preload's, calling main's dispatch directly (the IPC hop is Electron's job). */
function bridgeFor(backend: BackendPort): PhotoSearchBridge {
  return { call: (method, request) => dispatchCall(backend, {}, 'app://renderer/index.html', method, request), onEvent: () => () => undefined };
}

let server: RunningServer;
const httpBackend = echo();
const ipcBackend = echo();
let clients: [string, PhotoSearchApi][];
let restoreFetch: () => void;

beforeAll(async () => {
  server = await startServer({ backend: httpBackend, port: 0, staticDir: __dirname });
  restoreFetch = useServerToken(server.token);
  clients = [
    ['http', createHttpApi(server.url.replace(/\/$/, ''))],
    ['ipc', createIpcApi(bridgeFor(ipcBackend))],
  ];
});
afterAll(async () => {
  restoreFetch?.();
  await server?.close();
});

async function both<T>(fn: (api: PhotoSearchApi) => Promise<Result<T>>): Promise<Result<T>> {
  const [a, b] = await Promise.all(clients.map(([, api]) => fn(api)));
  expect(a).toEqual(b);
  return a;
}

describe('HTTP and IPC clients', () => {
  it('give the same answer for valid calls', async () => {
    expect(await both((api) => api.search({ query: 'cat', top: 3 }))).toEqual({ ok: true, value: { method: 'search', request: { query: 'cat', top: 3 } } });
    expect(await both((api) => api.status())).toEqual({ ok: true, value: { method: 'status', request: null } });
    expect(await both((api) => api.startTraining({ set: '/s', epochs: 2, loss: 'tutorial' }))).toMatchObject({ ok: true });
  });

  it('give the same validation error, and the backend never sees it', async () => {
    httpBackend.calls = [];
    ipcBackend.calls = [];
    const r = await both((api) => api.search({ query: '' }));
    expect(r).toEqual({ ok: false, code: 'invalid_input', message: 'Invalid request to search: query: type something to search for' });
    expect(await both((api) => api.startTraining({ set: '/s', epochs: 0 }))).toMatchObject({ ok: false, code: 'invalid_input' });
    expect(httpBackend.calls).toEqual([]);
    expect(ipcBackend.calls).toEqual([]);
  });

  it('pass backend errors through unchanged', async () => {
    expect(await both((api) => api.removeFolder({ path: '/nope' }))).toEqual({ ok: false, code: 'not_found', message: 'Folder /nope is not in the library.' });
  });

  it('name photos by their own transport', () => {
    expect(clients[0][1].photoUrl(5, 'thumb')).toBe(`${server.url}api/photo/5?size=thumb`);
    expect(clients[1][1].photoUrl(5, 'full')).toBe('photo://full/5');
  });

  it('turn an unreachable server into a readable Result', async () => {
    const dead = createHttpApi('http://127.0.0.1:9');
    const r = await dead.status();
    expect(r).toMatchObject({ ok: false, code: 'internal' });
    if (!r.ok) expect(r.message).toMatch(/Cannot reach Photo Search/);
  });
});
