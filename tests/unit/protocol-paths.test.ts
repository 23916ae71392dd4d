// The desktop app's photo:// protocol and IPC dispatch, tested without Electron: only files inside the
// library folders are served (no `..`, no symlink escape, no `/photos-evil` prefix trick), requests are
// validated with the shared schemas, and only our own page may call.
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_CHANNEL, EVENT_CHANNEL } from '../../main/electron/channels';
import { dispatchCall, isTrustedSenderUrl } from '../../main/electron/dispatch';
import { RecordingBackend } from '../helpers/recording-backend';
import { isPathInside, parsePhotoUrl, resolveAllowedFile } from '../../main/electron/protocol-paths';
import { fitToDisplays, parseWindowState } from '../../main/electron/window-state';

let dir: string;
let photos: string;
let thumbs: string;

beforeAll(() => {
  // realpath: on macOS the temp dir itself is behind a symlink.
  dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'ps-proto-')));
  photos = path.join(dir, 'photos');
  thumbs = path.join(dir, 'thumbs');
  mkdirSync(path.join(photos, 'trip'), { recursive: true });
  mkdirSync(path.join(dir, 'photos-evil'));
  mkdirSync(thumbs);
  writeFileSync(path.join(photos, 'trip', 'a.jpg'), 'a');
  writeFileSync(path.join(dir, 'photos-evil', 'b.jpg'), 'b');
  writeFileSync(path.join(dir, 'secret.txt'), 'secret');
  writeFileSync(path.join(thumbs, '1.webp'), 't');
  symlinkSync(path.join(dir, 'secret.txt'), path.join(photos, 'link-out.jpg'));
  symlinkSync(path.join(photos, 'trip', 'a.jpg'), path.join(photos, 'link-in.jpg'));
  symlinkSync(dir, path.join(photos, 'trip', 'up'));
  symlinkSync(photos, path.join(dir, 'photos-link'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parsePhotoUrl', () => {
  it('reads size and id', () => {
    expect(parsePhotoUrl('photo://thumb/42')).toEqual({ size: 'thumb', id: 42 });
    expect(parsePhotoUrl('photo://full/7')).toEqual({ size: 'full', id: 7 });
  });
  it.each(['photo://big/1', 'photo://thumb/-1', 'photo://thumb/1?x=1', 'photo://thumb/abc', 'photo://thumb/1/2', 'file:///etc/passwd', 'photo://thumb/%2e%2e', 'not a url'])(
    'refuses %s',
    (u) => {
      expect(parsePhotoUrl(u)).toBeNull();
    },
  );
  it('only ever yields a numeric id (URL parsing folds `..` segments away)', () => {
    expect(parsePhotoUrl('photo://thumb/../1')).toEqual({ size: 'thumb', id: 1 });
    expect(parsePhotoUrl('photo://thumb/1/../../etc')).toBeNull();
  });
});

describe('isPathInside', () => {
  it('compares whole path segments', () => {
    expect(isPathInside('/photos/a.jpg', '/photos')).toBe(true);
    expect(isPathInside('/photos', '/photos')).toBe(true);
    expect(isPathInside('/photos/..hidden/a.jpg', '/photos')).toBe(true);
    expect(isPathInside('/photos-evil/a.jpg', '/photos')).toBe(false);
    expect(isPathInside('/photos/../etc/passwd', '/photos')).toBe(false);
    expect(isPathInside('/etc/passwd', '/photos')).toBe(false);
    expect(isPathInside('photos/a.jpg', '/photos')).toBe(false);
  });
  it('works with Windows paths', () => {
    expect(isPathInside('C:\\Photos\\a.jpg', 'C:\\Photos', path.win32)).toBe(true);
    expect(isPathInside('C:\\Photos-evil\\a.jpg', 'C:\\Photos', path.win32)).toBe(false);
    expect(isPathInside('D:\\Photos\\a.jpg', 'C:\\Photos', path.win32)).toBe(false);
  });
});

describe('resolveAllowedFile', () => {
  it('allows files inside a library folder or the thumbnail cache', async () => {
    const roots = [photos, thumbs];
    expect(await resolveAllowedFile(path.join(photos, 'trip', 'a.jpg'), roots)).toBe(path.join(photos, 'trip', 'a.jpg'));
    expect(await resolveAllowedFile(path.join(thumbs, '1.webp'), roots)).toBe(path.join(thumbs, '1.webp'));
    // A symlink that stays inside is fine; the real path is what gets served.
    expect(await resolveAllowedFile(path.join(photos, 'link-in.jpg'), roots)).toBe(path.join(photos, 'trip', 'a.jpg'));
    // A library folder added through a symlink still works.
    expect(await resolveAllowedFile(path.join(dir, 'photos-link', 'trip', 'a.jpg'), [path.join(dir, 'photos-link')])).toBe(path.join(photos, 'trip', 'a.jpg'));
  });

  it('refuses `..` traversal', async () => {
    expect(await resolveAllowedFile(path.join(photos, 'trip', '..', '..', 'secret.txt'), [photos])).toBeNull();
    expect(await resolveAllowedFile(`${photos}/../secret.txt`, [photos])).toBeNull();
  });

  it('refuses symlinks escaping the folder', async () => {
    expect(await resolveAllowedFile(path.join(photos, 'link-out.jpg'), [photos])).toBeNull();
    expect(await resolveAllowedFile(path.join(photos, 'trip', 'up', 'secret.txt'), [photos])).toBeNull();
  });

  it('refuses the sibling-prefix trick', async () => {
    expect(await resolveAllowedFile(path.join(dir, 'photos-evil', 'b.jpg'), [photos])).toBeNull();
    expect(await resolveAllowedFile(path.join(dir, 'photos-evil', 'b.jpg'), [photos + path.sep])).toBeNull();
  });

  it('refuses folders, missing files, relative paths and no roots', async () => {
    expect(await resolveAllowedFile(path.join(photos, 'trip'), [photos])).toBeNull();
    expect(await resolveAllowedFile(path.join(photos, 'missing.jpg'), [photos])).toBeNull();
    expect(await resolveAllowedFile('photos/trip/a.jpg', [photos])).toBeNull();
    expect(await resolveAllowedFile(path.join(photos, 'trip', 'a.jpg'), [])).toBeNull();
    expect(await resolveAllowedFile(path.join(photos, 'trip', 'a.jpg'), ['relative/photos', path.join(dir, 'nope')])).toBeNull();
  });
});

/** The backend as the IPC edge sees it: records what got through; openPhoto is desktop-only. */
const recording = () => new RecordingBackend((method) => (method === 'openPhoto' ? { ok: false, code: 'unsupported', message: 'desktop only' } : { ok: true, value: 'from-backend' }));

describe('IPC dispatch', () => {
  const page = 'app://renderer/index.html';

  it('trusts only the app:// renderer page', () => {
    expect(isTrustedSenderUrl(page)).toBe(true);
    expect(isTrustedSenderUrl('app://renderer/')).toBe(true);
    for (const u of ['https://evil.example/', 'app://other/index.html', 'file:///index.html', 'photo://thumb/1', '', null, undefined]) {
      expect(isTrustedSenderUrl(u), String(u)).toBe(false);
    }
  });

  it('validates requests with the shared schemas before the backend', async () => {
    const backend = recording();
    expect(await dispatchCall(backend, {}, page, 'search', { query: 'cat' })).toEqual({ ok: true, value: 'from-backend' });
    expect(backend.calls).toEqual([{ method: 'search', request: { query: 'cat' } }]);
    const bad = await dispatchCall(backend, {}, page, 'search', { query: '' });
    expect(bad).toMatchObject({ ok: false, code: 'invalid_input', message: 'Invalid request to search: query: type something to search for' });
    const extra = await dispatchCall(backend, {}, page, 'addFolder', { path: '/p', shell: 'rm -rf' });
    expect(extra).toMatchObject({ ok: false, code: 'invalid_input' });
    expect(backend.calls).toHaveLength(1);
  });

  it('refuses unknown methods and foreign senders', async () => {
    const backend = recording();
    expect(await dispatchCall(backend, {}, page, 'constructor', {})).toMatchObject({ ok: false, code: 'not_found' });
    expect(await dispatchCall(backend, {}, page, 42, {})).toMatchObject({ ok: false, code: 'not_found' });
    expect(await dispatchCall(backend, {}, 'https://evil.example/', 'status', undefined)).toMatchObject({ ok: false, code: 'forbidden' });
    expect(backend.calls).toHaveLength(0);
  });

  it('runs the desktop override instead of the backend, and turns throws into Results', async () => {
    const backend = recording();
    const opened: unknown[] = [];
    const overrides = {
      openPhoto: async (r: unknown) => {
        opened.push(r);
        return { ok: true as const, value: null };
      },
      pickFolder: async () => {
        throw new Error('dialog crashed\nstack…');
      },
    };
    expect(await dispatchCall(backend, overrides, page, 'openPhoto', { id: 3 })).toEqual({ ok: true, value: null });
    expect(opened).toEqual([{ id: 3 }]);
    expect(await dispatchCall(backend, overrides, page, 'pickFolder', undefined)).toEqual({ ok: false, code: 'internal', message: 'dialog crashed' });
    expect(backend.calls).toHaveLength(0);
  });

  it('uses the same channel names as the preload bridge', () => {
    const preload = readFileSync(path.join(__dirname, '..', '..', 'preload', 'index.ts'), 'utf8');
    expect(preload).toContain(`const CALL_CHANNEL = '${CALL_CHANNEL}'`);
    expect(preload).toContain(`const EVENT_CHANNEL = '${EVENT_CHANNEL}'`);
    // The bridge exposes functions, never ipcRenderer itself.
    expect(preload).not.toMatch(/exposeInMainWorld\([^)]*ipcRenderer/);
  });

  it('compiles the preload to CommonJS that requires nothing but electron (sandboxed preloads can only do that)', () => {
    const source = readFileSync(path.join(__dirname, '..', '..', 'preload', 'index.ts'), 'utf8');
    const out = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, removeComments: true } }).outputText;
    const requires = [...out.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    expect(requires).toEqual(['electron']);
    expect(out).not.toMatch(/\bimport\s*\(/);
  });
});

describe('window state', () => {
  const screen = [{ x: 0, y: 0, width: 1920, height: 1080 }];
  it('parses saved state and rejects junk', () => {
    expect(parseWindowState('{"x":10,"y":20,"width":1000,"height":700,"maximized":true}')).toEqual({ x: 10, y: 20, width: 1000, height: 700, maximized: true });
    expect(parseWindowState('{"width":100,"height":100}')).toEqual({ x: undefined, y: undefined, width: 640, height: 480, maximized: false });
    expect(parseWindowState('not json')).toBeNull();
    expect(parseWindowState('{"width":"big"}')).toBeNull();
  });
  it('drops a position that is off every display', () => {
    expect(fitToDisplays({ x: 100, y: 100, width: 800, height: 600, maximized: false }, screen)).toEqual({ x: 100, y: 100, width: 800, height: 600, maximized: false });
    expect(fitToDisplays({ x: 3000, y: 100, width: 800, height: 600, maximized: false }, screen)).toEqual({ width: 800, height: 600, maximized: false });
    expect(fitToDisplays({ x: 100, y: -500, width: 800, height: 600, maximized: false }, screen)).toEqual({ width: 800, height: 600, maximized: false });
  });
});
