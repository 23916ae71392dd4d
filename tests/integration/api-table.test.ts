// The API table in shared/api.ts is the only list of methods: the renderer's client, the preload bridge, the
// IPC edge and the browser-mode server all follow it, so no transport can gain, lose or rename a method on
// its own. Unknown methods and bad requests are refused at the edge, once, with the same code and words on
// both transports, and the backend never sees them.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { acceptCall, API, API_METHODS, type ApiMethod, type Result } from '../../shared/api';
import { CALL_CHANNEL } from '../../main/electron/channels';
import { dispatchCall } from '../../main/electron/dispatch';
import { startServer, type RunningServer } from '../../main/server/index';
import { buildApi } from '../../renderer/src/api/build';
import { RecordingBackend } from '../helpers/recording-backend';

// The thin Electron edge: what the preload hands to contextBridge, and what it sends over ipcRenderer.
const electron = vi.hoisted(() => ({ exposed: new Map<string, unknown>(), invoked: [] as unknown[][] }));
vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (name: string, value: unknown) => electron.exposed.set(name, value) },
  ipcRenderer: {
    invoke: (...args: unknown[]) => {
      electron.invoked.push(args);
      return Promise.resolve({ ok: true, value: null });
    },
    on: () => undefined,
    removeListener: () => undefined,
  },
}));

const PAGE = 'app://renderer/index.html';
/**
 * The table's methods, written out here rather than read from it: a method added, removed or renamed in
 * shared/api.ts must be added here too, on purpose.
 */
const EXPECTED_METHODS = [
  'activateModel', 'addFolder', 'addFolders', 'cancelJob', 'checkLibrary', 'compact', 'duplicates', 'evaluate', 'folders',
  'importModel', 'inspectCaptionSet', 'jobs', 'librarySize', 'models', 'openPhoto', 'photoText', 'pickFolder', 'places', 'removeFolder', 'removeModel',
  'rescan', 'search', 'searchFiles', 'searchImage', 'searchLike', 'showInFolder', 'skipped', 'startTraining', 'status',
];
const NOT_METHODS = ['dropDatabase', 'constructor', 'toString', '__proto__', 'hasOwnProperty', 'Status', 'search ', ''];

let server: RunningServer;
const httpBackend = new RecordingBackend();
const ipcBackend = new RecordingBackend();

beforeAll(async () => {
  server = await startServer({ backend: httpBackend, port: 0, staticDir: __dirname });
});
afterAll(async () => {
  await server?.close();
});

/** POST /api/<method> with the token, as the browser-mode client does. */
function post(method: string, body: unknown): Promise<{ status: number; result: Result<unknown> }> {
  const text = body === undefined ? '' : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        method: 'POST',
        path: `/api/${encodeURIComponent(method)}`,
        headers: { host: `127.0.0.1:${server.port}`, authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, result: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Result<unknown> }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

describe('the API table', () => {
  it('lists exactly the methods this test expects', () => {
    expect([...API_METHODS].sort()).toEqual(EXPECTED_METHODS);
  });

  it('refuses requests in the words written here (not compared with its own output)', () => {
    expect(acceptCall('', {})).toEqual({ ok: false, code: 'not_found', message: 'Unknown API method "".' });
    expect(acceptCall('dropDatabase', {})).toEqual({ ok: false, code: 'not_found', message: 'Unknown API method "dropDatabase".' });
    expect(acceptCall('search', { query: '   ' })).toEqual({ ok: false, code: 'invalid_input', message: 'Invalid request to search: query: type something to search for' });
    expect(acceptCall('search', { query: 'a', after: '2024-13' })).toEqual({ ok: false, code: 'invalid_input', message: 'Invalid request to search: after: a date is YYYY, YYYY-MM or YYYY-MM-DD' });
    // A day the calendar does not have is not a date either.
    expect(acceptCall('search', { query: 'a', before: '2023-02-30' })).toEqual({ ok: false, code: 'invalid_input', message: 'Invalid request to search: before: a date is YYYY, YYYY-MM or YYYY-MM-DD' });
    expect(acceptCall('search', { query: 'a', before: '2024-02-29' })).toEqual({ ok: true, call: { method: 'search', params: { query: 'a', before: '2024-02-29' } } });
    expect(acceptCall('startTraining', { set: '/s', epochs: 201 })).toMatchObject({ ok: false, code: 'invalid_input', message: expect.stringMatching(/^Invalid request to startTraining: epochs: /) });
    expect(acceptCall('startTraining', { set: '/s', name: 'x'.repeat(101) })).toEqual({ ok: false, code: 'invalid_input', message: 'Invalid request to startTraining: name: a model name has at most 100 characters' });
    expect(acceptCall('search', { query: '  two dogs  ', top: 3 })).toEqual({ ok: true, call: { method: 'search', params: { query: 'two dogs', top: 3 } } });
    expect(acceptCall('search', { query: 'a', near: '  ' })).toEqual({ ok: false, code: 'invalid_input', message: 'Invalid request to search: near: a place cannot be empty' });
    expect(acceptCall('search', { query: 'a', near: 'x'.repeat(201) })).toEqual({ ok: false, code: 'invalid_input', message: 'Invalid request to search: near: a place has at most 200 characters' });
    expect(acceptCall('search', { query: 'a', near: ' Lisbon, PT ' })).toEqual({ ok: true, call: { method: 'search', params: { query: 'a', near: 'Lisbon, PT' } } });
  });

  it('gives every method a strict request schema (an unknown field is refused, not passed on)', () => {
    expect(API_METHODS.length).toBeGreaterThan(0);
    for (const m of API_METHODS) {
      expect(m, m).toMatch(/^[a-z][A-Za-z]+$/);
      expect(API[m].params().safeParse({ notAField: true }).success, m).toBe(false);
    }
  });

  it('gives the renderer client exactly the table methods, each sending its own name', async () => {
    const sent: unknown[][] = [];
    const api = buildApi(
      async (method, request) => {
        sent.push([method, request]);
        return { ok: true, value: null };
      },
      { photoUrl: () => '', onEvent: () => () => undefined, desktop: false },
    );
    expect(Object.keys(api).sort()).toEqual([...API_METHODS, 'photoUrl', 'onEvent', 'desktop'].sort());
    for (const m of API_METHODS) await (api[m] as (r?: unknown) => Promise<unknown>)({ probe: m });
    expect(sent).toEqual(API_METHODS.map((m) => [m, { probe: m }]));
  });

  it('gives the preload bridge no method list of its own: one call function and onEvent, forwarding the name', async () => {
    await import('../../preload/index');
    const bridge = electron.exposed.get('photoSearch') as Record<string, unknown> & { call(m: string, r?: unknown): Promise<unknown> };
    expect(Object.keys(bridge).sort()).toEqual(['call', 'onEvent']);
    for (const m of API_METHODS) await bridge.call(m, { probe: m });
    expect(electron.invoked).toEqual(API_METHODS.map((m) => [CALL_CHANNEL, m, { probe: m }]));
  });

  it('routes every table method over HTTP and IPC (a request its schema refuses is invalid_input, never not_found)', async () => {
    for (const m of API_METHODS) {
      const overHttp = await post(m, { notAField: true });
      const overIpc = await dispatchCall(ipcBackend, {}, PAGE, m, { notAField: true });
      expect(overHttp.status, m).toBe(400);
      expect(overHttp.result, m).toMatchObject({ ok: false, code: 'invalid_input', message: expect.stringMatching(new RegExp(`^Invalid request to ${m}: `)) });
      expect(overIpc, m).toEqual(overHttp.result);
    }
    expect(httpBackend.calls).toEqual([]);
    expect(ipcBackend.calls).toEqual([]);
  });

  it('refuses a name outside the table with not_found, in the same words on both transports', async () => {
    for (const name of NOT_METHODS.filter((n) => n !== '')) {
      const overHttp = await post(name, {});
      const overIpc = await dispatchCall(ipcBackend, {}, PAGE, name, {});
      expect(overHttp.status, name).toBe(404);
      expect(overHttp.result, name).toEqual({ ok: false, code: 'not_found', message: `Unknown API method "${name}".` });
      expect(overIpc, name).toEqual(overHttp.result);
    }
    expect(await dispatchCall(ipcBackend, {}, PAGE, '', {})).toEqual({ ok: false, code: 'not_found', message: 'Unknown API method "".' });
    expect(httpBackend.calls).toEqual([]);
    expect(ipcBackend.calls).toEqual([]);
  });

  it('hands the backend the validated request, once: what passed the edge is what the handler gets', async () => {
    const overHttp = await post('search', { query: '  two dogs  ', top: 3 });
    const overIpc = await dispatchCall(ipcBackend, {}, PAGE, 'search', { query: '  two dogs  ', top: 3 });
    expect(overHttp.result).toEqual({ ok: true, value: null });
    expect(overIpc).toEqual(overHttp.result);
    // Trimmed by the schema at the edge; the backend does not check again.
    const expected = [{ method: 'search' as ApiMethod, request: { query: 'two dogs', top: 3 } }];
    expect(httpBackend.calls).toEqual(expected);
    expect(ipcBackend.calls).toEqual(expected);
  });
});
