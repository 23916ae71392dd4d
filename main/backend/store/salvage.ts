/**
 * Copy whatever can still be read from a damaged library file into a new, empty one (`photo-search repair`).
 * Reads go in key order, page by page; a read that hits a damaged page skips ahead (further each time) until
 * reads work again, so one bad page costs only the rows it held. The damaged file is opened read-only and
 * never changed.
 */
import Database from 'better-sqlite3';
import { blobToVector, isSoundEmbedding } from './codecs';
import type { Db } from './context';
import type { EmbeddingQueries } from './embeddings';
import { isCorruptionError } from './errors';
import type { FeatureQueries } from './features';
import type { RootQueries } from './roots';

/** What `salvageFrom` copied out of a damaged library file, table by table. */
export interface SalvageCounts {
  /** False when the file could not be opened as a database at all (nothing was copied). */
  readable: boolean;
  roots: number;
  photos: number;
  features: number;
  embeddings: number;
  /** Embeddings left out: garbage values, or their photo was not recovered. */
  embeddingsDropped: number;
  skipped: number;
  settings: number;
  /** Reads that hit a damaged page (each skips the rows it covered). */
  damagedReads: number;
}

/** Where salvaged rows go: the new store's connection and the queries that write its vectors. */
export interface SalvageTarget {
  c: Db;
  roots: RootQueries;
  embeddings: EmbeddingQueries;
  features: FeatureQueries;
}

/**
 * Roots, settings, skipped files, photos (with their ids), cached features and the embeddings whose values
 * are sound. Folders are also taken from the photos' own `root` column, in case the roots table was lost.
 */
export function salvageFrom(to: SalvageTarget, file: string): SalvageCounts {
  const counts: SalvageCounts = { readable: false, roots: 0, photos: 0, features: 0, embeddings: 0, embeddingsDropped: 0, skipped: 0, settings: 0, damagedReads: 0 };
  let src: Database.Database;
  try {
    src = new Database(file, { readonly: true, fileMustExist: true });
    src.pragma('user_version');
    src.prepare('SELECT count(*) FROM sqlite_schema').get();
  } catch {
    return counts;
  }
  counts.readable = true;
  try {
    to.c.transaction(() => copyTables(src, to, counts));
  } finally {
    src.close();
  }
  return counts;
}

function copyTables(src: Database.Database, to: SalvageTarget, counts: SalvageCounts): void {
  const tables = new Set((safeAll(src, "SELECT name FROM sqlite_schema WHERE type = 'table'", []) ?? []).map((r) => (r as { name: string }).name));
  const columns = (t: string) => new Set((safeAll(src, `PRAGMA table_info(${t})`, []) ?? []).map((r) => (r as { name: string }).name));
  const onDamage = () => counts.damagedReads++;
  const photoIds = new Set<number>();
  const inserts = new Map<string, Database.Statement>();
  const put = (table: string, cols: string[], row: Record<string, unknown>) => {
    let stmt = inserts.get(table);
    if (!stmt) {
      stmt = to.c.db.prepare(`INSERT OR IGNORE INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`);
      inserts.set(table, stmt);
    }
    try {
      stmt.run(Object.fromEntries(cols.map((c) => [c, row[c] ?? null])));
      return true;
    } catch {
      return false; // a row whose values were damaged (NOT NULL, types): left out
    }
  };
  const simple: [string, string[], keyof SalvageCounts][] = [
    ['roots', ['path', 'added_at'], 'roots'],
    ['settings', ['key', 'value'], 'settings'],
    ['skipped', ['path', 'root', 'size', 'mtime_ms', 'reason', 'at'], 'skipped'],
  ];
  for (const [table, cols, key] of simple) {
    if (!tables.has(table)) continue;
    for (const row of readByRowid(src, table, onDamage)) if (put(table, cols, row)) (counts[key] as number)++;
  }
  if (tables.has('photos')) {
    // meta_version stays 0 (its default): the next index run reads those headers again.
    const cols = ['id', 'path', 'root', 'size', 'mtime_ms', 'content_hash', 'width', 'height', 'taken_at', 'indexed_at', 'taken_offset', 'gps_lat', 'gps_lon', 'place_city', 'place_region', 'place_country', 'place_key'];
    for (const row of readByRowid(src, 'photos', onDamage)) {
      if (typeof row.path !== 'string' || typeof row.root !== 'string' || typeof row.content_hash !== 'string') continue;
      if (put('photos', cols, row)) {
        counts.photos++;
        photoIds.add(Number(row.id));
      }
    }
    counts.roots += to.roots.addFromPhotos();
  }
  if (tables.has('embeddings')) {
    for (const row of readByRowid(src, 'embeddings', onDamage)) {
      const data = row.data;
      const sound = Buffer.isBuffer(data) && data.byteLength % 4 === 0 && isSoundEmbedding(blobToVector(data));
      if (sound && photoIds.has(Number(row.photo_id)) && typeof row.model_id === 'string') {
        to.embeddings.put(Number(row.photo_id), row.model_id, data);
        counts.embeddings++;
      } else counts.embeddingsDropped++;
    }
  }
  if (tables.has('features')) {
    const hasDtype = columns('features').has('dtype');
    for (const row of readFeatures(src, hasDtype, onDamage)) {
      const dtype = row.dtype === 'float16' ? 'float16' : 'float32';
      if (!Buffer.isBuffer(row.data) || typeof row.tower_key !== 'string' || typeof row.content_hash !== 'string') continue;
      to.features.putRaw({ towerKey: row.tower_key, hash: row.content_hash, dim: row.dim, length: row.length, dtype, data: row.data });
      counts.features++;
    }
  }
}

/** Rows of a query, or null when the read hit a damaged page. */
function safeAll(db: Database.Database, sql: string, params: unknown[]): unknown[] | null {
  try {
    return db.prepare(sql).all(...params);
  } catch (e) {
    if (isCorruptionError(e) || (e as { code?: string }).code?.startsWith('SQLITE_IOERR')) return null;
    throw e;
  }
}

const SALVAGE_PAGE = 256;
/** Largest skip when stepping over damaged pages (rowids are at most 2^63; ours are far smaller). */
const SALVAGE_MAX_STEP = 2 ** 40;

/**
 * Every readable row of a rowid table, in rowid order. A page of rows that fails to read is read again
 * row by row, so the rows before the damaged one are kept; a row that fails is stepped over (by probing
 * for the next readable rowid, further each time when whole ranges are gone).
 */
function* readByRowid(db: Database.Database, table: string, onDamage: () => void): Generator<Record<string, unknown>> {
  let last = -1;
  let careful = 0; // rows still to read one by one after a damaged read
  for (;;) {
    const limit = careful > 0 ? 1 : SALVAGE_PAGE;
    const rows = safeAll(db, `SELECT rowid AS _rowid_, * FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT ${limit}`, [last]) as
      | (Record<string, unknown> & { _rowid_: number })[]
      | null;
    if (rows) {
      yield* rows;
      if (rows.length < limit) return;
      last = rows[rows.length - 1]._rowid_;
      if (careful > 0) careful--;
      continue;
    }
    if (careful === 0) {
      careful = SALVAGE_PAGE;
      continue;
    }
    onDamage();
    let resumed = false;
    for (let step = 1; step <= SALVAGE_MAX_STEP; step *= 4) {
      if (safeAll(db, `SELECT rowid FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT 1`, [last + step])) {
        last += step;
        resumed = true;
        break;
      }
    }
    if (!resumed) return;
    careful = SALVAGE_PAGE;
  }
}

/** Every readable cached feature, in key order; stops at the first damaged page (a cache: indexing refills it). */
function* readFeatures(db: Database.Database, hasDtype: boolean, onDamage: () => void): Generator<Record<string, unknown>> {
  let key: [string, string] = ['', ''];
  const cols = `tower_key, content_hash, dim, length, data${hasDtype ? ', dtype' : ''}`;
  for (;;) {
    const rows = safeAll(
      db,
      `SELECT ${cols} FROM features WHERE (tower_key, content_hash) > (?, ?) ORDER BY tower_key, content_hash LIMIT ${SALVAGE_PAGE}`,
      key,
    ) as (Record<string, unknown> & { tower_key: string; content_hash: string })[] | null;
    if (!rows) {
      onDamage();
      return;
    }
    yield* rows;
    if (rows.length < SALVAGE_PAGE) return;
    const lastRow = rows[rows.length - 1];
    key = [lastRow.tower_key, lastRow.content_hash];
  }
}
