/** The `photos` table: one row per indexed file, its size, time, content hash, pixels and date taken. */
import type { Db } from './context';
import { now, UNDER, underParams } from './paths';

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

/** What the indexer needs to decide whether a file changed. */
export interface PhotoState extends Omit<PhotoInput, 'path' | 'root'> {
  id: number;
  /** Whether the model asked about embedded it. */
  embedded: boolean;
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

/** The date a photo was taken: EXIF when it has one, else its file's modification time (local time). */
export const TAKEN_SQL = `coalesce(taken_at, strftime('%Y-%m-%dT%H:%M:%S', mtime_ms / 1000, 'unixepoch', 'localtime'))`;

export class PhotoQueries {
  private readonly s;

  constructor(c: Db) {
    const db = c.db;
    this.s = {
      byPath: db.prepare('SELECT * FROM photos WHERE path = ?'),
      byId: db.prepare('SELECT * FROM photos WHERE id = ?'),
      stateByPath: db.prepare(
        `SELECT p.id, p.size, p.mtime_ms, p.content_hash, p.width, p.height, p.taken_at,
                EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = ?) AS embedded
         FROM photos p WHERE p.path = ?`,
      ),
      upsert: db.prepare(
        `INSERT INTO photos (path, root, size, mtime_ms, content_hash, width, height, taken_at, indexed_at)
         VALUES (@path, @root, @size, @mtimeMs, @contentHash, @width, @height, @takenAt, @indexedAt)
         ON CONFLICT (path) DO UPDATE SET root = excluded.root, size = excluded.size, mtime_ms = excluded.mtime_ms,
           content_hash = excluded.content_hash, width = excluded.width, height = excluded.height,
           taken_at = excluded.taken_at, indexed_at = excluded.indexed_at
         RETURNING id`,
      ),
      hashByPath: db.prepare('SELECT id, content_hash FROM photos WHERE path = ?'),
      deleteById: db.prepare('DELETE FROM photos WHERE id = ?'),
      deleteByPath: db.prepare('DELETE FROM photos WHERE path = ?'),
      under: db.prepare(`SELECT id, path, content_hash FROM photos WHERE ${UNDER}`),
      count: db.prepare('SELECT count(*) FROM photos').pluck(),
      countUnder: db.prepare(`SELECT count(*) FROM photos WHERE ${UNDER}`).pluck(),
      hashInUse: db.prepare('SELECT 1 FROM photos WHERE content_hash = ? LIMIT 1').pluck(),
      reroot: db.prepare('UPDATE photos SET root = ? WHERE root = ?'),
      byIds: db.prepare('SELECT * FROM photos WHERE id IN (SELECT value FROM json_each(?))'),
      missingEmbedding: db.prepare(
        `SELECT p.* FROM photos p
         WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = ?)
         ORDER BY p.id`,
      ),
      countMissingEmbedding: db
        .prepare('SELECT count(*) FROM photos p WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = ?)')
        .pluck(),
      sortedByDate: db.prepare(`SELECT id FROM photos WHERE id IN (SELECT value FROM json_each(?)) ORDER BY ${TAKEN_SQL} DESC, id`).pluck(),
      sortedByPath: db.prepare('SELECT id FROM photos WHERE id IN (SELECT value FROM json_each(?)) ORDER BY path, id').pluck(),
    };
  }

  byPath(p: string): PhotoRow | null {
    const r = this.s.byPath.get(p) as RawPhoto | undefined;
    return r ? toPhoto(r) : null;
  }

  byId(id: number): PhotoRow | null {
    const r = this.s.byId.get(id) as RawPhoto | undefined;
    return r ? toPhoto(r) : null;
  }

  state(p: string, modelId: string): PhotoState | null {
    const r = this.s.stateByPath.get(modelId, p) as
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

  /** The id and content hash of the row for this path, if any. */
  hashByPath(p: string): { id: number; contentHash: string } | null {
    const r = this.s.hashByPath.get(p) as { id: number; content_hash: string } | undefined;
    return r ? { id: r.id, contentHash: r.content_hash } : null;
  }

  /** Insert or update the row for `photo.path`; returns its id. */
  upsert(photo: PhotoInput): number {
    const { id } = this.s.upsert.get({ ...photo, indexedAt: now() }) as { id: number };
    return id;
  }

  deleteById(id: number): number {
    return this.s.deleteById.run(id).changes;
  }

  deleteByPath(p: string): number {
    return this.s.deleteByPath.run(p).changes;
  }

  /** Every photo under `folder` (absolute). */
  under(folder: string): { id: number; path: string; content_hash: string }[] {
    return this.s.under.all(underParams(folder)) as { id: number; path: string; content_hash: string }[];
  }

  /** Rows for these ids, in the order given (unknown ids are left out). */
  byIds(ids: readonly number[]): PhotoRow[] {
    if (ids.length === 0) return [];
    const byId = new Map((this.s.byIds.all(JSON.stringify(ids)) as RawPhoto[]).map((r) => [r.id, toPhoto(r)]));
    const out: PhotoRow[] = [];
    for (const id of ids) {
      const r = byId.get(id);
      if (r) out.push(r);
    }
    return out;
  }

  count(): number {
    return this.s.count.get() as number;
  }

  countUnder(folder: string): number {
    return this.s.countUnder.get(underParams(folder)) as number;
  }

  /** True when some photo in the library has this content. */
  hasContent(contentHash: string): boolean {
    return this.s.hashInUse.get(contentHash) !== undefined;
  }

  /** Photos of root `from` now belong to root `to`. */
  reroot(from: string, to: string): void {
    this.s.reroot.run(to, from);
  }

  missingEmbedding(modelId: string): PhotoRow[] {
    return (this.s.missingEmbedding.all(modelId) as RawPhoto[]).map(toPhoto);
  }

  countMissingEmbedding(modelId: string): number {
    return this.s.countMissingEmbedding.get(modelId) as number;
  }

  /** These photo ids ordered by date taken (newest first) or by path; ids not in the library are left out. */
  idsSorted(ids: readonly number[], by: 'date' | 'path'): number[] {
    if (ids.length === 0) return [];
    return (by === 'date' ? this.s.sortedByDate : this.s.sortedByPath).all(JSON.stringify(ids)) as number[];
  }
}
