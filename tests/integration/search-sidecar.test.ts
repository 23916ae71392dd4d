/**
 * The search index's sidecar (issue 16, item 1): start-up reads the int8 rows from it instead of SQLite;
 * a lagging one is caught up from the change log; a damaged, truncated, foreign or too-old one is rebuilt
 * from SQLite; and in every case search answers exactly as the SQLite-only path does.
 */
import { mkdtempSync, openSync, readdirSync, readSync, rmSync, statSync, truncateSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomUnitVector, seededRandom } from '../../bench/bench-search';
import { LiveIndex } from '../../main/backend/search/live-index';
import { readSidecar, sidecarFile, writeSidecar } from '../../main/backend/search/sidecar';
import { bruteForceTopK } from '../helpers/brute-force-topk';
import { VectorIndex } from '../../main/backend/search/vector-index';
import { Store, type BatchItem } from '../../main/backend/store';

const dim = 32;
const MODEL = 'm1';
let tmp: string;
let store: Store;
let open: LiveIndex[];
const rand = seededRandom(5);

beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-sidecar-'));
  store = new Store(path.join(tmp, 'library.db'));
  open = [];
});

afterEach(async () => {
  for (const l of open) await l.close();
  store.close();
  rmSync(tmp, { recursive: true, force: true });
});

function addPhotos(from: number, n: number): void {
  const items: BatchItem[] = [];
  for (let i = from; i < from + n; i++) {
    items.push({
      photo: { path: `/lib/${i}.jpg`, root: '/lib', size: 1, mtimeMs: 0, contentHash: `h${i}`, width: null, height: null, takenAt: null },
      embedding: { modelId: MODEL, data: randomUnitVector(dim, rand) },
    });
  }
  store.writeBatch(items);
}

function live(sidecar = true): LiveIndex {
  const l = new LiveIndex({ store, embedDim: async () => dim, sidecarDir: sidecar ? path.join(tmp, 'search-index') : undefined, saveDelayMs: 60_000 });
  open.push(l);
  return l;
}

/** The reference: an exact scan of every row in the database. */
function exactTop(q: Float32Array, k: number): { id: number; score: number }[] {
  const ids: number[] = [];
  const rows: Float32Array[] = [];
  for (const r of store.iterateEmbeddings(MODEL)) {
    ids.push(r.id);
    rows.push(r.vector);
  }
  const flat = new Float32Array(ids.length * dim);
  rows.forEach((v, i) => flat.set(v, i * dim));
  return bruteForceTopK(ids, flat, dim, q, k);
}

const queries = Array.from({ length: 8 }, (_, i) => randomUnitVector(dim, seededRandom(100 + i)));

/** Results of `l` equal the SQLite-only path and the exact scan, for every query. */
async function expectSameAsDatabase(l: LiveIndex): Promise<void> {
  const only = live(false);
  for (const q of queries) {
    const got = await (await l.get(MODEL)).search(q, 10);
    expect(got).toEqual(await (await only.get(MODEL)).search(q, 10));
    expect(got).toEqual(exactTop(q, 10));
  }
  expect(only.lastLoad?.from).toBe('database');
}

async function started(): Promise<LiveIndex> {
  const l = live();
  await l.get(MODEL);
  return l;
}

describe('search index sidecar', () => {
  it('is written at the first start, then start-up reads it instead of the database', async () => {
    addPhotos(0, 700);
    const first = await started();
    expect(first.lastLoad).toMatchObject({ from: 'database', reason: 'no sidecar yet', rows: 700 });
    await first.flush();
    const file = sidecarFile(path.join(tmp, 'search-index'), MODEL);
    // 96-byte header + one rows checksum (one block) + per row: id (8) + scale (4) + 32 int8 values.
    expect(statSync(file).size).toBe(96 + 4 + 700 * (8 + 4 + 32));

    let reads = 0;
    const iterate = store.iterateEmbeddings.bind(store);
    store.iterateEmbeddings = (...args: Parameters<typeof iterate>) => {
      reads++;
      return iterate(...args);
    };
    const second = await started();
    expect(second.lastLoad).toMatchObject({ from: 'sidecar', rows: 700 });
    expect(second.loads).toBe(0);
    expect(reads).toBe(0);
    store.iterateEmbeddings = iterate;
    await expectSameAsDatabase(second);
  });

  it('a sidecar that lags (photos added and removed after it was written) is caught up from the change log', async () => {
    addPhotos(0, 600);
    await (await started()).flush();
    addPhotos(600, 150);
    store.db.prepare('DELETE FROM photos WHERE id IN (3, 4, 5)').run();
    const l = await started();
    expect(l.lastLoad).toMatchObject({ from: 'sidecar', rows: 747 });
    await expectSameAsDatabase(l);
    // The caught-up rows are written back (at close, or after the quiet period).
    await l.flush();
    const again = await started();
    expect(again.lastLoad).toMatchObject({ from: 'sidecar', rows: 747 });
  });

  it.each([
    ['damaged rows', (file: string) => flipByte(file, statSync(file).size - 10), /damaged rows \(checksum mismatch in block 1 of 1\)/],
    ['a damaged photo id', (file: string) => flipByte(file, 96 + 4 + 8 * 17 + 3), /damaged ids or scales/],
    ['a damaged checksum table', (file: string) => flipByte(file, 96 + 1), /damaged checksum table/],
    ['a damaged header', (file: string) => flipByte(file, 9), /damaged header/],
    ['a truncated file', (file: string) => truncateSync(file, statSync(file).size - 40), /bytes, the header says/],
    ['another library', () => store.setSetting('libraryId', 'f'.repeat(32)), /another library/],
    [
      'a change log that no longer reaches back',
      () => {
        addPhotos(600, 5);
        // Trimmed as the log does after 262,144 changes: the first change after the sidecar is gone.
        store.db.prepare('DELETE FROM embedding_changes WHERE seq <= (SELECT max(seq) - 4 FROM embedding_changes)').run();
      },
      /too far behind/,
    ],
  ] as const)('%s: rebuilt from the database, same results', async (_what, spoil, reason) => {
    addPhotos(0, 600);
    await (await started()).flush();
    spoil(sidecarFile(path.join(tmp, 'search-index'), MODEL));
    const l = await started();
    expect(l.lastLoad?.from).toBe('database');
    expect(l.lastLoad?.reason).toMatch(reason);
    expect(l.loads).toBe(1);
    await expectSameAsDatabase(l);
    // Rebuilt and written again: the next start-up uses it.
    await l.flush();
    expect((await started()).lastLoad?.from).toBe('sidecar');
  });

  it('rows read on several threads, block by block, equal the rows written; a damaged block is named', async () => {
    addPhotos(0, 500);
    const l = await started();
    const idx = await l.get(MODEL);
    const file = path.join(tmp, 'threads.int8');
    const meta = { libraryId: 'lib', modelId: MODEL, dim };
    // 500 rows × 32 bytes in 1,000-byte blocks: 16 blocks, the last one short, over 3 threads.
    expect(await writeSidecar(file, idx, { ...meta, seq: 7, damaged: [42] }, { blockBytes: 1000 })).toBe(true);
    const rowsAt = 96 + 16 * 4 + 8 + 500 * 12;
    expect(statSync(file).size).toBe(rowsAt + 500 * 32);
    const fresh = () => new VectorIndex(dim, { exact: (ids) => ids.map(() => null) });
    const again = fresh();
    expect(await readSidecar(file, again, meta, { threads: 3 })).toEqual({ seq: 7, damaged: [42] });
    const want = idx.quantizedRows();
    const got = again.quantizedRows();
    expect(Array.from(got.ids)).toEqual(Array.from(want.ids));
    expect(Array.from(got.scales)).toEqual(Array.from(want.scales));
    expect(Buffer.from(got.rows).equals(Buffer.from(want.rows))).toBe(true);
    await again.dispose();

    flipByte(file, rowsAt + 9 * 1000 + 17); // in the 10th block
    const spoiled = fresh();
    await expect(readSidecar(file, spoiled, meta, { threads: 3 })).rejects.toThrow(/checksum mismatch in block 10 of 16/);
    expect(spoiled.size).toBe(0);
    await spoiled.dispose();
  });

  it('keeps only the active model sidecar and leaves no temp files', async () => {
    addPhotos(0, 300);
    const dir = path.join(tmp, 'search-index');
    await (await started()).flush();
    const other = new LiveIndex({ store, embedDim: async () => dim, sidecarDir: dir });
    open.push(other);
    await other.get('m2'); // no rows of m2: an empty index, its own sidecar
    await other.flush();
    expect(readdirSync(dir)).toEqual([path.basename(sidecarFile(dir, 'm2'))]);
  });
});

function flipByte(file: string, at: number): void {
  const fd = openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] ^= 0x5a;
    writeSync(fd, b, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}
