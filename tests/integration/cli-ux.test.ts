/**
 * The command line a person is glad to use (issue 14): folder upkeep commands, models by name, aligned
 * tables, one final progress line, no debug noise, and the README's commands as written. Runs the compiled
 * `bin/photo-search.js` (npm test builds first) with stderr piped (not a terminal), like CI and scripts.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestModel } from '../helpers/generate-model';
import { makeCaptionedSet } from '../helpers/captioned-set';
import { runCli } from '../helpers/run-cli';
import { makePhotos } from '../helpers/fixtures';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'photo-search.js');

let tmp: string;
let env: NodeJS.ProcessEnv;

function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}, cwd = tmp) {
  return runCli(args, { env: { ...env, ...extraEnv }, cwd });
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-cli-ux-'));
  const modelDir = await generateTestModel(path.join(tmp, 'model'), { seed: 3 });
  env = { ...process.env, PHOTO_SEARCH_DATA: path.join(tmp, 'data'), PHOTO_SEARCH_MODEL_DIR: modelDir, HOME: tmp };
  delete env.PHOTO_SEARCH_DEBUG;
  await makePhotos(path.join(tmp, 'photos', 'a'), 6, 5);
  await makePhotos(path.join(tmp, 'photos', 'b'), 4, 6);
  mkdirSync(path.join(tmp, 'empty', 'sub'), { recursive: true });
  await makeCaptionedSet(path.join(tmp, 'set'), { photos: 20, seed: 5 });
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('photo-search CLI upkeep', () => {
  it('indexes a relative path and ~/ path, prints one final line, and a total counted up front', async () => {
    // Relative to the working folder, like any command line tool; `~` expanded even when quoted.
    const r = await cli(['index', 'photos/a', '~/photos/b']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines.filter((l) => /^Indexing: Done/.test(l))).toHaveLength(1);
    // Every counted line has the whole total (10 photos), never "files found so far".
    const totals = new Set(lines.map((l) => /(\d+)\/(\d+)/.exec(l)?.[2]).filter(Boolean));
    expect([...totals]).toEqual(['10']);
    expect(r.stdout).toMatch(/Indexed: 10 added, .*Library: 10 photos\./);
  });

  it('lists folders with their photo counts', async () => {
    const r = await cli(['folders']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^PHOTOS\s+FOLDER$/);
    expect(lines.slice(1)).toEqual([`6       ${path.join(tmp, 'photos', 'a')}`, `4       ${path.join(tmp, 'photos', 'b')}`]);
    const json = JSON.parse((await cli(['folders', '--json'])).stdout);
    expect(json).toEqual([
      { path: path.join(tmp, 'photos', 'a'), photos: 6, incomplete: false },
      { path: path.join(tmp, 'photos', 'b'), photos: 4, incomplete: false },
    ]);
  });

  it('says what happened when a folder is empty, already added, or inside another; `index` alone re-scans all', async () => {
    const empty = await cli(['index', path.join(tmp, 'empty')]);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stderr).toContain(`No photos found in ${path.join(tmp, 'empty')}`);

    const again = await cli(['index', path.join(tmp, 'photos', 'a')]);
    expect(again.stderr).toContain(`${path.join(tmp, 'photos', 'a')} is already in the library — re-scanned.`);

    const all = await cli(['index', '--json']);
    expect(all.code, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout)).toMatchObject({ added: 0, unchanged: 10, images: 10 });
  });

  it('removes a folder with `remove`, and refuses one that is not in the library', async () => {
    const r = await cli(['remove', path.join(tmp, 'empty')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`Removed ${path.join(tmp, 'empty')} from the library (0 photos). Files on disk are not touched.`);
    const b = await cli(['remove', path.join(tmp, 'photos', 'b'), '--json']);
    expect(JSON.parse(b.stdout)).toEqual({ roots: [path.join(tmp, 'photos', 'a')], removed: 4 });
    const none = await cli(['remove', path.join(tmp, 'nowhere')]);
    expect(none.code).toBe(1);
    expect(none.stderr.trim()).toMatch(/^photo-search: .*nowhere is not a library folder\. Library folders: .*photos\/a\.$/);
  });

  it('a cancelled index (Ctrl-C) leaves its folder marked incomplete until `index` finishes it', async () => {
    const folder = path.join(tmp, 'interrupted');
    await makePhotos(folder, 40, 9);
    // Ctrl-C as soon as the job reports: the run stops after the batch in flight.
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'index', folder], { env, cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
      let sent = false;
      child.stderr.on('data', () => {
        if (!sent) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 130 : null)));
    });
    expect(code).toBe(130);
    const st = await cli(['status']);
    expect(st.stdout).toContain(`Incomplete (indexing stopped before the end): ${folder}; run \`photo-search index\` to finish.`);
    expect(JSON.parse((await cli(['status', '--json'])).stdout).incomplete).toEqual([folder]);
    expect((await cli(['folders'])).stdout).toMatch(/interrupted {2}\(incomplete: run `photo-search index` to finish\)/);

    const finish = await cli(['index', '--json']);
    expect(finish.code, finish.stderr).toBe(0);
    expect(JSON.parse((await cli(['status', '--json'])).stdout).incomplete).toEqual([]);
    expect(JSON.parse((await cli(['folders', '--json'])).stdout).find((f: { path: string }) => f.path === folder)).toEqual({ path: folder, photos: 40, incomplete: false });
    expect((await cli(['remove', folder])).code).toBe(0);
  }, 240_000); // starts the CLI several times

  it('says "nothing skipped" when nothing was', async () => {
    const r = await cli(['status', '--skipped']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Skipped: 0\n[\s\S]* {2}nothing skipped\n$/);
  });

  it('trains a named model that `models use NAME` and `eval --model NAME` find; names are unique; no debug line', async () => {
    const t = await cli(['train', path.join(tmp, 'set'), '--name', 'my-flickr', '--epochs', '2']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).not.toMatch(/\[train\]/);
    expect(t.stdout).toMatch(/^New model "my-flickr" \(my-flickr-\d{14}-[0-9a-f]{4}; /);
    expect(t.stdout).toContain('Activate it with `photo-search models use my-flickr`.');

    const clash = await cli(['train', path.join(tmp, 'set'), '--name', 'my-flickr', '--epochs', '1']);
    expect(clash.code).toBe(1);
    expect(clash.stderr.trim()).toBe(
      'photo-search: A model named "my-flickr" already exists. Choose another name, or remove it first with `photo-search models remove my-flickr`.',
    );

    const use = await cli(['models', 'use', 'my-flickr']);
    expect(use.code, use.stderr).toBe(0);
    expect(use.stdout).toMatch(/^Active model: my-flickr \(my-flickr-/);
    const ev = await cli(['eval', path.join(tmp, 'set'), '--model', 'my-flickr', '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    expect(JSON.parse(ev.stdout).images).toBe(20);

    const debug = await cli(['train', path.join(tmp, 'set'), '--name', 'debugged', '--epochs', '1'], { PHOTO_SEARCH_DEBUG: '1' });
    expect(debug.stderr).toMatch(/\[train\] TensorFlow\.js backend: /);
  });

  it('prints models as an aligned table with a header, the active one starred', async () => {
    const r = await cli(['models']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s+NAME\s+ID\s+R@1\/5\/10\s+GAIN R@5\s+FROM\s+MEASURED ON$/);
    const idCol = lines[0].indexOf('ID');
    const rows = lines.slice(1, -1);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const row of rows) expect(row[idCol - 1]).toBe(' '); // every ID starts in the ID column
    expect(rows.filter((l) => l.startsWith('*'))).toHaveLength(1);
    expect(rows.find((l) => l.startsWith('*'))).toMatch(/^\*\s+my-flickr\s+my-flickr-\d{14}/);
    expect(lines.at(-1)).toMatch(/^\(\* = active/);
  });

  it('removes a model by name, but not the active one or the built-in', async () => {
    const active = await cli(['models', 'remove', 'my-flickr']);
    expect(active.code).toBe(1);
    expect(active.stderr).toMatch(/"my-flickr" is the active model\. Switch to another first/);
    const builtin = await cli(['models', 'remove', 'builtin']);
    expect(builtin.code).toBe(1);
    expect(builtin.stderr).toMatch(/built-in model; it cannot be removed|Unknown model "builtin"/);

    expect((await cli(['models', 'use', 'debugged'])).code).toBe(0);
    const r = await cli(['models', 'remove', 'my-flickr']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Removed model my-flickr-\d{14}-[0-9a-f]{4}\.\n$/);
    const list = JSON.parse((await cli(['models', '--json'])).stdout) as { name: string }[];
    expect(list.map((m) => m.name)).not.toContain('my-flickr');
  });
});

describe('the project as a user meets it', () => {
  it('runs npm commands without an unknown-config warning (onnxruntime-node is held back by package.json allowScripts)', async () => {
    const r = await run('npm', ['pkg', 'get', 'name'], { cwd: ROOT, env: { ...process.env } });
    expect(r.stdout.trim()).toBe('"photo-search"');
    expect(r.stderr).not.toMatch(/Unknown (project|env|user) config/);
    expect(readFileSync(path.join(ROOT, '.npmrc'), 'utf8')).not.toMatch(/onnxruntime/);
  });

  it("keeps the README's usage examples free of this team's folder layout (those go under Development)", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const dev = readme.indexOf('\n## Development');
    expect(dev).toBeGreaterThan(0);
    const usage = readme.slice(0, dev);
    expect(usage).not.toMatch(/\.\.\/shared\//);
    // Each example names a model the way the user named it, and works as written.
    expect(usage).toMatch(/train ~\/[^\n]+ --name my-flickr/);
    expect(usage).toMatch(/models use my-flickr/);
    expect(usage).toMatch(/eval [^\n]*--model my-flickr/);
    expect(readme.slice(dev)).toMatch(/\.\.\/shared\/datasets\/flickr8k\/dev/);
  });
});
