import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, Store, VERSION, blobToFeature, escapeLike, featureToBlob, type PhotoInput } from '../../main/backend/store';
import { dataPaths, defaultDataDir, resolveDataDir } from '../../main/backend/paths';

let dir: string;
let store: Store | null = null;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ps-store-'));
});
afterEach(() => {
  store?.close();
  store = null;
  rmSync(dir, { recursive: true, force: true });
});

function open(): Store {
  store = new Store(path.join(dir, 'library.db'));
  return store;
}

function photo(p: string, root: string, hash = `h-${p}`): PhotoInput {
  return { path: p, root, size: 10, mtimeMs: 1000, contentHash: hash, width: 4, height: 3, takenAt: null };
}

/** Equal within float16 precision (relative 2^-11, plus the subnormal step). */
function expectHalf(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const tol = Math.abs(want[i]) * 2 ** -11 + 2 ** -24;
    if (!(Math.abs(got[i] - want[i]) <= tol)) throw new Error(`value ${i}: ${got[i]} vs ${want[i]} (tolerance ${tol})`);
  }
}

function vec(seed: number, dim = 8): Float32Array {
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) v[i] = Math.sin(seed * 31 + i) * 1e3 + 1e-7 * i;
  return v;
}

describe('Store schema', () => {
  it('creates every table from an empty file and records the schema version', () => {
    const file = path.join(dir, 'library.db');
    writeFileSync(file, ''); // an empty file is a valid, empty SQLite database
    store = new Store(file);
    const tables = (store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]);
    expect(tables.filter((t) => !t.startsWith('photo_text_fts_'))).toEqual(['embedding_changes', 'embeddings', 'features', 'photo_text', 'photo_text_fts', 'photos', 'roots', 'settings', 'skipped', 'sqlite_sequence']);
    expect(store.db.pragma('user_version', { simple: true })).toBe(VERSION);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    store.close();
    // Re-opening an up-to-date database keeps the data.
    store = new Store(file);
    store.setSetting('k', 'v');
    store.close();
    store = new Store(file);
    expect(store.getSetting('k')).toBe('v');
  });

  it('migrates a schema-1 database: cached float32 features stay readable, new ones are float16', () => {
    const file = path.join(dir, 'library.db');
    const db = new Database(file);
    db.exec(MIGRATIONS[1]);
    db.pragma('user_version = 1');
    const old = vec(5, 6992);
    const oldSeq = vec(6, 3 * 4);
    const ins = db.prepare('INSERT INTO features (tower_key, content_hash, dim, length, data) VALUES (?, ?, ?, ?, ?)');
    ins.run('img', 'old', 6992, 1, Buffer.from(old.buffer));
    ins.run('txt', 'seq', 4, 3, Buffer.from(oldSeq.buffer));
    db.close();

    const s = open();
    expect(s.db.pragma('user_version', { simple: true })).toBe(VERSION);
    expect(s.db.prepare('SELECT content_hash, dtype FROM features ORDER BY content_hash').all()).toEqual([
      { content_hash: 'old', dtype: 'float32' },
      { content_hash: 'seq', dtype: 'float32' },
    ]);
    // Old rows read back bit for bit.
    expect(Array.from(s.getFeatures('img', ['old']).get('old')!.data)).toEqual(Array.from(old));
    const seq = s.getFeatures('txt', ['seq']).get('seq')!;
    expect(seq).toMatchObject({ dim: 4, length: 3 });
    expect(Array.from(seq.data)).toEqual(Array.from(oldSeq));
    expect(s.hasFeatures('img', 'old')).toBe(true);
    expect(s.countFeatures('img')).toBe(1);
    // New rows next to them are float16; replacing an old row rewrites it as float16.
    s.putFeatures('img', [{ hash: 'new', data: old }, { hash: 'old', data: old }]);
    expect(s.db.prepare("SELECT content_hash, dtype, length(data) AS bytes FROM features WHERE tower_key = 'img' ORDER BY content_hash").all()).toEqual([
      { content_hash: 'new', dtype: 'float16', bytes: 6992 * 2 },
      { content_hash: 'old', dtype: 'float16', bytes: 6992 * 2 },
    ]);
    expectHalf(s.getFeatures('img', ['new']).get('new')!.data, old);
  });

  it('migrates embeddings to a rowid table: rows, order, uniqueness and the cascade from photos survive', () => {
    const file = path.join(dir, 'library.db');
    const db = new Database(file);
    db.exec(MIGRATIONS[1]);
    db.exec(MIGRATIONS[2]);
    db.pragma('user_version = 2');
    const root = path.join(dir, 'r');
    const addPhoto = db.prepare(`INSERT INTO photos (path, root, size, mtime_ms, content_hash, indexed_at) VALUES (?, ?, 1, 1, ?, 'now') RETURNING id`).pluck();
    const addEmb = db.prepare('INSERT INTO embeddings (photo_id, model_id, data) VALUES (?, ?, ?)');
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push(addPhoto.get(path.join(root, `${i}.jpg`), root, `h${i}`) as number);
    for (const id of [...ids].reverse()) for (const m of ['m1', 'm2']) addEmb.run(id, m, Buffer.from(vec(id + (m === 'm2' ? 100 : 0), 256).buffer));
    db.close();

    const s = open();
    expect(s.db.pragma('user_version', { simple: true })).toBe(VERSION);
    expect(s.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'embeddings'").pluck().get()).not.toMatch(/WITHOUT ROWID/);
    expect(s.countEmbeddings('m1')).toBe(20);
    const m = s.embeddingsForModel('m2');
    expect(Array.from(m.ids)).toEqual(ids);
    expect(Array.from(m.matrix.subarray(5 * 256, 6 * 256))).toEqual(Array.from(vec(ids[5] + 100, 256)));
    expect([...s.iterateEmbeddings('m1', 6)].map((r) => r.id)).toEqual(ids);
    // (photo, model) stays unique: a second put replaces.
    expect(s.putEmbeddingsChecked('m1', [{ photoId: ids[0], hash: 'h0', data: vec(999, 256) }])).toBe(1);
    expect(s.countEmbeddings('m1')).toBe(20);
    expect(Array.from(s.embeddingFor(ids[0], 'm1')!)).toEqual(Array.from(vec(999, 256)));
    // Deleting a photo still deletes its embeddings of every model.
    s.db.prepare('DELETE FROM photos WHERE id = ?').run(ids[1]);
    expect(s.countEmbeddings('m1')).toBe(19);
    expect(s.countEmbeddings('m2')).toBe(19);
    expect(s.disk.integrityCheck()).toBe('ok');
    expect(s.db.pragma('foreign_key_check')).toEqual([]);
  });

  it('a migration step that fails leaves the database at the old version with its data', () => {
    const file = path.join(dir, 'library.db');
    const db = new Database(file);
    db.exec(MIGRATIONS[1]);
    // A column the 1 → 2 step wants to add already exists: the step fails part-way.
    db.exec("ALTER TABLE features ADD COLUMN dtype TEXT");
    db.prepare("INSERT INTO settings (key, value) VALUES ('k', 'v')").run();
    db.pragma('user_version = 1');
    db.close();
    expect(() => new Store(file)).toThrow(/duplicate column/);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(1);
    expect(check.prepare("SELECT value FROM settings WHERE key = 'k'").pluck().get()).toBe('v');
    check.close();
  });

  it('refuses a database written by a newer version, with a fix-it message', () => {
    const file = path.join(dir, 'library.db');
    const db = new Database(file);
    db.pragma(`user_version = ${VERSION + 1}`);
    db.close();
    expect(() => new Store(file)).toThrow(/newer Photo Search.*Update Photo Search, or choose another data folder with --data/);
  });

  it('names the file and the fix when it is not a database', () => {
    const file = path.join(dir, 'library.db');
    writeFileSync(file, 'this is not sqlite, just some text that is long enough to have a header'.repeat(20));
    expect(() => new Store(file)).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a readable Photo Search library database`));
  });
});

describe('Store roots and prefixes', () => {
  it('escapes LIKE wildcards: removing "a%b_c" leaves "aXbYc" and "a%b_cd" alone', () => {
    const s = open();
    expect(escapeLike('50%_off\\')).toBe('50\\%\\_off\\\\');
    const base = path.join(dir, 'p');
    const wild = path.join(base, 'a%b_c');
    const lookalike = path.join(base, 'aXbYc');
    const longer = path.join(base, 'a%b_cd');
    const upper = path.join(base, 'A%B_C'); // LIKE ignores ASCII case; the store must not
    for (const r of [wild, lookalike, longer, upper]) s.addRoot(r);
    s.writeBatch(
      [wild, lookalike, longer, upper].map((r, i) => ({
        photo: photo(path.join(r, 'x.jpg'), r),
        embedding: { modelId: 'm', data: vec(i) },
      })),
    );
    s.recordSkip({ path: path.join(wild, 'bad.jpg'), root: wild, size: 0, mtimeMs: 0, reason: 'empty' });
    s.recordSkip({ path: path.join(lookalike, 'bad.jpg'), root: lookalike, size: 0, mtimeMs: 0, reason: 'empty' });
    expect(s.removeRootAndDerived(wild).removed).toBe(1);
    expect(s.photoByPath(path.join(wild, 'x.jpg'))).toBeNull();
    for (const r of [lookalike, longer, upper]) expect(s.photoByPath(path.join(r, 'x.jpg'))).not.toBeNull();
    expect(s.listRoots().sort()).toEqual([lookalike, longer, upper].sort());
    expect(s.listSkipped().map((x) => x.path)).toEqual([path.join(lookalike, 'bad.jpg')]);
    // Embeddings of removed photos go with them (ON DELETE CASCADE).
    expect(s.countEmbeddings('m')).toBe(3);
  });

  it('keeps photos another root still covers', () => {
    const s = open();
    const outer = path.join(dir, 'outer');
    const inner = path.join(outer, 'inner');
    s.addRoot(outer);
    s.addRoot(inner);
    s.writeBatch([{ photo: photo(path.join(inner, 'a.jpg'), outer), embedding: { modelId: 'm', data: vec(1) } }]);
    expect(s.removeRootAndDerived(inner).removed).toBe(0);
    expect(s.countPhotos()).toBe(1);
    expect(s.removeRootAndDerived(outer).removed).toBe(1);
    expect(s.countPhotos()).toBe(0);
  });

  it('markMissingUnder removes only absent photos under the folder, sparing unreadable sub-folders', () => {
    const s = open();
    const root = path.join(dir, 'r');
    const paths = ['a.jpg', 'b.jpg', path.join('locked', 'c.jpg')].map((p) => path.join(root, p));
    const other = path.join(dir, 'r2', 'z.jpg');
    s.writeBatch([...paths, other].map((p, i) => ({ photo: photo(p, root), embedding: { modelId: 'm', data: vec(i) } })));
    const removed = s.markMissingUnder(root, new Set([paths[0]]), [path.join(root, 'locked')]);
    expect(removed).toBe(1);
    expect(s.photoByPath(paths[1])).toBeNull();
    expect(s.photoByPath(paths[2])).not.toBeNull();
    expect(s.photoByPath(other)).not.toBeNull();
  });
});

describe('Store vectors and batches', () => {
  it('round-trips embeddings exactly, in one contiguous matrix ordered by photo id', () => {
    const s = open();
    const root = path.join(dir, 'r');
    const items = Array.from({ length: 50 }, (_, i) => ({
      photo: photo(path.join(root, `${i}.jpg`), root),
      embedding: { modelId: 'm1', data: vec(i, 5) },
    }));
    const ids = s.writeBatch(items);
    s.writeBatch([{ photo: photo(path.join(root, 'other.jpg'), root), embedding: { modelId: 'm2', data: vec(99, 5) } }]);
    const { ids: got, matrix, dim } = s.embeddingsForModel('m1');
    expect(dim).toBe(5);
    expect(Array.from(got)).toEqual(ids);
    expect(matrix.length).toBe(50 * 5);
    for (let i = 0; i < 50; i++) expect(Array.from(matrix.subarray(i * 5, i * 5 + 5))).toEqual(Array.from(vec(i, 5)));
    expect(s.embeddingsForModel('none')).toEqual({ ids: new Int32Array(0), matrix: new Float32Array(0), dim: 0 });
    expect(s.photosMissingEmbedding('m1').map((p) => p.path)).toEqual([path.join(root, 'other.jpg')]);
    expect(s.countMissingEmbedding('m1')).toBe(1);
    expect(s.countMissingEmbedding('m2')).toBe(50);
    // Paged iteration yields the same rows as the matrix.
    const rows = [...s.iterateEmbeddings('m1', 7)];
    expect(rows.map((r) => r.id)).toEqual(ids);
    expect(Array.from(rows[49].vector)).toEqual(Array.from(vec(49, 5)));
    expect(s.photosByIds([ids[3], 999999, ids[1]]).map((p) => p.id)).toEqual([ids[3], ids[1]]);
  });

  it('caches features by (tower, content hash), including sequences', () => {
    const s = open();
    s.putFeatures('tower-a', [
      { hash: 'h1', data: vec(1, 6) },
      { hash: 'h2', data: vec(2, 6), length: 3 },
    ]);
    const got = s.getFeatures('tower-a', ['h1', 'h2', 'h3']);
    expect([...got.keys()]).toEqual(['h1', 'h2']);
    expectHalf(got.get('h1')!.data, vec(1, 6));
    expect(got.get('h2')).toMatchObject({ dim: 2, length: 3 });
    expectHalf(got.get('h2')!.data, vec(2, 6));
    expect(s.getFeatures('tower-b', ['h1']).size).toBe(0);
  });

  it('stores features as float16 (half the bytes) and reads them back as aligned float32', () => {
    const s = open();
    const dim = 6992;
    const img = new Float32Array(dim);
    for (let i = 0; i < dim; i++) img[i] = i % 7 === 0 ? 0 : Math.abs(Math.sin(i)) * 0.04 + (i % 3) * 1e-6; // like the built-in tower
    const words = vec(3, 4 * 300); // a [4, 300] text sequence
    s.putFeatures('img', [{ hash: 'a', data: img }]);
    s.putFeatures('txt', [{ hash: 'c', data: words, length: 4 }]);
    const rows = s.db.prepare('SELECT tower_key, dtype, length(data) AS bytes FROM features ORDER BY tower_key').all();
    expect(rows).toEqual([
      { tower_key: 'img', dtype: 'float16', bytes: dim * 2 },
      { tower_key: 'txt', dtype: 'float16', bytes: 4 * 300 * 2 },
    ]);
    const a = s.getFeatures('img', ['a']).get('a')!;
    expect(a).toMatchObject({ dim, length: 1 });
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(a.data.length).toBe(dim);
    expectHalf(a.data, img);
    const c = s.getFeatures('txt', ['c']).get('c')!;
    expect(c).toMatchObject({ dim: 300, length: 4 });
    expectHalf(c.data, words);
    // The indexer's batch path writes float16 too.
    s.writeBatch([{ photo: photo(path.join(dir, 'p.jpg'), dir, 'b'), features: { towerKey: 'img', data: img }, embedding: { modelId: 'm', data: vec(1) } }]);
    expectHalf(s.getFeatures('img', ['b']).get('b')!.data, img);
    expect(s.db.prepare("SELECT dtype FROM features WHERE content_hash = 'b'").pluck().get()).toBe('float16');
  });

  it('keeps a feature vector float32 when float16 would overflow it', () => {
    const big = Float32Array.from([1, -70000, 3.5]);
    expect(featureToBlob(big).dtype).toBe('float32');
    const s = open();
    s.putFeatures('t', [{ hash: 'x', data: big }]);
    expect(Array.from(s.getFeatures('t', ['x']).get('x')!.data)).toEqual([1, -70000, 3.5]);
    // Zeros, infinities and NaN survive float16.
    const odd = Float32Array.from([0, -0, Infinity, -Infinity, NaN, 65504, 6e-8]);
    const { blob, dtype } = featureToBlob(odd);
    expect(dtype).toBe('float16');
    const back = blobToFeature(Buffer.concat([Buffer.alloc(1), blob]).subarray(1), dtype); // odd byte offset
    expect(Array.from(back.slice(0, 6))).toEqual([0, -0, Infinity, -Infinity, NaN, 65504]);
    expect(back[6]).toBeCloseTo(6e-8, 9);
  });

  it('a batch is atomic: a failure part-way writes nothing', () => {
    const s = open();
    const root = path.join(dir, 'r');
    const good = { photo: photo(path.join(root, 'a.jpg'), root), embedding: { modelId: 'm', data: vec(1) } };
    // NOT NULL violation on the second item's photo row.
    const bad = { photo: { ...photo(path.join(root, 'b.jpg'), root), contentHash: null as unknown as string }, embedding: { modelId: 'm', data: vec(2) } };
    expect(() => s.writeBatch([good, bad])).toThrow();
    expect(s.countPhotos()).toBe(0);
    expect(s.countEmbeddings('m')).toBe(0);
  });

  it('new content drops stale embeddings of every model; a good batch clears the skip', () => {
    const s = open();
    const root = path.join(dir, 'r');
    const p = path.join(root, 'a.jpg');
    s.recordSkip({ path: p, root, size: 1, mtimeMs: 1, reason: 'truncated' });
    expect(s.countSkipped()).toBe(1);
    const [id] = s.writeBatch([{ photo: photo(p, root, 'old'), embedding: { modelId: 'm1', data: vec(1) } }]);
    expect(s.countSkipped()).toBe(0);
    expect(s.putEmbeddingsChecked('m2', [{ photoId: id, hash: 'old', data: vec(2) }])).toBe(1);
    s.writeBatch([{ photo: photo(p, root, 'new'), embedding: { modelId: 'm1', data: vec(3) } }]);
    expect(s.embeddingFor(id, 'm2')).toBeNull();
    expect(Array.from(s.embeddingFor(id, 'm1')!)).toEqual(Array.from(vec(3)));
    expect(s.photoState(p, 'm1')).toMatchObject({ id, contentHash: 'new', embedded: true });
    expect(s.photoState(p, 'm2')).toMatchObject({ embedded: false });
    // A file that turns bad leaves the index.
    s.recordSkip({ path: p, root, size: 0, mtimeMs: 2, reason: 'empty file' });
    expect(s.photoByPath(p)).toBeNull();
    expect(s.countEmbeddings('m1')).toBe(0);
    expect(s.listSkipped(10, 0)).toEqual([expect.objectContaining({ path: p, reason: 'empty file' })]);
  });

  it('keeps settings', () => {
    const s = open();
    s.setSetting('activeModel', 'a');
    s.setSetting('activeModel', 'b');
    expect(s.getSetting('activeModel')).toBe('b');
    s.setSetting('activeModel', null);
    expect(s.getSetting('activeModel')).toBeNull();
  });

  it('schema 5 drops the unused models table of older libraries and keeps everything else', () => {
    const file = path.join(dir, 'v4.db');
    const db = new Database(file);
    for (let v = 1; v <= 4; v++) db.exec(MIGRATIONS[v]);
    db.pragma('user_version = 4');
    db.prepare("INSERT INTO models (id, dir, manifest, created_at) VALUES ('x', '/m/x', '{}', 'now')").run();
    db.prepare("INSERT INTO settings (key, value) VALUES ('activeModel', 'x')").run();
    db.close();
    const s = new Store(file);
    try {
      expect(s.db.pragma('user_version', { simple: true })).toBe(VERSION);
      expect(s.db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'models'").pluck().get()).toBe(0);
      expect(s.getSetting('activeModel')).toBe('x');
    } finally {
      s.close();
    }
  });

  it('schema 6 adds the date offset, GPS and place; rows from before are marked for a second look at their headers', () => {
    const file = path.join(dir, 'v5.db');
    const db = new Database(file);
    for (let v = 1; v <= 5; v++) db.exec(MIGRATIONS[v]);
    db.pragma('user_version = 5');
    db.prepare("INSERT INTO photos (path, root, size, mtime_ms, content_hash, width, height, taken_at, indexed_at) VALUES ('/r/a.jpg', '/r', 1, 1, 'h', 4, 3, '2020-01-01T00:00:00', 'now')").run();
    db.close();
    const s = new Store(file);
    try {
      expect(s.photoByPath('/r/a.jpg')).toMatchObject({ takenAt: '2020-01-01T00:00:00', takenOffset: null, gps: null, place: null });
      expect(s.photosWithStaleMeta('/r', 10).map((r) => r.path)).toEqual(['/r/a.jpg']);
      const id = s.photoByPath('/r/a.jpg')!.id;
      s.setPhotoMeta(id, { takenAt: null, takenOffset: '+02:00', gps: { lat: 38.7, lon: -9.1 }, place: { city: 'Lisbon', region: 'Lisbon', country: 'Portugal', key: '|lisbon|lisbon|portugal|pt|' } });
      expect(s.photoByPath('/r/a.jpg')).toMatchObject({ takenAt: '2020-01-01T00:00:00', takenOffset: '+02:00', gps: { lat: 38.7, lon: -9.1 }, place: { city: 'Lisbon', country: 'Portugal' } });
      expect(s.photosWithStaleMeta('/r', 10)).toEqual([]);
      // A heads-only rewrite of a row never read keeps it marked.
      s.upsertPhoto({ ...photo('/r/b.jpg', '/r', 'h2'), metaRead: false });
      expect(s.photosWithStaleMeta('/r', 10).map((r) => r.path)).toEqual(['/r/b.jpg']);
    } finally {
      s.close();
    }
  });

  it('filters by place: every folded name given must be one of the photo\'s city, region, country or country code', () => {
    const s = open();
    const at = (p: string, city: string, region: string, country: string, cc: string) =>
      s.upsertPhoto({ ...photo(p, '/r', p), place: { city, region, country, key: `|${city}|${region}|${country}|${cc}|`.toLowerCase() } });
    const lisbon = at('/r/1.jpg', 'Lisbon', 'Lisbon', 'Portugal', 'PT');
    const amadora = at('/r/2.jpg', 'Amadora', 'Lisbon', 'Portugal', 'PT');
    const porto = at('/r/3.jpg', 'Porto', 'Porto', 'Portugal', 'PT');
    const ohio = at('/r/4.jpg', 'Lisbon', 'Ohio', 'United States', 'US');
    s.upsertPhoto(photo('/r/5.jpg', '/r', 'h5')); // no GPS
    expect([...s.photoIdsMatching({ near: ['lisbon'] })!]).toEqual([lisbon, amadora, ohio]);
    expect([...s.photoIdsMatching({ near: ['lisbon', 'pt'] })!]).toEqual([lisbon, amadora]);
    expect([...s.photoIdsMatching({ near: ['portugal'] })!]).toEqual([lisbon, amadora, porto]);
    expect([...s.photoIdsMatching({ near: ['lis'] })!]).toEqual([]); // whole names only
    expect(s.placeKnown('porto')).toBe(true);
    expect(s.placeKnown('madrid')).toBe(false);
  });
});

describe('Store schema 7 (words in photos)', () => {
  it('adds the text table to an older library; its photos are then waiting to be read', () => {
    const file = path.join(dir, 'v5.db');
    const db = new Database(file);
    for (let v = 1; v <= 5; v++) db.exec(MIGRATIONS[v]);
    db.pragma('user_version = 5');
    db.prepare("INSERT INTO photos (path, root, size, mtime_ms, content_hash, indexed_at) VALUES ('/r/a.jpg', '/r', 1, 1, 'h1', 'now')").run();
    db.close();
    const s = new Store(file);
    try {
      expect(s.db.pragma('user_version', { simple: true })).toBe(VERSION);
      expect(s.text.countTodo('any-engine')).toBe(1);
      expect(s.text.put([{ contentHash: 'h1', engine: 'any-engine', text: 'INVOICE4711', lines: '[]' }, { contentHash: 'gone', engine: 'any-engine', text: 'x', lines: '[]' }])).toBe(1);
      expect(s.text.idsWithAllWords(['4711'], 10)).toHaveLength(1);
      expect(s.text.idsWithAllWords(['47'], 10)).toHaveLength(1); // shorter than a trigram: matched without the index
      expect(s.text.countWithText()).toBe(1);
    } finally {
      s.close();
    }
  });

  it('schema 9 keeps the text read before as read (no gate); a row a gate passed over is to do for another gate or none', () => {
    const file = path.join(dir, 'v8.db');
    const db = new Database(file);
    for (let v = 1; v <= 8; v++) db.exec(MIGRATIONS[v]);
    db.pragma('user_version = 8');
    const photo = db.prepare("INSERT INTO photos (path, root, size, mtime_ms, content_hash, indexed_at) VALUES (?, '/r', 1, 1, ?, 'now')");
    photo.run('/r/a.jpg', 'h1');
    photo.run('/r/b.jpg', 'h2');
    db.prepare("INSERT INTO photo_text (content_hash, engine, text, lines, read_at) VALUES ('h1', 'e', '', '[]', 'now')").run();
    db.close();
    const s = new Store(file);
    try {
      expect(s.db.pragma('user_version', { simple: true })).toBe(VERSION);
      expect(s.text.countRead()).toBe(1);
      expect(s.text.countTodo('e', 'gate-a')).toBe(1); // b only: a was read before the gate existed
      s.text.put([{ contentHash: 'h2', engine: 'e', text: '', lines: '[]', gate: 'gate-a' }]);
      expect([s.text.countTodo('e', 'gate-a'), s.text.countTodo('e', 'gate-b'), s.text.countTodo('e', null)]).toEqual([0, 1, 1]);
      expect([s.text.countRead(), s.text.countGated()]).toEqual([1, 1]);
      s.text.put([{ contentHash: 'h2', engine: 'e', text: 'EXIT', lines: '[]' }]); // read after all: the gate's mark goes
      expect([s.text.countRead(), s.text.countGated(), s.text.countTodo('e', null)]).toEqual([2, 0, 0]);
    } finally {
      s.close();
    }
  });
});

describe('data directory', () => {
  it('prefers --data, then PHOTO_SEARCH_DATA, then the OS folder', () => {
    expect(resolveDataDir('/tmp/explicit', { PHOTO_SEARCH_DATA: '/tmp/env' })).toBe(path.resolve('/tmp/explicit'));
    expect(resolveDataDir(undefined, { PHOTO_SEARCH_DATA: '/tmp/env' })).toBe(path.resolve('/tmp/env'));
    expect(defaultDataDir('linux', { XDG_CONFIG_HOME: '/x' }, '/home/u')).toBe('/x/photo-search');
    expect(defaultDataDir('linux', {}, '/home/u')).toBe('/home/u/.config/photo-search');
    expect(defaultDataDir('darwin', {}, '/Users/u')).toBe('/Users/u/Library/Application Support/photo-search');
    expect(defaultDataDir('win32', { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'C:\\Users\\u')).toBe(
      'C:\\Users\\u\\AppData\\Roaming\\photo-search',
    );
    expect(dataPaths('/d')).toEqual({ root: path.resolve('/d'), db: path.resolve('/d/library.db'), thumbnails: path.resolve('/d/thumbnails'), models: path.resolve('/d/models'), searchIndex: path.resolve('/d/search-index') });
  });
});

describe('Store search filters', () => {
  it('admits photos by folder, date taken (EXIF, else modified) and type, and sorts ids by date or path', () => {
    const s = open();
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    const local = (iso: string) => new Date(iso).getTime(); // no zone: local time, as the filter reads it
    const rows: PhotoInput[] = [
      { ...photo(path.join(a, 'x.jpg'), a), takenAt: '2023-05-01T10:00:00' },
      { ...photo(path.join(a, 'sub', 'y.PNG'), a), takenAt: '2024-06-30T23:59:59' },
      { ...photo(path.join(b, 'z.webp'), b), takenAt: null, mtimeMs: local('2024-07-01T00:00:01') },
      { ...photo(path.join(`${a}%`, 'w.jpeg'), `${a}%`), takenAt: '2022-01-01T00:00:00' }, // a look-alike folder
    ];
    const ids = s.writeBatch(rows.map((p, i) => ({ photo: p, embedding: { modelId: 'm', data: vec(i) } })));
    const [x, y, z, w] = ids as [number, number, number, number];
    const match = (f: Parameters<Store['photoIdsMatching']>[0]) => {
      const r = s.photoIdsMatching(f);
      return r && Array.from(r);
    };
    expect(match({})).toBeNull();
    expect(match({ folders: [a] })).toEqual([x, y]);
    expect(match({ folders: [path.join(a, 'sub'), b] })).toEqual([y, z]);
    expect(match({ after: '2024' })).toEqual([y, z]);
    expect(match({ before: '2024-06-30' })).toEqual([x, y, w]); // the whole named day
    expect(match({ after: '2024-07', before: '2024-07' })).toEqual([z]); // from the file time: no EXIF date
    expect(match({ types: ['png', 'webp'] })).toEqual([y, z]);
    expect(match({ types: ['jpeg'] })).toEqual([x, w]);
    expect(match({ folders: [a], types: ['jpeg'], after: '2023-01-01' })).toEqual([x]);
    expect(match({ folders: [path.join(dir, 'nowhere')] })).toEqual([]);
    expect(s.photoIdsSorted([x, y, z, w], 'date')).toEqual([z, y, x, w]);
    expect(s.photoIdsSorted([z, w, x, 999], 'path')).toEqual([w, x, z]); // byte order: '%' < '/'
  });
});
