/**
 * The CLI end to end, as a user runs it: the compiled `bin/photo-search.js` (npm test builds first) on a
 * folder it never saw with bad files mixed in, a generated model, a temp data folder.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestModel } from '../helpers/generate-model';
import { type BadFile, makeBadFiles, makePhotos } from '../helpers/fixtures';
import { CLI_BIN, runCli } from '../helpers/run-cli';

const BIN = CLI_BIN;

let tmp: string;
let env: NodeJS.ProcessEnv;
let bad: BadFile[];

function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return runCli(args, { env: { ...env, ...extraEnv }, timeout: 60_000 });
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-cli-'));
  const modelDir = await generateTestModel(path.join(tmp, 'model'), { seed: 3, knownWords: true });
  env = { ...process.env, PHOTO_SEARCH_DATA: path.join(tmp, 'data'), PHOTO_SEARCH_MODEL_DIR: modelDir };
  await makePhotos(path.join(tmp, 'photos'), 12, 5);
  bad = await makeBadFiles(path.join(tmp, 'photos'));
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('photo-search CLI', () => {
  it('indexes a folder with bad files, counts exactly the good photos, and searches', async () => {
    const idx = await cli(['index', path.join(tmp, 'photos'), '--json']);
    expect(idx.code, idx.stderr).toBe(0);
    const summary = JSON.parse(idx.stdout);
    // No pixel limit is set here, so huge.png is a good photo; the rest are skipped (the chmod 000 file only
    // when not running as root, which reads it anyway).
    const skipped = bad.filter((b) => b.expectSkipped && b.kind !== 'too-large');
    expect(summary.skipped).toBe(skipped.length);

    const st = await cli(['status', '--json']);
    const status = JSON.parse(st.stdout);
    const good = (await fs.readdir(path.join(tmp, 'photos'))).filter((f) => f.startsWith('photo-')).length;
    expect(good).toBe(12);
    expect(status.images).toBe(summary.added);
    expect(status.images).toBe(good + bad.filter((b) => !b.expectSkipped || b.kind === 'too-large').length);
    expect(status.skipped).toBe(summary.skipped);
    expect(status.roots).toEqual([path.join(tmp, 'photos')]);
    expect(typeof status.model).toBe('string');

    const s = await cli(['search', 'a red circle', '--top', '5', '--json']);
    expect(s.code, s.stderr).toBe(0);
    const hits = JSON.parse(s.stdout) as { path: string; score: number }[];
    expect(hits).toHaveLength(5);
    for (const h of hits) expect(existsSync(h.path)).toBe(true);
    const scores = hits.map((h) => h.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(new Set(hits.map((h) => h.path)).size).toBe(hits.length);
  });

  it('brings the count right after deleting and adding files', async () => {
    const dir = path.join(tmp, 'photos');
    const before = JSON.parse((await cli(['status', '--json'])).stdout).images as number;
    await fs.rm(path.join(dir, 'photo-000.jpg'));
    await fs.rm(path.join(dir, 'photo-001.png'));
    await makePhotos(path.join(dir, 'more'), 3, 99);
    const r = await cli(['index', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.removed).toBe(2);
    expect(summary.added).toBe(3);
    const after = JSON.parse((await cli(['status', '--json'])).stdout).images;
    expect(after).toBe(before - 2 + 3);
    const hits = JSON.parse((await cli(['search', 'blue square', '--top', '50', '--json'])).stdout) as { path: string }[];
    expect(hits.some((h) => h.path === path.join(dir, 'photo-000.jpg'))).toBe(false);
    expect(hits.filter((h) => h.path.startsWith(path.join(dir, 'more') + path.sep))).toHaveLength(3);
    expect(hits).toHaveLength(after);
  });

  it('finds a photo like an indexed one first with --like', async () => {
    const photo = path.join(tmp, 'photos', 'photo-002.webp');
    const r = await cli(['search', '--like', photo, '--top', '3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const hits = JSON.parse(r.stdout) as { path: string }[];
    expect(hits.length).toBe(3);
    expect(hits.map((h) => h.path)).not.toContain(photo); // the photo itself is not its own neighbour
    // A smaller, re-encoded copy kept outside the library finds its original first.
    const copy = path.join(tmp, 'outside', 'copy.png');
    await fs.mkdir(path.dirname(copy), { recursive: true });
    await sharp(photo).resize(160).png().toFile(copy);
    const like = await cli(['search', '--like', copy, '--top', '3', '--json']);
    expect(like.code, like.stderr).toBe(0);
    expect((JSON.parse(like.stdout) as { path: string }[])[0]?.path).toBe(photo);
  });

  it('prints one clear line and exits non-zero on user errors', async () => {
    const missing = await cli(['index', path.join(tmp, 'nope')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim()).toBe(`photo-search: Folder ${path.join(tmp, 'nope')} not found. Check the path.`);

    const empty = await cli(['search', 'dog'], { PHOTO_SEARCH_DATA: path.join(tmp, 'empty-data') });
    expect(empty.code).not.toBe(0);
    expect(empty.stderr.trim().split('\n')).toHaveLength(1);
    expect(empty.stderr).toMatch(/library is empty/);

    const unknown = await cli(['models', 'use', 'no-such-model']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/Unknown model "no-such-model"/);
    expect(unknown.stderr).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
  });

  it('says when a query has no word the model knows, instead of ranking photos by it', async () => {
    const text = await cli(['search', 'zzqx', 'qwpo']);
    expect(text.code).toBe(0);
    expect(text.stdout.trim()).toBe('No words in this query are known to the model. Try everyday words for what the photo shows.');
    const json = await cli(['search', '🐕🌊', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);
    expect(json.stderr.trim()).toBe('warning: No words in this query are known to the model.');
    // One known word is enough.
    const known = await cli(['search', 'zzqx', 'circle', '--json']);
    expect(JSON.parse(known.stdout).length).toBeGreaterThan(0);
  });

  it('lists models with the active one marked', async () => {
    const r = await cli(['models', '--json']);
    const list = JSON.parse(r.stdout) as { id: string; active: boolean }[];
    expect(list.filter((m) => m.active)).toHaveLength(1);
  });

  it('prints models use --json as JSON', async () => {
    const r = await cli(['models', 'use', 'builtin', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ model: 'builtin', images: expect.any(Number), embedded: expect.any(Number) });
    await cli(['models', 'use', JSON.parse((await cli(['models', '--json'])).stdout).find((m: { builtin: boolean }) => !m.builtin).id]);
  });

  it.runIf(process.platform !== 'win32')('shows terminal escape sequences in file names escaped in every line', async () => {
    const data = path.join(tmp, 'esc-data');
    const dir = path.join(tmp, 'esc-photos');
    // ESC ] 0 ; … BEL retitles the terminal, ESC [ 2 J clears it; U+009B is a one-character CSI.
    const hostile = '\x1b]0;pwned\x07\x1b[2J';
    await makePhotos(dir, [{ name: `\x1b[31mred\u009b0m`, shapes: [{ shape: 'circle', color: 'red', x: 0.5, y: 0.5, size: 0.6 }] }], 3);
    writeFileSync(path.join(dir, `${hostile}.jpg`), 'not a photo\n');
    // eslint-disable-next-line no-control-regex -- looking for raw control characters is the point
    const raw = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
    const idx = await cli(['--data', data, 'index', dir]);
    expect(idx.code, idx.stderr).toBe(0);
    expect(idx.stdout + idx.stderr).not.toMatch(raw);

    const st = await cli(['--data', data, 'status', '--skipped']);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).not.toMatch(raw);
    expect(st.stdout).toContain(`  skipped ${path.join(dir, '\\x1b]0;pwned\\x07\\x1b[2J.jpg')}: not an image`);

    const found = await cli(['--data', data, 'search', 'red circle']);
    expect(found.stdout).not.toMatch(raw);
    expect(found.stdout).toContain(path.join(dir, '\\x1b[31mred\\x9b0m.jpg'));
    const json = await cli(['--data', data, 'search', 'red circle', '--json']);
    expect(json.stdout).not.toMatch(raw);
    expect(JSON.parse(json.stdout)[0].path).toBe(path.join(dir, '\x1b[31mred\u009b0m.jpg')); // JSON keeps the true name

    const missing = await cli(['--data', data, 'search', '--like', path.join(dir, `${hostile}\nsecond line.jpg`)]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).not.toMatch(raw);
    expect(missing.stderr).toBe(`photo-search: Image ${path.join(dir, '\\x1b]0;pwned\\x07\\x1b[2J\\nsecond line.jpg')} not found. Check the path.\n`);
  });

  it.runIf(process.platform !== 'win32')('serve prints a link with a fresh access token and --open opens it', async () => {
    const opened = path.join(tmp, 'opened.txt');
    const browser = path.join(tmp, 'browser.sh');
    writeFileSync(browser, `#!/bin/sh\necho "$@" > '${opened}'\n`, { mode: 0o755 });
    // No desktop session: the opener falls back to $BROWSER, here a script recording what it was given.
    const childEnv: NodeJS.ProcessEnv = { ...env, BROWSER: browser };
    for (const k of ['DISPLAY', 'WAYLAND_DISPLAY', 'XDG_CURRENT_DESKTOP']) delete childEnv[k];
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--open'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (b: Buffer) => {
          output += b.toString();
          const m = /running at (http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32})\n/.exec(output);
          if (m && output.includes('made at each start.\n')) resolve(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
      });
      expect(output).toMatch(/carries an access token/);
      const base = url.replace(/\?token=.*$/, '');
      expect((await fetch(`${base}api/status`, { method: 'POST', headers: { 'content-type': 'application/json' } })).status).toBe(401);
      const withToken = await fetch(`${base}api/status`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${url.split('=')[1]}` } });
      expect(withToken.status).toBe(200);
      // The opener runs in the background; wait for its record (bounded by the test timeout).
      while (!existsSync(opened) || !readFileSync(opened, 'utf8').includes('token=')) await new Promise((r) => setTimeout(r, 50));
      expect(readFileSync(opened, 'utf8').trim()).toBe(url);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
