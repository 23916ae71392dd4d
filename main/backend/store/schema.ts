/**
 * The library file's schema: the version, the step-by-step migrations, and opening a connection with the
 * pragmas every process uses. A library from a newer version is refused with a message.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { openError, StoreError } from './errors';


/**
 * Schema version. Bump it and add a step to MIGRATIONS whenever the schema, or the meaning of stored
 * vectors, changes; say why next to the step.
 */
export const VERSION = 9;

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
  // 5 → 6: when and where a photo was taken (issue 26). The date's time-zone offset as the file records it
  // ("+01:00"; taken_at stays the local time the camera wrote), the GPS position, and the place it resolves to
  // offline (nearest GeoNames city, its region and country). place_key holds the place's names folded for the
  // place filter ("|lisbon|lisboa|portugal|pt|"). meta_version says which reader filled these: rows from before
  // (0) were read without offsets and GPS, and are read again (their headers only) by the next index run.
  6: `
    ALTER TABLE photos ADD COLUMN taken_offset TEXT;
    ALTER TABLE photos ADD COLUMN gps_lat REAL;
    ALTER TABLE photos ADD COLUMN gps_lon REAL;
    ALTER TABLE photos ADD COLUMN place_city TEXT;
    ALTER TABLE photos ADD COLUMN place_region TEXT;
    ALTER TABLE photos ADD COLUMN place_country TEXT;
    ALTER TABLE photos ADD COLUMN place_key TEXT;
    ALTER TABLE photos ADD COLUMN meta_version INTEGER NOT NULL DEFAULT 0;
  `,
  // 6 → 7: words read in photos (issue 27). One row per content, as tower features are keyed: a photo whose
  // bytes change has a new hash and no text until the text pass reads it again; copies share one row. A row
  // with text '' means "read, nothing found" (or `failed`, the reason it could not be read), so the pass
  // resumes where it stopped. `lines` is JSON: each line's text, score and box. The FTS5 index (trigram:
  // the recognizer often drops spaces, "INVOICE4711", and trigrams match inside such runs and in Chinese)
  // holds only rows with text.
  7: `
    CREATE TABLE photo_text (
      id INTEGER PRIMARY KEY,
      content_hash TEXT NOT NULL UNIQUE,
      engine TEXT NOT NULL,
      text TEXT NOT NULL,
      lines TEXT NOT NULL,
      failed TEXT,
      read_at TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE photo_text_fts USING fts5(text, content='photo_text', content_rowid='id', tokenize='trigram remove_diacritics 1');
    CREATE TRIGGER photo_text_fts_insert AFTER INSERT ON photo_text WHEN NEW.text <> '' BEGIN
      INSERT INTO photo_text_fts (rowid, text) VALUES (NEW.id, NEW.text);
    END;
    CREATE TRIGGER photo_text_fts_delete AFTER DELETE ON photo_text WHEN OLD.text <> '' BEGIN
      INSERT INTO photo_text_fts (photo_text_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text);
    END;
    CREATE TRIGGER photo_text_fts_update_old AFTER UPDATE ON photo_text WHEN OLD.text <> '' BEGIN
      INSERT INTO photo_text_fts (photo_text_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text);
    END;
    CREATE TRIGGER photo_text_fts_update_new AFTER UPDATE ON photo_text WHEN NEW.text <> '' BEGIN
      INSERT INTO photo_text_fts (rowid, text) VALUES (NEW.id, NEW.text);
    END;
  `,
  // 7 → 8: a perceptual hash of each photo's pixels (photos/pixel-hash.ts), so the duplicate finder also
  // finds resized, recompressed and rotated copies whose embeddings differ. It is computed from the view the
  // image tower is fed, so `pixel_view` says which fit made it (cover, contain, squash): hashes of different
  // views are not compared. Rows written before stay NULL (nothing is decoded here): the next `index` run
  // decodes those photos once more for the hash alone, without running the tower again.
  8: `
    ALTER TABLE photos ADD COLUMN pixel_hash TEXT;
    ALTER TABLE photos ADD COLUMN pixel_view TEXT;
  `,
  // 8 → 9: the text gate (text/text-gate.ts) passes over photos that almost surely hold no text, without reading
  // them. Such a row says so: `gate` is the id of the gate that passed over it (text '' and no lines); NULL means
  // the reader read the photo. Reading every photo (PHOTO_SEARCH_READ_TEXT=all) or another gate takes the
  // gated rows up again; rows written before were all read.
  9: `
    ALTER TABLE photo_text ADD COLUMN gate TEXT;
  `,
};

/** Open (creating the folder unless read-only) and upgrade the library file; failures explained in one line. */
export function openDatabase(file: string, readonly: boolean): Database.Database {
  if (!readonly) mkdirSync(path.dirname(file), { recursive: true });
  try {
    const db = new Database(file, { readonly, fileMustExist: readonly });
    // Another process (the index worker, the CLI) may hold the write lock briefly: wait, do not fail.
    db.pragma('busy_timeout = 10000');
    if (!readonly) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // NORMAL is durable against application crashes in WAL mode; only an OS crash can lose the last commit.
    db.pragma('synchronous = NORMAL');
    migrate(db, file, readonly);
    return db;
  } catch (e) {
    throw openError(e, file);
  }
}

function migrate(db: Database.Database, file: string, readonly: boolean): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > VERSION)
    throw new StoreError(
      `The library database ${file} was written by a newer Photo Search (schema ${current}; this version reads up to ${VERSION}). Update Photo Search, or choose another data folder with --data.`,
    );
  if (current === VERSION) return;
  if (readonly) throw new StoreError(`The library database ${file} needs an upgrade (schema ${current} → ${VERSION}). Open it once read-write.`);
  // Each step runs in its own transaction with the version bump, so a crash leaves a consistent version.
  // The version is re-read under the write lock: another process (the index worker) may have migrated first.
  for (let v = current + 1; v <= VERSION; v++) {
    db.transaction(() => {
      if ((db.pragma('user_version', { simple: true }) as number) >= v) return;
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v}`);
    }).immediate();
  }
}
