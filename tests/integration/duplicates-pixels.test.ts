/**
 * Near-duplicates with the built-in model, through the backend (issue 24, the duplicates row): copies of a
 * photo resized to 50% and 25%, recompressed, and with the same pixels under another EXIF rotation are all
 * grouped with it at the default threshold; the other photos are not. A library indexed before pixel hashes
 * gets them on its next index run. Fixtures: camera-like JPEGs generated with sharp.
 */
import Database from 'better-sqlite3';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuplicateGroup } from '../../shared/api';
import { openBackend, type Backend } from '../../main/backend/backend';
import { makeCameraPhotos } from '../helpers/fixtures';

let tmp: string;
let lib: string;
let b: Backend;
const COPIES = ['half.jpg', 'quarter.jpg', 'recompressed.jpg', 'turned.jpg', 'upside-down.jpg'];
const OTHERS = ['other-1.jpg', 'other-2.jpg', 'other-3.jpg', 'other-4.jpg'];

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-dup-pixels-'));
  lib = path.join(tmp, 'library');
  mkdirSync(lib);
  const made = await makeCameraPhotos(path.join(tmp, 'made'), 5, 41, { width: 1200, height: 900, orientations: [1] });
  OTHERS.forEach((name, i) => copyFileSync(made[i + 1]!.path, path.join(lib, name)));
  // The original and its rotation-only copies: one set of pixels, encoded alike, with orientation 1, 6 and 3.
  const { data, info } = await sharp(made[0]!.path).raw().toBuffer({ resolveWithObject: true });
  const encode = (orientation: number) => sharp(data, { raw: info }).jpeg({ quality: 92 }).withMetadata({ orientation }).toBuffer();
  const original = await encode(1);
  writeFileSync(path.join(lib, 'original.jpg'), original);
  writeFileSync(path.join(lib, 'turned.jpg'), await encode(6));
  writeFileSync(path.join(lib, 'upside-down.jpg'), await encode(3));
  await sharp(original).resize(600).jpeg({ quality: 90 }).toFile(path.join(lib, 'half.jpg'));
  await sharp(original).resize(300).jpeg({ quality: 90 }).toFile(path.join(lib, 'quarter.jpg'));
  await sharp(original).jpeg({ quality: 40 }).toFile(path.join(lib, 'recompressed.jpg'));
  b = await openBackend({ dataDir: path.join(tmp, 'data') }); // the built-in model
  const summary = await (await b.library.addFolders([lib])).done;
  expect(summary).toMatchObject({ added: 1 + COPIES.length + OTHERS.length, skipped: 0 });
}, 300_000);

afterAll(async () => {
  await b?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const names = (groups: DuplicateGroup[]) => groups.map((g) => [g.kind, g.photos.map((p) => path.basename(p.path)).sort()]);

describe('near-duplicates by pixels and embeddings', () => {
  it('the rotation-only copies hold the same stored pixels as the original (the fixture is what it says)', async () => {
    const stored = (f: string) => sharp(path.join(lib, f)).raw().toBuffer(); // no .rotate(): the pixels as stored
    const original = await stored('original.jpg');
    expect((await stored('turned.jpg')).equals(original)).toBe(true);
    expect((await stored('upside-down.jpg')).equals(original)).toBe(true);
    expect((await sharp(path.join(lib, 'turned.jpg')).metadata()).orientation).toBe(6);
  });

  it('groups the 50% and 25% resizes, the recompressed and the rotated copies with their original, and nothing else', async () => {
    const groups = await b.search.duplicates(); // the default threshold, 0.95
    expect(names(groups)).toEqual([['near', ['original.jpg', ...COPIES].sort()]]);
    const [group] = groups;
    expect(group!.minScore).toBeGreaterThanOrEqual(0.95);
    for (const p of group!.photos) {
      expect(p.score).toBeGreaterThanOrEqual(0.95);
      expect(p.score).toBeLessThanOrEqual(1);
    }
  });

  it('fills the pixel hashes of a library indexed before them on the next index run, without re-embedding', async () => {
    const db = new Database(path.join(tmp, 'data', 'library.db'));
    try {
      expect(db.prepare('SELECT count(*) FROM photos WHERE pixel_hash IS NULL').pluck().get()).toBe(0);
      db.prepare('UPDATE photos SET pixel_hash = NULL, pixel_view = NULL').run();
    } finally {
      db.close();
    }
    // Without pixel hashes the photos are compared by embedding alone: the rotated copies are not found.
    const before = names(await b.search.duplicates());
    expect(before.flatMap(([, files]) => files)).not.toContain('turned.jpg');
    const summary = await b.library.startIndex().done;
    expect(summary).toMatchObject({ added: 0, updated: 0, removed: 0, unchanged: 1 + COPIES.length + OTHERS.length });
    expect(names(await b.search.duplicates())).toEqual([['near', ['original.jpg', ...COPIES].sort()]]);
  }, 120_000);
});
