/**
 * The library database. This module owns the better-sqlite3 connection and every SQL string (rclip's
 * db.py style): photos, the tower-feature cache, per-model embeddings, settings, the skipped-file log and
 * the embedding change log. Models are not here: each is a folder with its model.json. Statements are
 * prepared once; a batch is written in one synchronous transaction.
 *
 * Vectors are little-endian BLOBs (the platform order on every target we ship): embeddings are Float32;
 * cached tower features are IEEE float16 (schema 2; half the bytes, `dtype` says which, rows written before
 * schema 2 stay float32). Reads copy the bytes into a fresh Float32Array: a BLOB's Buffer may not be aligned.
 */
import { Float16Array } from '@petamoriken/float16';
import Database from 'better-sqlite3';
import type { PhotoType } from '../../shared/api';
import { mkdirSync, statfsSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Schema version. Bump it and add a step to MIGRATIONS whenever the schema, or the meaning of stored
 * vectors, changes; say why next to the step.
 */
export const VERSION = 5;

/** Schema steps: MIGRATIONS[v] takes a database from v - 1 to v (exported for the migration tests). */
export const MIGRATIONS: Readonly<Record<number, string>> = {
  // 0 → 1: the first schema.
  1: `
    CREATE TABLE roots (
      path TEXT PRIMARY KEY,
      added_at TEXT NOT NULL
    );
    CREATE TABLE photos (
      id INTEGER PRIMARY KEY,
      path TEXT NOT NULL UNIQUE,
      root TEXT NOT NULL,
      size INTEGER NOT NULL,
      mtime_ms REAL NOT NULL,
      content_hash TEXT NOT NULL,
      width INTEGER,
      height INTEGER,
      taken_at TEXT,
      indexed_at TEXT NOT NULL
    );
    CREATE INDEX photos_root ON photos(root);
    CREATE INDEX photos_hash ON photos(content_hash);
    -- Tower outputs cached by (tower, content): re-training and re-embedding never re-decode photos.
    -- Text features use the same table (content_hash = sha256 of the caption); length > 1 for sequences.
    CREATE TABLE features (
      tower_key TEXT NOT NULL,
      content_hash TEXT NOT NULL,
      dim INTEGER NOT NULL,
      length INTEGER NOT NULL DEFAULT 1,
      data BLOB NOT NULL,
      PRIMARY KEY (tower_key, content_hash)
    ) WITHOUT ROWID;
    -- Embeddings carry the model they came from: a new model means new rows, never mixed vectors.
    CREATE TABLE embeddings (
      photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
      model_id TEXT NOT NULL,
      data BLOB NOT NULL,
      PRIMARY KEY (photo_id, model_id)
    ) WITHOUT ROWID;
    CREATE INDEX embeddings_model ON embeddings(model_id, photo_id);
    CREATE TABLE models (
      id TEXT PRIMARY KEY,
      dir TEXT NOT NULL,
      manifest TEXT NOT NULL,
      created_at TEXT NOT NULL,
      builtin INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE settings (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    );
    CREATE TABLE skipped (
      path TEXT PRIMARY KEY,
      root TEXT NOT NULL,
      size INTEGER,
      mtime_ms REAL,
      reason TEXT NOT NULL,
      at TEXT NOT NULL
    );
  `,
  // 1 → 2: tower features are stored as IEEE float16 (issue 7: 28 KB → 14 KB per photo for the built-in
  // 6,992-d image tower). Only the schema changes (no row is rewritten, so this is instant on any library):
  // rows cached before it keep their float32 bytes and are read as such; new rows say 'float16'.
  2: `
    ALTER TABLE features ADD COLUMN dtype TEXT NOT NULL DEFAULT 'float32' CHECK (dtype IN ('float32', 'float16'));
  `,
  // 2 → 3: embeddings move to a rowid table. WITHOUT ROWID keeps at most ~1 KB of a row in a 4 KB page, so
  // every 1–2 KB embedding spilled into its own overflow page (4.6 KB per photo on disk) and loading the
  // search index read two pages per row. A rowid table keeps the whole row in the leaf page. The rows are
  // copied in (model, photo) order so loading a model reads its rows front to back. Same columns, same
  // uniqueness (photo, model), same cascade from photos; nothing references this table.
  3: `
    CREATE TABLE embeddings_v3 (
      id INTEGER PRIMARY KEY,
      photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
      model_id TEXT NOT NULL,
      data BLOB NOT NULL,
      UNIQUE (photo_id, model_id)
    );
    INSERT INTO embeddings_v3 (photo_id, model_id, data)
      SELECT photo_id, model_id, data FROM embeddings ORDER BY model_id, photo_id;
    DROP TABLE embeddings;
    ALTER TABLE embeddings_v3 RENAME TO embeddings;
    CREATE INDEX embeddings_model ON embeddings(model_id, photo_id);
  `,
  // 3 → 4: a log of which photos' embeddings changed (issue 12: a running app or server kept searching the
  // vectors it loaded while the CLI indexed more photos). Triggers fill it, whichever process writes, so a
  // reader compares the last sequence number with the one it loaded at and updates just those rows.
  // INSERT OR REPLACE fires the insert trigger; deletes by ON DELETE CASCADE fire the delete trigger.
  // The log keeps the last 262,144 changes; a reader further behind reloads everything.
  4: `
    CREATE TABLE embedding_changes (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      photo_id INTEGER NOT NULL,
      model_id TEXT NOT NULL
    );
    CREATE TRIGGER embeddings_logged_insert AFTER INSERT ON embeddings BEGIN
      INSERT INTO embedding_changes (photo_id, model_id) VALUES (NEW.photo_id, NEW.model_id);
    END;
    CREATE TRIGGER embeddings_logged_update AFTER UPDATE ON embeddings BEGIN
      INSERT INTO embedding_changes (photo_id, model_id) VALUES (NEW.photo_id, NEW.model_id);
    END;
    CREATE TRIGGER embeddings_logged_delete AFTER DELETE ON embeddings BEGIN
      INSERT INTO embedding_changes (photo_id, model_id) VALUES (OLD.photo_id, OLD.model_id);
    END;
    CREATE TRIGGER embedding_changes_trim AFTER INSERT ON embedding_changes WHEN NEW.seq % 4096 = 0 BEGIN
      DELETE FROM embedding_changes WHERE seq <= NEW.seq - 262144;
    END;
  `,
  // 4 → 5: the `models` table goes. Nothing read or wrote it since models became folders with a model.json
  // (the folders are the registry); a library written before kept an empty or stale copy.
  5: `
    DROP TABLE IF EXISTS models;
  `,
};

/** One table or index of the library file, as `dbstat` measures it. */
export interface StoragePart {
  name: string;
  /** The table it belongs to (itself for a table). */
  table: string;
  kind: 'table' | 'index';
  pages: number;
  bytes: number;
  /** Row data stored (the rest is page structure and unused space). */
  payload: number;
  unused: number;
  overflowPages: number;
}

export interface StorageBreakdown {
  pageSize: number;
  pageCount: number;
  freePages: number;
  /** Largest first. */
  parts: StoragePart[];
}

/** Whose features `compact` keeps: see Store.featureCompactionPlan. */
export interface FeatureCompaction {
  towerKey: string;
  modelId: string;
  pendingModelId: string | null;
}

export interface FeatureCompactionPlan {
  /** Every cached feature row, and the bytes of their vectors. */
  total: { rows: number; bytes: number };
  droppable: { rows: number; bytes: number };
  /** Library photos not yet embedded with the active model (or the pending one): the indexer needs these. */
  keptStillToEmbed: number;
  /** Rows of this tower for content no library photo has (the photos of a captioned set). */
  keptNotInLibrary: number;
  /** Rows of other towers: caption text features, other models' image towers. */
  keptOtherTowers: number;
}

/** A feature row of the image tower `@key` or of one of its augmented views (`@key#hflip`). */
const TOWER_ROWS = '(tower_key = @key OR (tower_key >= @viewsFrom AND tower_key < @viewsTo))';
/**
 * Its content is in the library, and every photo with that content is embedded with `@model` (and with
 * `@pending`, when a switch is unfinished): nothing reads these features again until the heads change.
 */
const DROPPABLE = `content_hash IN (SELECT content_hash FROM photos)
  AND content_hash NOT IN (
    SELECT p.content_hash FROM photos p
    WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = @model)
       OR (@pending IS NOT NULL AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = @pending)))`;

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface PhotoInput {
  path: string;
  root: string;
  size: number;
  mtimeMs: number;
  contentHash: string;
  width: number | null;
  height: number | null;
  takenAt: string | null;
}

export interface PhotoRow extends PhotoInput {
  id: number;
  indexedAt: string;
}

export interface FeatureRecord {
  data: Float32Array;
  dim: number;
  /** Rows for sequence features ([length, dim]); 1 for a single vector. */
  length: number;
}

/** One photo's worth of a batch: the row, optionally fresh tower features to cache, and its embedding. */
export interface BatchItem {
  photo: PhotoInput;
  features?: { towerKey: string; data: Float32Array };
  embedding: { modelId: string; data: Float32Array };
}

export interface SkipInput {
  path: string;
  root: string;
  size: number | null;
  mtimeMs: number | null;
  reason: string;
}

export interface SkipRow {
  path: string;
  root: string;
  size: number | null;
  mtimeMs: number | null;
  reason: string;
  at: string;
}

/** File types a search can be limited to, and the extensions each covers. */
export const TYPE_EXTENSIONS: Readonly<Record<PhotoType, readonly string[]>> = {
  jpeg: ['.jpg', '.jpeg'],
  png: ['.png'],
  webp: ['.webp'],
  gif: ['.gif'],
  tiff: ['.tif', '.tiff'],
  avif: ['.avif'],
};

export interface PhotoFilter {
  /** Only photos under one of these folders. */
  folders?: readonly string[];
  /** Date taken (EXIF, else modified) on or after this local date prefix (`2024`, `2024-06`, `2024-06-01`). */
  after?: string;
  /** Date taken on or before this local date prefix. */
  before?: string;
  types?: readonly PhotoType[];
}

/** `2024` → `2025`, `2024-12` → `2025-01`, `2024-06-30` → `2024-07-01`: the first date after the period. */
export function nextPeriod(prefix: string): string {
  const [y, m, d] = prefix.split('-').map(Number) as [number, number | undefined, number | undefined];
  const pad = (n: number) => String(n).padStart(2, '0');
  if (m === undefined) return String(y + 1);
  if (d === undefined) return m === 12 ? `${y + 1}-01` : `${y}-${pad(m + 1)}`;
  const next = new Date(Date.UTC(y, m - 1, d + 1));
  return `${next.getUTCFullYear()}-${pad(next.getUTCMonth() + 1)}-${pad(next.getUTCDate())}`;
}

/** Local midnight at the start of a date prefix (`2024`, `2024-06`, `2024-06-30`), as epoch ms. */
function localStartMs(prefix: string): number {
  const [y, m, d] = prefix.split('-').map(Number) as [number, number | undefined, number | undefined];
  return new Date(y, (m ?? 1) - 1, d ?? 1).getTime();
}

/** The date a photo was taken: EXIF when it has one, else its file's modification time (local time). */
const TAKEN_SQL = `coalesce(taken_at, strftime('%Y-%m-%dT%H:%M:%S', mtime_ms / 1000, 'unixepoch', 'localtime'))`;

export interface EmbeddingMatrix {
  ids: Int32Array;
  /** ids.length × dim, row-major. */
  matrix: Float32Array;
  dim: number;
}

interface RawPhoto {
  id: number;
  path: string;
  root: string;
  size: number;
  mtime_ms: number;
  content_hash: string;
  width: number | null;
  height: number | null;
  taken_at: string | null;
  indexed_at: string;
}

function toPhoto(r: RawPhoto): PhotoRow {
  return {
    id: r.id,
    path: r.path,
    root: r.root,
    size: r.size,
    mtimeMs: r.mtime_ms,
    contentHash: r.content_hash,
    width: r.width,
    height: r.height,
    takenAt: r.taken_at,
    indexedAt: r.indexed_at,
  };
}

/** Free bytes below which an I/O error while writing is taken for a full disk (SQLite often says only "disk I/O error"). */
const NEARLY_FULL_BYTES = 1 << 20;

function freeBytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/** `SQLITE_CORRUPT`, `SQLITE_CORRUPT_VTAB`, …: the file's pages do not hold what SQLite expects. */
export function isCorruptionError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

/**
 * One line a person can act on for a storage failure while using the library database `file`: a full disk
 * (SQLITE_FULL, ENOSPC, or an I/O error with the drive out of space) and a damaged file. Null for anything
 * else (the caller keeps the original error).
 */
export function explainStorageError(e: unknown, file: string): StoreError | null {
  if (e instanceof StoreError) return e;
  const err = e as { code?: unknown; path?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : '';
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const where = typeof err?.path === 'string' ? err.path : path.dirname(file);
    return new StoreError(`Disk full: cannot write ${where}. Free some space on that drive and run the command again; what was saved before is kept.`);
  }
  const full = code === 'SQLITE_FULL' || (code.startsWith('SQLITE_IOERR') && (freeBytes(path.dirname(file)) ?? Infinity) < NEARLY_FULL_BYTES);
  if (full)
    return new StoreError(
      `Disk full: cannot write the library database ${file}. Free some space on that drive (or choose another data folder with --data) and run the command again; what was saved before is kept.`,
    );
  if (isCorruptionError(e)) return damagedError(file, (e as Error).message);
  return null;
}

/** The library file is damaged: say which, what is safe, and the fix. */
export function damagedError(file: string, detail: string): StoreError {
  return new StoreError(
    `The library database ${file} is damaged (${detail}). Your photos are untouched: run \`photo-search repair\` to rebuild it from them (the damaged file is kept aside).`,
  );
}

/**
 * Whether a stored embedding can be trusted: every value finite and the vector of unit length (every
 * embedding is L2-normalized before it is stored). Garbage bytes in a page give values like 3e37 or NaN,
 * which would rank a photo first for every query.
 */
export function isSoundEmbedding(v: Float32Array, dim?: number): boolean {
  if (v.length === 0 || (dim !== undefined && v.length !== dim)) return false;
  let sq = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!Number.isFinite(x)) return false;
    sq += x * x;
  }
  return Math.abs(Math.sqrt(sq) - 1) < 1e-3;
}

/** What `Store.salvageFrom` copied out of a damaged library file, table by table. */
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

/** Float32Array → BLOB bytes (a view, no copy). */
export function vectorToBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** BLOB bytes → a fresh, aligned Float32Array (copy: the Buffer may start at any byte offset). */
export function blobToVector(b: Buffer): Float32Array {
  if (b.byteLength % 4 !== 0) throw new StoreError(`Corrupt vector in the library database (${b.byteLength} bytes).`);
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** Largest finite IEEE float16. */
const F16_MAX = 65504;

export type FeatureDtype = 'float32' | 'float16';

/**
 * Tower features → BLOB bytes: float16 (half the bytes; ~3 significant digits, plenty for features that
 * go through a learned head), or float32 when a value would overflow float16 (|v| > 65504).
 */
export function featureToBlob(v: Float32Array): { blob: Buffer; dtype: FeatureDtype } {
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    if (a > F16_MAX && a !== Infinity) return { blob: vectorToBlob(v), dtype: 'float32' };
  }
  const h = new Float16Array(v);
  return { blob: Buffer.from(h.buffer, h.byteOffset, h.byteLength), dtype: 'float16' };
}

/** BLOB bytes of a cached feature → a fresh, aligned Float32Array. */
export function blobToFeature(b: Buffer, dtype: FeatureDtype): Float32Array {
  if (dtype === 'float32') return blobToVector(b);
  if (dtype !== 'float16') throw new StoreError(`Unknown feature type ${String(dtype)} in the library database.`);
  if (b.byteLength % 2 !== 0) throw new StoreError(`Corrupt feature vector in the library database (${b.byteLength} bytes).`);
  const bits = new Uint16Array(b.byteLength / 2);
  new Uint8Array(bits.buffer).set(b); // aligned copy
  const table = halfTable();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

let halfValues: Float32Array | null = null;
/**
 * The float32 value of every float16 bit pattern (256 KB, built once by the library). Indexing it is ~20×
 * faster than reading through the library's Float16Array (a Proxy), which matters when re-embedding 100k photos.
 */
function halfTable(): Float32Array {
  if (!halfValues) {
    const all = new Uint16Array(65536);
    for (let i = 0; i < all.length; i++) all[i] = i;
    halfValues = Float32Array.from(new Float16Array(all.buffer));
  }
  return halfValues;
}

/** Escape LIKE wildcards so a folder named `100%_done` matches only itself. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** `folder` + separator, the prefix every path under it starts with. */
function folderPrefix(folder: string): string {
  return folder.endsWith(path.sep) ? folder : folder + path.sep;
}

function isUnder(p: string, folder: string): boolean {
  return p === folder || p.startsWith(folderPrefix(folder));
}

const now = () => new Date().toISOString();

const INCOMPLETE_ROOTS = 'incompleteRoots';

export class Store {
  readonly db: Database.Database;
  readonly file: string;
  private readonly s: ReturnType<Store['prepare']>;
  /** Filter queries, prepared once per shape (which filters, how many folders and types). */
  private readonly filterStatements = new Map<string, Database.Statement>();
  /** The last few filters' admitted ids, keyed by the embedding change log's position (see photoIdsMatching). */
  private readonly filterResults = new Map<string, Int32Array>();

  constructor(file: string, options: { readonly?: boolean } = {}) {
    this.file = path.resolve(file);
    if (!options.readonly) mkdirSync(path.dirname(this.file), { recursive: true });
    try {
      this.db = new Database(this.file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
      // Another process (the index worker, the CLI) may hold the write lock briefly: wait, do not fail.
      this.db.pragma('busy_timeout = 10000');
      if (!options.readonly) this.db.pragma('journal_mode = WAL');
      this.db.pragma('foreign_keys = ON');
      // NORMAL is durable against application crashes in WAL mode; only an OS crash can lose the last commit.
      this.db.pragma('synchronous = NORMAL');
      this.migrate(options.readonly ?? false);
    } catch (e) {
      throw this.friendlyOpenError(e);
    }
    this.s = this.prepare();
  }

  private friendlyOpenError(e: unknown): Error {
    if (e instanceof StoreError) return e;
    const code = (e as { code?: string }).code;
    if (isCorruptionError(e))
      return new StoreError(
        `${this.file} is not a readable Photo Search library database (damaged, or another kind of file). Your photos are untouched: run \`photo-search repair\` to rebuild it (the file is kept aside), or choose another data folder with --data.`,
      );
    const explained = explainStorageError(e, this.file);
    if (explained) return explained;
    if (code === 'SQLITE_CANTOPEN')
      return new StoreError(`Cannot open the library database ${this.file}. Check that the folder exists and is writable, or choose another with --data.`);
    return e instanceof Error ? e : new Error(String(e));
  }

  private migrate(readonly: boolean): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > VERSION)
      throw new StoreError(
        `The library database ${this.file} was written by a newer Photo Search (schema ${current}; this version reads up to ${VERSION}). Update Photo Search, or choose another data folder with --data.`,
      );
    if (current === VERSION) return;
    if (readonly) throw new StoreError(`The library database ${this.file} needs an upgrade (schema ${current} → ${VERSION}). Open it once read-write.`);
    // Each step runs in its own transaction with the version bump, so a crash leaves a consistent version.
    // The version is re-read under the write lock: another process (the index worker) may have migrated first.
    for (let v = current + 1; v <= VERSION; v++) {
      this.db
        .transaction(() => {
          if ((this.db.pragma('user_version', { simple: true }) as number) >= v) return;
          this.db.exec(MIGRATIONS[v]);
          this.db.pragma(`user_version = ${v}`);
        })
        .immediate();
    }
  }

  private prepare() {
    const db = this.db;
    return {
      addRoot: db.prepare('INSERT OR IGNORE INTO roots (path, added_at) VALUES (?, ?)'),
      deleteRoot: db.prepare('DELETE FROM roots WHERE path = ?'),
      listRoots: db.prepare('SELECT path FROM roots ORDER BY path').pluck(),
      photoByPath: db.prepare('SELECT * FROM photos WHERE path = ?'),
      photoById: db.prepare('SELECT * FROM photos WHERE id = ?'),
      photoStateByPath: db.prepare(
        `SELECT p.id, p.size, p.mtime_ms, p.content_hash, p.width, p.height, p.taken_at,
                EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = ?) AS embedded
         FROM photos p WHERE p.path = ?`,
      ),
      upsertPhoto: db.prepare(
        `INSERT INTO photos (path, root, size, mtime_ms, content_hash, width, height, taken_at, indexed_at)
         VALUES (@path, @root, @size, @mtimeMs, @contentHash, @width, @height, @takenAt, @indexedAt)
         ON CONFLICT (path) DO UPDATE SET root = excluded.root, size = excluded.size, mtime_ms = excluded.mtime_ms,
           content_hash = excluded.content_hash, width = excluded.width, height = excluded.height,
           taken_at = excluded.taken_at, indexed_at = excluded.indexed_at
         RETURNING id`,
      ),
      hashByPath: db.prepare('SELECT id, content_hash FROM photos WHERE path = ?'),
      deleteEmbeddingsOfPhoto: db.prepare('DELETE FROM embeddings WHERE photo_id = ?'),
      deletePhotoById: db.prepare('DELETE FROM photos WHERE id = ?'),
      deletePhotoByPath: db.prepare('DELETE FROM photos WHERE path = ?'),
      // LIKE narrows by prefix (wildcards escaped); substr makes it exact, since LIKE ignores ASCII case.
      photosUnder: db.prepare(
        `SELECT id, path, content_hash FROM photos WHERE (path = @folder OR (path LIKE @pattern ESCAPE '\\' AND substr(path, 1, @n) = @prefix))`,
      ),
      skippedUnder: db
        .prepare(`SELECT path FROM skipped WHERE (path = @folder OR (path LIKE @pattern ESCAPE '\\' AND substr(path, 1, @n) = @prefix))`)
        .pluck(),
      countPhotos: db.prepare('SELECT count(*) FROM photos').pluck(),
      lastEmbeddingChange: db.prepare('SELECT coalesce(max(seq), 0) FROM embedding_changes').pluck(),
      firstEmbeddingChange: db.prepare('SELECT min(seq) FROM embedding_changes').pluck(),
      embeddingChangesSince: db.prepare('SELECT DISTINCT photo_id FROM embedding_changes WHERE seq > ? AND seq <= ? AND model_id = ?').pluck(),
      countPhotosUnder: db
        .prepare(`SELECT count(*) FROM photos WHERE (path = @folder OR (path LIKE @pattern ESCAPE '\\' AND substr(path, 1, @n) = @prefix))`)
        .pluck(),
      hashInUse: db.prepare('SELECT 1 FROM photos WHERE content_hash = ? LIMIT 1').pluck(),
      deleteFeaturesOfHash: db.prepare('DELETE FROM features WHERE content_hash = ?'),
      rerootPhotos: db.prepare('UPDATE photos SET root = ? WHERE root = ?'),
      rerootSkipped: db.prepare('UPDATE skipped SET root = ? WHERE root = ?'),
      countEmbeddings: db.prepare('SELECT count(*) FROM embeddings WHERE model_id = ?').pluck(),
      embeddingsForModel: db.prepare('SELECT photo_id, data FROM embeddings WHERE model_id = ? ORDER BY photo_id').raw(),
      embeddingFor: db.prepare('SELECT data FROM embeddings WHERE photo_id = ? AND model_id = ?').pluck(),
      embeddingsFor: db.prepare('SELECT photo_id, data FROM embeddings WHERE model_id = ? AND photo_id IN (SELECT value FROM json_each(?))').raw(),
      putEmbedding: db.prepare('INSERT OR REPLACE INTO embeddings (photo_id, model_id, data) VALUES (?, ?, ?)'),
      // Only when the photo still has the content the vector was computed from (a writer may have changed it).
      putEmbeddingIfHash: db.prepare(
        `INSERT OR REPLACE INTO embeddings (photo_id, model_id, data)
         SELECT id, @modelId, @data FROM photos WHERE id = @photoId AND content_hash = @hash`,
      ),
      embeddingsPage: db
        .prepare('SELECT photo_id, data FROM embeddings WHERE model_id = ? AND photo_id > ? ORDER BY photo_id LIMIT ?')
        .raw(),
      photosByIds: db.prepare('SELECT * FROM photos WHERE id IN (SELECT value FROM json_each(?))'),
      deleteEmbeddingsOfModel: db.prepare('DELETE FROM embeddings WHERE model_id = ?'),
      photosMissingEmbedding: db.prepare(
        `SELECT p.* FROM photos p
         WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = ?)
         ORDER BY p.id`,
      ),
      countMissingEmbedding: db
        .prepare('SELECT count(*) FROM photos p WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = ?)')
        .pluck(),
      getFeature: db.prepare('SELECT dim, length, dtype, data FROM features WHERE tower_key = ? AND content_hash = ?'),
      hasFeature: db.prepare('SELECT 1 FROM features WHERE tower_key = ? AND content_hash = ?').pluck(),
      putFeature: db.prepare(
        'INSERT OR REPLACE INTO features (tower_key, content_hash, dim, length, dtype, data) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      countFeatures: db.prepare('SELECT count(*) FROM features WHERE tower_key = ?').pluck(),
      recordSkip: db.prepare(
        `INSERT INTO skipped (path, root, size, mtime_ms, reason, at) VALUES (@path, @root, @size, @mtimeMs, @reason, @at)
         ON CONFLICT (path) DO UPDATE SET root = excluded.root, size = excluded.size, mtime_ms = excluded.mtime_ms,
           reason = excluded.reason, at = excluded.at`,
      ),
      clearSkip: db.prepare('DELETE FROM skipped WHERE path = ?'),
      skipByPath: db.prepare('SELECT * FROM skipped WHERE path = ?'),
      countSkipped: db.prepare('SELECT count(*) FROM skipped').pluck(),
      listSkipped: db.prepare('SELECT path, reason, at FROM skipped ORDER BY path LIMIT ? OFFSET ?'),
      getSetting: db.prepare('SELECT value FROM settings WHERE key = ?').pluck(),
      setSetting: db.prepare(
        'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      deleteSetting: db.prepare('DELETE FROM settings WHERE key = ?'),
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Run `fn` in one transaction (synchronous: await everything before calling). A full disk or a damaged file is explained. */
  transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (e) {
      throw this.explain(e);
    }
  }

  /** A storage failure (full disk, damaged file) as one line naming this file, else `e` itself. */
  explain(e: unknown): unknown {
    return explainStorageError(e, this.file) ?? e;
  }

  // ---- roots -------------------------------------------------------------------------------------

  addRoot(folder: string): void {
    this.s.addRoot.run(path.resolve(folder), now());
  }

  listRoots(): string[] {
    return this.s.listRoots.all() as string[];
  }

  /**
   * Forget a folder and every photo (with its embeddings) and skip record under it, except what another
   * remaining root still covers, plus what derives from the removed photos: their cached tower features when
   * no remaining photo has the same content. Returns the removed count and the content hashes no photo uses
   * any more (the caller deletes their thumbnails, which live outside the database).
   */
  removeRootAndDerived(folder: string): { removed: number; orphanHashes: string[] } {
    const root = path.resolve(folder);
    return this.transaction(() => {
      this.s.deleteRoot.run(root);
      this.clearIncomplete(root);
      const others = this.listRoots();
      if (others.some((o) => isUnder(root, o))) return { removed: 0, orphanHashes: [] }; // an enclosing root still holds these photos
      const keep = (p: string) => others.some((o) => isUnder(p, o));
      let removed = 0;
      const hashes = new Set<string>();
      for (const { id, path: p, content_hash } of this.s.photosUnder.all(this.underParams(root)) as { id: number; path: string; content_hash: string }[]) {
        if (keep(p)) continue;
        removed += this.s.deletePhotoById.run(id).changes;
        hashes.add(content_hash);
      }
      for (const p of this.s.skippedUnder.all(this.underParams(root)) as string[]) {
        if (!keep(p)) this.s.clearSkip.run(p);
      }
      const orphanHashes = [...hashes].filter((h) => this.s.hashInUse.get(h) === undefined);
      for (const h of orphanHashes) this.s.deleteFeaturesOfHash.run(h);
      return { removed, orphanHashes };
    });
  }

  /** Photos (and skip records) of `from` now belong to the enclosing root `to` (a containing folder was added). */
  mergeRootInto(from: string, to: string): void {
    this.transaction(() => {
      this.s.rerootPhotos.run(to, from);
      this.s.rerootSkipped.run(to, from);
      this.s.deleteRoot.run(from);
      this.clearIncomplete(from);
    });
  }

  /** True when some photo in the library has this content. */
  hasContent(contentHash: string): boolean {
    return this.s.hashInUse.get(contentHash) !== undefined;
  }

  // A root whose last indexing stopped early (cancel, failure): its photos are partial, the UI offers Resume.
  private incompleteSet(): Set<string> {
    try {
      const v = JSON.parse(this.getSetting(INCOMPLETE_ROOTS) ?? '[]') as unknown;
      return new Set(Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    } catch {
      return new Set();
    }
  }

  listIncomplete(): string[] {
    const roots = new Set(this.listRoots());
    return [...this.incompleteSet()].filter((r) => roots.has(r)).sort();
  }

  markIncomplete(folders: readonly string[]): void {
    const set = this.incompleteSet();
    for (const f of folders) set.add(path.resolve(f));
    this.setSetting(INCOMPLETE_ROOTS, JSON.stringify([...set]));
  }

  clearIncomplete(...folders: string[]): void {
    const set = this.incompleteSet();
    let changed = false;
    for (const f of folders) changed = set.delete(path.resolve(f)) || changed;
    if (changed) this.setSetting(INCOMPLETE_ROOTS, set.size ? JSON.stringify([...set]) : null);
  }

  private underParams(folder: string) {
    const prefix = folderPrefix(folder);
    return { folder, prefix, n: prefix.length, pattern: `${escapeLike(prefix)}%` };
  }

  // ---- search filters ----------------------------------------------------------------------------

  /**
   * Ids (ascending) of the photos a search filter admits, for the filtered top-K; null when the filter
   * admits everything. The date is the EXIF date taken, else the file's modification time, both as local
   * time `YYYY-MM-DDTHH:MM:SS`; `after` and `before` are inclusive prefixes of it (`2024`, `2024-06`,
   * `2024-06-30`: "before 2024-06-30" includes that day).
   */
  photoIdsMatching(f: PhotoFilter): Int32Array | null {
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    if (f.folders?.length) {
      where.push(
        `(${f.folders
          .map((folder, i) => {
            // A range of the unique path index: every path that starts with the folder's prefix sorts
            // between the prefix and the prefix with its last character (the separator) raised by one.
            const abs = path.resolve(folder);
            const prefix = folderPrefix(abs);
            const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
            Object.assign(params, { [`f${i}`]: abs, [`lo${i}`]: prefix, [`hi${i}`]: end });
            return `(path = @f${i} OR (path >= @lo${i} AND path < @hi${i}))`;
          })
          .join(' OR ')})`,
      );
    }
    // The EXIF date is compared as text; the file time as a number against the bound's local midnight (no
    // per-row date formatting: a date filter stays an index-free scan of two columns).
    if (f.after) {
      where.push(`(taken_at >= @after OR (taken_at IS NULL AND mtime_ms >= @afterMs))`);
      params.after = f.after;
      params.afterMs = localStartMs(f.after);
    }
    if (f.before) {
      const next = nextPeriod(f.before);
      where.push(`(taken_at < @beforeNext OR (taken_at IS NULL AND mtime_ms < @beforeNextMs))`);
      params.beforeNext = next;
      params.beforeNextMs = localStartMs(next);
    }
    if (f.types?.length) {
      const exts = [...new Set(f.types.flatMap((t) => TYPE_EXTENSIONS[t]))];
      where.push(`(${exts.map((_, i) => `lower(path) LIKE @e${i}`).join(' OR ')})`);
      exts.forEach((e, i) => (params[`e${i}`] = `%${e}`));
    }
    if (where.length === 0) return null;
    const sql = `SELECT id FROM photos WHERE ${where.join(' AND ')} ORDER BY id`;
    // Paging through results asks the same filter again: the answer holds until the library changes.
    const key = `${this.lastEmbeddingChange()}\0${sql}\0${JSON.stringify(params)}`;
    const cached = this.filterResults.get(key);
    if (cached) return cached;
    let stmt = this.filterStatements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql).pluck();
      this.filterStatements.set(sql, stmt);
    }
    const ids = Int32Array.from(stmt.all(params) as number[]);
    if (this.filterResults.size >= 8) this.filterResults.delete(this.filterResults.keys().next().value!);
    this.filterResults.set(key, ids);
    return ids;
  }

  /**
   * Every sound embedding of a model with its photo's content hash, ordered by photo id (for the duplicate
   * finder). Rows of another size than the first, or with damaged values, are left out.
   */
  embeddingsWithHashes(modelId: string): { ids: Int32Array; vectors: Float32Array; dim: number; hashes: string[] } {
    const rows = this.db
      .prepare('SELECT e.photo_id, e.data, p.content_hash FROM embeddings e JOIN photos p ON p.id = e.photo_id WHERE e.model_id = ? ORDER BY e.photo_id')
      .raw()
      .iterate(modelId) as IterableIterator<[number, Buffer, string]>;
    const ids: number[] = [];
    const hashes: string[] = [];
    const chunks: Float32Array[] = [];
    let dim = 0;
    for (const [id, data, hash] of rows) {
      const v = blobToVector(data);
      if (dim === 0) dim = v.length;
      if (v.length !== dim || !isSoundEmbedding(v, dim)) continue;
      ids.push(id);
      hashes.push(hash);
      chunks.push(v);
    }
    const vectors = new Float32Array(ids.length * dim);
    chunks.forEach((v, i) => vectors.set(v, i * dim));
    return { ids: Int32Array.from(ids), vectors, dim, hashes };
  }

  /** These photo ids ordered by date taken (newest first) or by path; ids not in the library are left out. */
  photoIdsSorted(ids: readonly number[], by: 'date' | 'path'): number[] {
    if (ids.length === 0) return [];
    const order = by === 'date' ? `${TAKEN_SQL} DESC, id` : 'path, id';
    return this.db.prepare(`SELECT id FROM photos WHERE id IN (SELECT value FROM json_each(?)) ORDER BY ${order}`).pluck().all(JSON.stringify(ids)) as number[];
  }

  // ---- photos ------------------------------------------------------------------------------------

  photoByPath(p: string): PhotoRow | null {
    const r = this.s.photoByPath.get(p) as RawPhoto | undefined;
    return r ? toPhoto(r) : null;
  }

  photoById(id: number): PhotoRow | null {
    const r = this.s.photoById.get(id) as RawPhoto | undefined;
    return r ? toPhoto(r) : null;
  }

  /** What the indexer needs to decide whether a file changed: its row and whether `modelId` embedded it. */
  photoState(
    p: string,
    modelId: string,
  ): { id: number; size: number; mtimeMs: number; contentHash: string; width: number | null; height: number | null; takenAt: string | null; embedded: boolean } | null {
    const r = this.s.photoStateByPath.get(modelId, p) as
      | { id: number; size: number; mtime_ms: number; content_hash: string; width: number | null; height: number | null; taken_at: string | null; embedded: number }
      | undefined;
    if (!r) return null;
    return {
      id: r.id,
      size: r.size,
      mtimeMs: r.mtime_ms,
      contentHash: r.content_hash,
      width: r.width,
      height: r.height,
      takenAt: r.taken_at,
      embedded: r.embedded === 1,
    };
  }

  /**
   * Insert or update a photo row; returns its id. New content drops the embeddings of every model
   * (they describe the old pixels). Call inside a transaction together with the new embedding.
   */
  upsertPhoto(photo: PhotoInput): number {
    const old = this.s.hashByPath.get(photo.path) as { id: number; content_hash: string } | undefined;
    if (old && old.content_hash !== photo.contentHash) this.s.deleteEmbeddingsOfPhoto.run(old.id);
    const { id } = this.s.upsertPhoto.get({ ...photo, indexedAt: now() }) as { id: number };
    return id;
  }

  /** Photos under `folder` whose paths are not in `present` leave the index; returns their count. */
  markMissingUnder(folder: string, present: ReadonlySet<string>, keepUnder: readonly string[] = []): number {
    const root = path.resolve(folder);
    return this.transaction(() => {
      let removed = 0;
      const keep = (p: string) => present.has(p) || keepUnder.some((k) => isUnder(p, k));
      for (const { id, path: p } of this.s.photosUnder.all(this.underParams(root)) as { id: number; path: string }[]) {
        if (!keep(p)) removed += this.s.deletePhotoById.run(id).changes;
      }
      for (const p of this.s.skippedUnder.all(this.underParams(root)) as string[]) {
        if (!keep(p)) this.s.clearSkip.run(p);
      }
      return removed;
    });
  }

  /** Rows for these ids, in the order given (unknown ids are left out). */
  photosByIds(ids: readonly number[]): PhotoRow[] {
    if (ids.length === 0) return [];
    const byId = new Map((this.s.photosByIds.all(JSON.stringify(ids)) as RawPhoto[]).map((r) => [r.id, toPhoto(r)]));
    const out: PhotoRow[] = [];
    for (const id of ids) {
      const r = byId.get(id);
      if (r) out.push(r);
    }
    return out;
  }

  countPhotos(): number {
    return this.s.countPhotos.get() as number;
  }

  countPhotosUnder(folder: string): number {
    return this.s.countPhotosUnder.get(this.underParams(path.resolve(folder))) as number;
  }

  /** Write a whole batch (photos, fresh features, embeddings, cleared skips) in ONE transaction. */
  writeBatch(items: readonly BatchItem[]): number[] {
    return this.transaction(() =>
      items.map((item) => {
        const id = this.upsertPhoto(item.photo);
        if (item.features) this.putFeatureRow(item.features.towerKey, item.photo.contentHash, item.features.data, item.features.data.length, 1);
        this.s.putEmbedding.run(id, item.embedding.modelId, vectorToBlob(item.embedding.data));
        this.s.clearSkip.run(item.photo.path);
        return id;
      }),
    );
  }

  // ---- embeddings --------------------------------------------------------------------------------

  /**
   * Store embeddings computed from a photo's content `hash`; rows whose photo changed or left meanwhile
   * are dropped. Returns how many were written.
   */
  putEmbeddingsChecked(modelId: string, rows: readonly { photoId: number; hash: string; data: Float32Array }[]): number {
    return this.transaction(() => {
      let n = 0;
      for (const r of rows) n += this.s.putEmbeddingIfHash.run({ modelId, photoId: r.photoId, hash: r.hash, data: vectorToBlob(r.data) }).changes;
      return n;
    });
  }

  embeddingFor(photoId: number, modelId: string): Float32Array | null {
    const b = this.s.embeddingFor.get(photoId, modelId) as Buffer | undefined;
    return b ? blobToVector(b) : null;
  }

  /**
   * Several photos' embeddings of `modelId` in one statement (the search re-rank's few hundred
   * candidates: ~10× faster than one lookup each). Photos without one are absent from the map.
   */
  embeddingsFor(photoIds: readonly number[], modelId: string): Map<number, Float32Array> {
    const out = new Map<number, Float32Array>();
    for (const [id, blob] of this.s.embeddingsFor.all(modelId, JSON.stringify(photoIds)) as [number, Buffer][]) out.set(id, blobToVector(blob));
    return out;
  }

  /**
   * A model's embeddings one by one, read in pages by photo id: safe to consume across awaits, since no
   * statement stays open between pages (better-sqlite3 forbids other queries while one iterates).
   */
  *iterateEmbeddings(modelId: string, pageSize = 2048): Generator<{ id: number; vector: Float32Array }> {
    let last = -1;
    for (;;) {
      const rows = this.s.embeddingsPage.all(modelId, last, pageSize) as [number, Buffer][];
      for (const [id, blob] of rows) yield { id, vector: blobToVector(blob) };
      if (rows.length < pageSize) return;
      last = rows[rows.length - 1][0];
    }
  }

  /** Sequence number of the last embedding change (any model, any process); 0 when none was logged. */
  lastEmbeddingChange(): number {
    return this.s.lastEmbeddingChange.get() as number;
  }

  /**
   * Photos whose embedding of `modelId` was added, replaced or removed after change `since`, up to the
   * latest change (`upTo`, read in the same transaction). `complete` is false when the log no longer
   * reaches back to `since` (trimmed): the caller must reload everything.
   */
  embeddingChangesSince(since: number, modelId: string): { upTo: number; photoIds: number[]; complete: boolean } {
    return this.db
      .transaction(() => {
        const upTo = this.lastEmbeddingChange();
        if (upTo <= since) return { upTo, photoIds: [], complete: true };
        const first = this.s.firstEmbeddingChange.get() as number | null;
        const complete = first !== null && first <= since + 1;
        return { upTo, photoIds: complete ? (this.s.embeddingChangesSince.all(since, upTo, modelId) as number[]) : [], complete };
      })
      .deferred();
  }

  countEmbeddings(modelId: string): number {
    return this.s.countEmbeddings.get(modelId) as number;
  }

  /** The embedding count of `modelId` and the last change it reflects, read from one snapshot. */
  countEmbeddingsAt(modelId: string): { count: number; seq: number } {
    return this.db.transaction(() => ({ count: this.countEmbeddings(modelId), seq: this.lastEmbeddingChange() }))();
  }

  deleteEmbeddingsOfModel(modelId: string): number {
    return this.s.deleteEmbeddingsOfModel.run(modelId).changes;
  }

  /**
   * All of a model's embeddings as one contiguous matrix, streamed row by row (no array of 100k Buffers).
   * Read inside one transaction so the count and the rows agree while a writer is busy.
   */
  embeddingsForModel(modelId: string): EmbeddingMatrix {
    return this.db
      .transaction(() => {
        const n = this.countEmbeddings(modelId);
        const ids = new Int32Array(n);
        let matrix = new Float32Array(0);
        let dim = 0;
        let i = 0;
        for (const row of this.s.embeddingsForModel.iterate(modelId) as IterableIterator<[number, Buffer]>) {
          const [id, blob] = row;
          if (i === 0) {
            dim = blob.byteLength / 4;
            matrix = new Float32Array(n * dim);
          } else if (blob.byteLength !== dim * 4) {
            throw new StoreError(`Embeddings of model ${modelId} have mixed sizes in ${this.file}. Re-index the library.`);
          }
          ids[i] = id;
          // Copy bytes into the aligned matrix (the Buffer may sit at an odd offset).
          new Uint8Array(matrix.buffer, i * dim * 4, dim * 4).set(blob);
          i++;
        }
        return { ids, matrix, dim };
      })
      .deferred();
  }

  countMissingEmbedding(modelId: string): number {
    return this.s.countMissingEmbedding.get(modelId) as number;
  }

  photosMissingEmbedding(modelId: string): PhotoRow[] {
    return (this.s.photosMissingEmbedding.all(modelId) as RawPhoto[]).map(toPhoto);
  }

  // ---- feature cache -----------------------------------------------------------------------------

  /** Cached tower features for these content hashes (missing ones are absent from the map). */
  getFeatures(towerKey: string, hashes: readonly string[]): Map<string, FeatureRecord> {
    const out = new Map<string, FeatureRecord>();
    for (const h of hashes) {
      if (out.has(h)) continue;
      const r = this.s.getFeature.get(towerKey, h) as { dim: number; length: number; dtype: FeatureDtype; data: Buffer } | undefined;
      if (r) out.set(h, { dim: r.dim, length: r.length, data: blobToFeature(r.data, r.dtype) });
    }
    return out;
  }

  hasFeatures(towerKey: string, hash: string): boolean {
    return this.s.hasFeature.get(towerKey, hash) === 1;
  }

  /**
   * Cache tower features (as float16, see featureToBlob; read back as float32). `length` > 1 for sequence
   * features stored as [length, dim] (per-token text features of a sequence tower).
   */
  putFeatures(towerKey: string, items: readonly { hash: string; data: Float32Array; length?: number }[]): void {
    this.transaction(() => {
      for (const it of items) {
        const length = it.length ?? 1;
        this.putFeatureRow(towerKey, it.hash, it.data, it.data.length / length, length);
      }
    });
  }

  private putFeatureRow(towerKey: string, hash: string, data: Float32Array, dim: number, length: number): void {
    if (!Number.isInteger(dim)) throw new StoreError(`Feature vector of ${data.length} values does not split into ${length} rows.`);
    const { blob, dtype } = featureToBlob(data);
    this.s.putFeature.run(towerKey, hash, dim, length, dtype, blob);
  }

  countFeatures(towerKey: string): number {
    return this.s.countFeatures.get(towerKey) as number;
  }

  // ---- library file size and compaction -----------------------------------------------------------

  /**
   * What each table and index of the library file costs on disk, from SQLite's `dbstat` table (reads every
   * page: linear in the file size), plus the free pages. `payload` is the bytes of row data stored; the rest
   * of `bytes` is page headers, cell pointers, unused space and overflow chains.
   */
  storageBreakdown(): StorageBreakdown {
    return this.db
      .transaction(() => {
        const pageSize = this.db.pragma('page_size', { simple: true }) as number;
        const pageCount = this.db.pragma('page_count', { simple: true }) as number;
        const freePages = this.freePages();
        const owners = new Map(
          (this.db.prepare("SELECT name, tbl_name, type FROM sqlite_schema WHERE type IN ('table', 'index')").all() as { name: string; tbl_name: string; type: string }[]).map((r) => [
            r.name,
            r,
          ]),
        );
        const rows = this.db
          .prepare(
            `SELECT name, count(*) AS pages, sum(pgsize) AS bytes, sum(payload) AS payload, sum(unused) AS unused,
                    sum(pagetype = 'overflow') AS overflowPages
             FROM dbstat GROUP BY name ORDER BY bytes DESC`,
          )
          .all() as { name: string; pages: number; bytes: number; payload: number; unused: number; overflowPages: number }[];
        const parts = rows.map((r) => {
          const o = owners.get(r.name);
          // sqlite_schema itself is not listed in sqlite_schema.
          return { ...r, table: o?.tbl_name ?? r.name, kind: (o?.type === 'index' ? 'index' : 'table') as 'table' | 'index' };
        });
        return { pageSize, pageCount, freePages, parts };
      })
      .deferred();
  }

  /**
   * Which cached tower features `compact` may drop: rows of the image tower `towerKey` (and its augmented
   * views, `towerKey#view`, cached by training) whose content every library photo with that content has
   * embedded with `modelId`, and with `pendingModelId` too when a model switch is unfinished (resuming it
   * re-embeds from these features). What stays: features of photos still to embed, of other towers (caption
   * text, other models), and of content no library photo has (the photos of a captioned set).
   */
  featureCompactionPlan(f: FeatureCompaction): FeatureCompactionPlan {
    return this.db
      .transaction(() => {
        const p = this.compactionParams(f);
        const count = (where: string) =>
          this.db.prepare(`SELECT count(*) AS rows, coalesce(sum(length(data)), 0) AS bytes FROM features WHERE ${where}`).get(p) as { rows: number; bytes: number };
        const all = count('1');
        const ofTower = count(TOWER_ROWS);
        const droppable = count(`${TOWER_ROWS} AND ${DROPPABLE}`);
        const inLibrary = count(`${TOWER_ROWS} AND content_hash IN (SELECT content_hash FROM photos)`);
        return {
          total: all,
          droppable,
          keptStillToEmbed: inLibrary.rows - droppable.rows,
          keptNotInLibrary: ofTower.rows - inLibrary.rows,
          keptOtherTowers: all.rows - ofTower.rows,
        };
      })
      .deferred();
  }

  /** Delete the features `featureCompactionPlan` calls droppable, in one transaction; returns how many. */
  dropCompactableFeatures(f: FeatureCompaction): number {
    return this.transaction(() => this.db.prepare(`DELETE FROM features WHERE ${TOWER_ROWS} AND ${DROPPABLE}`).run(this.compactionParams(f)).changes);
  }

  private compactionParams(f: FeatureCompaction) {
    // The views' keys are `towerKey#name`: every key from `towerKey#` up to (not including) `towerKey$`.
    return { key: f.towerKey, viewsFrom: `${f.towerKey}#`, viewsTo: `${f.towerKey}$`, model: f.modelId, pending: f.pendingModelId };
  }

  /**
   * Give the free pages back to the file system: VACUUM rewrites the database into a temporary file and copies
   * it back through the write-ahead log (atomic: a crash leaves the old file), then a checkpoint moves it into
   * the file and truncates the log. Needs free space for that copy and for the log (see compact.ts).
   */
  vacuum(): void {
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.exec('VACUUM');
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (e) {
      throw this.explain(e);
    }
  }

  /** Bytes of the database's pages in use (not on the free list): about what a VACUUM leaves. */
  usedBytes(): number {
    const page = (name: string) => this.db.pragma(name, { simple: true }) as number;
    return (page('page_count') - this.freePages()) * page('page_size');
  }

  /** Pages on the free list (space a VACUUM would give back). */
  freePages(): number {
    return this.db.pragma('freelist_count', { simple: true }) as number;
  }

  /** Bytes of the database file and of its write-ahead log (0 when there is none). */
  fileBytes(): { db: number; wal: number } {
    const size = (f: string) => {
      try {
        return statSync(f).size;
      } catch {
        return 0;
      }
    };
    return { db: size(this.file), wal: size(`${this.file}-wal`) };
  }

  // ---- skipped files -----------------------------------------------------------------------------

  /** Log a file that could not be indexed; a photo row for that path (old content) leaves the index. */
  recordSkip(skip: SkipInput): void {
    this.transaction(() => {
      this.s.deletePhotoByPath.run(skip.path);
      this.s.recordSkip.run({ ...skip, at: now() });
    });
  }

  clearSkip(p: string): void {
    this.s.clearSkip.run(p);
  }

  skipByPath(p: string): SkipRow | null {
    const r = this.s.skipByPath.get(p) as { path: string; root: string; size: number | null; mtime_ms: number | null; reason: string; at: string } | undefined;
    return r ? { path: r.path, root: r.root, size: r.size, mtimeMs: r.mtime_ms, reason: r.reason, at: r.at } : null;
  }

  countSkipped(): number {
    return this.s.countSkipped.get() as number;
  }

  listSkipped(limit = 100, offset = 0): { path: string; reason: string; at: string }[] {
    return this.s.listSkipped.all(limit, offset) as { path: string; reason: string; at: string }[];
  }

  // ---- settings ----------------------------------------------------------------------------------

  getSetting(key: string): string | null {
    return (this.s.getSetting.get(key) as string | undefined) ?? null;
  }

  setSetting(key: string, value: string | null): void {
    if (value === null) this.s.deleteSetting.run(key);
    else this.s.setSetting.run(key, value);
  }

  /**
   * Copy whatever can still be read from a damaged library file into this (new, empty) store: roots,
   * settings, skipped files, photos (with their ids), cached features and the embeddings whose
   * values are sound. Reads go in key order, page by page; a read that hits a damaged page skips ahead
   * (further each time) until reads work again, so one bad page costs only the rows it held. Folders are
   * also taken from the photos' own `root` column, in case the roots table itself was lost. The damaged
   * file is opened read-only and never changed.
   */
  salvageFrom(file: string): SalvageCounts {
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
    const tables = new Set((safeAll(src, "SELECT name FROM sqlite_schema WHERE type = 'table'", []) ?? []).map((r) => (r as { name: string }).name));
    const columns = (t: string) => new Set((safeAll(src, `PRAGMA table_info(${t})`, []) ?? []).map((r) => (r as { name: string }).name));
    const onDamage = () => counts.damagedReads++;
    try {
      const photoIds = new Set<number>();
      const inserts = new Map<string, Database.Statement>();
      this.transaction(() => {
        const put = (table: string, cols: string[], row: Record<string, unknown>) => {
          let stmt = inserts.get(table);
          if (!stmt) {
            stmt = this.db.prepare(`INSERT OR IGNORE INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`);
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
          const cols = ['id', 'path', 'root', 'size', 'mtime_ms', 'content_hash', 'width', 'height', 'taken_at', 'indexed_at'];
          for (const row of readByRowid(src, 'photos', onDamage)) {
            if (typeof row.path !== 'string' || typeof row.root !== 'string' || typeof row.content_hash !== 'string') continue;
            if (put('photos', cols, row)) {
              counts.photos++;
              photoIds.add(Number(row.id));
            }
          }
          // The folders the photos were indexed under, in case the roots table was the damaged part.
          counts.roots += this.db.prepare('INSERT OR IGNORE INTO roots (path, added_at) SELECT DISTINCT root, ? FROM photos').run(now()).changes;
        }
        if (tables.has('embeddings')) {
          for (const row of readByRowid(src, 'embeddings', onDamage)) {
            const data = row.data;
            const sound = Buffer.isBuffer(data) && data.byteLength % 4 === 0 && isSoundEmbedding(blobToVector(data));
            if (sound && photoIds.has(Number(row.photo_id)) && typeof row.model_id === 'string') {
              this.s.putEmbedding.run(row.photo_id, row.model_id, data);
              counts.embeddings++;
            } else counts.embeddingsDropped++;
          }
        }
        if (tables.has('features')) {
          const hasDtype = columns('features').has('dtype');
          for (const row of readFeatures(src, hasDtype, onDamage)) {
            const dtype = row.dtype === 'float16' ? 'float16' : 'float32';
            if (!Buffer.isBuffer(row.data) || typeof row.tower_key !== 'string' || typeof row.content_hash !== 'string') continue;
            this.s.putFeature.run(row.tower_key, row.content_hash, row.dim, row.length, dtype, row.data);
            counts.features++;
          }
        }
      });
    } finally {
      src.close();
    }
    return counts;
  }

  /**
   * `PRAGMA quick_check` (every page read, indexes not cross-checked: linear in the file size): 'ok' or
   * the problems found. A page too damaged to walk is reported the same way, not thrown.
   */
  quickCheck(): string {
    try {
      return (this.db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check).join('; ');
    } catch (e) {
      if (isCorruptionError(e)) return (e as Error).message;
      throw e;
    }
  }

  /** `PRAGMA integrity_check`: 'ok' or the problems found. */
  integrityCheck(): string {
    return (this.db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
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
