/**
 * Corruption is noticed and explained (issue 12, item 8): garbage inside a stored embedding never ranks a
 * photo first (it is rejected at load and counted), a damaged page makes commands name the file and the
 * fix instead of "database disk image is malformed", and `photo-search repair` rebuilds the library from
 * the photos and what can still be read, keeping the damaged file aside.
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestModel } from '../helpers/generate-model';
import { Store } from '../../main/backend/store';
import { seededRandom } from '../../shared/random';
import { runCli } from '../helpers/run-cli';
import { makePhotos } from '../helpers/fixtures';

/** Tests that start the CLI several times: one start can take seconds on a loaded machine. */
const CLI_TIMEOUT = 240_000;
const N = 12;

let tmp: string;
let modelDir: string;
let photos: string;

function cli(args: string[], dataDir: string) {
  return runCli(args, { env: { ...process.env, PHOTO_SEARCH_DATA: dataDir, PHOTO_SEARCH_MODEL_DIR: modelDir } });
}

/** A fresh library of the N fixture photos, indexed by the CLI. */
async function library(name: string): Promise<string> {
  const data = path.join(tmp, name);
  const r = await cli(['index', photos], data);
  expect(r.code, r.stderr).toBe(0);
  return data;
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-corrupt-'));
  modelDir = await generateTestModel(path.join(tmp, 'model'), { seed: 13 });
  photos = path.join(tmp, 'photos');
  await makePhotos(photos, N, 31, { format: 'jpeg' });
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('garbage inside stored embeddings', () => {
  it('is rejected at load and counted, never ranked first; repair rewrites it and search sees every photo again', async () => {
    const data = await library('garbage');
    const file = path.join(data, 'library.db');
    const db = new Database(file);
    const [first, second] = db.prepare('SELECT id, photo_id, length(data) AS bytes FROM embeddings ORDER BY id LIMIT 2').all() as { id: number; photo_id: number; bytes: number }[];
    const dim = first!.bytes / 4;
    const huge = new Float32Array(dim).fill(3.35e37); // what garbage in a page decoded to in the report
    const nan = new Float32Array(dim).fill(NaN);
    db.prepare('UPDATE embeddings SET data = ? WHERE id = ?').run(Buffer.from(huge.buffer), first!.id);
    db.prepare('UPDATE embeddings SET data = ? WHERE id = ?').run(Buffer.from(nan.buffer), second!.id);
    const damagedPaths = (db.prepare('SELECT path FROM photos WHERE id IN (?, ?)').pluck().all(first!.photo_id, second!.photo_id) as string[]).sort();
    db.close();

    const r = await cli(['search', 'a red circle', '--top', String(N), '--json'], data);
    expect(r.code, r.stderr).toBe(0);
    const hits = JSON.parse(r.stdout) as { path: string; score: number }[];
    expect(hits).toHaveLength(N - 2);
    for (const h of hits) expect(Math.abs(h.score)).toBeLessThanOrEqual(1.0001);
    expect(hits.map((h) => h.path)).not.toContain(damagedPaths[0]);
    expect(hits.map((h) => h.path)).not.toContain(damagedPaths[1]);
    expect(r.stderr).toContain('Note: 2 photos have damaged embeddings in the library file and are left out of search; run `photo-search repair`');

    const fix = await cli(['repair', '--json'], data);
    expect(fix.code, fix.stderr).toBe(0);
    const rep = JSON.parse(fix.stdout) as { photos: number; embeddingsDropped: number; images: number; embedded: number; integrity: string; damagedFile: string };
    expect(rep).toMatchObject({ photos: N, embeddingsDropped: 2, images: N, embedded: N, integrity: 'ok' });
    expect(existsSync(rep.damagedFile)).toBe(true);
    const again = await cli(['search', 'a red circle', '--top', String(N), '--json'], data);
    expect(JSON.parse(again.stdout)).toHaveLength(N);
    expect(again.stderr).not.toContain('damaged');
  }, CLI_TIMEOUT);
});

describe('a damaged page in the library file', () => {
  it('search names the file and the fix in one line; repair keeps the damaged file aside and rebuilds a sound library with every photo', async () => {
    const data = await library('pages');
    const file = path.join(data, 'library.db');
    // Everything in the main file, then seeded garbage over the embeddings table's first page.
    const db = new Database(file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const root = db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'embeddings'").pluck().get() as number;
    db.close();
    const rand = seededRandom(8);
    const garbage = Buffer.from(Array.from({ length: pageSize }, () => Math.floor(rand() * 256)));
    const fd = openSync(file, 'r+');
    writeSync(fd, garbage, 0, pageSize, (root - 1) * pageSize);
    closeSync(fd);

    // `status --check` reads every page, so it finds the damage before any search trips on it.
    const check = await cli(['status', '--check'], data);
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(new RegExp(`^photo-search: The library database ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged \\(.+\\)\\. Your photos are untouched: run \`photo-search repair\``));

    const r = await cli(['search', 'a red circle'], data);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^photo-search: The library database ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged \\(`));
    expect(lines[0]).toContain('Your photos are untouched: run `photo-search repair` to rebuild it from them (the damaged file is kept aside).');

    const fix = await cli(['repair'], data);
    expect(fix.code, fix.stderr).toBe(0);
    expect(fix.stdout).toMatch(/^Moved the damaged file to .*library\.db\.damaged-\d{8}T\d{6}Z \(delete it once all is well\)\./);
    expect(fix.stdout).toContain(`Recovered ${N} photos, 1 folder, `);
    expect(fix.stdout).toContain(`Library: ${N} photos, ${N} embedded`);
    const aside = readdirSync(data).filter((f) => /^library\.db\.damaged-\d{8}T\d{6}Z$/.test(f));
    expect(aside).toHaveLength(1);

    const store = new Store(file);
    try {
      expect(store.disk.integrityCheck()).toBe('ok');
      expect(store.countPhotos()).toBe(N);
    } finally {
      store.close();
    }
    const hits = await cli(['search', 'a red circle', '--top', String(N), '--json'], data);
    expect(hits.code, hits.stderr).toBe(0);
    expect(JSON.parse(hits.stdout)).toHaveLength(N);
    const ok = await cli(['status', '--check'], data);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`Library file: ${file} checked, no damage found`);
  }, CLI_TIMEOUT);

  it('a file that is not a database at all: the open error points to repair, which starts over from the folders it can still name', async () => {
    const data = await library('header');
    const file = path.join(data, 'library.db');
    const db = new Database(file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0); // the 100-byte header
    closeSync(fd);

    const st = await cli(['status'], data);
    expect(st.code).toBe(1);
    expect(st.stderr).toContain(`${file} is not a readable Photo Search library database`);
    expect(st.stderr).toContain('run `photo-search repair`');

    const fix = await cli(['repair'], data);
    expect(fix.code, fix.stderr).toBe(0);
    expect(fix.stdout).toContain('Nothing could be read from the damaged file: add your folders again with `photo-search index FOLDER`.');
    const re = await cli(['index', photos, '--json'], data);
    expect(JSON.parse(re.stdout)).toMatchObject({ images: N });
  }, CLI_TIMEOUT);
});
