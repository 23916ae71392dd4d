/** The `skipped` table: files that could not be indexed, and why. */
import type Database from 'better-sqlite3';
import { now, UNDER, underParams } from './paths';

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

export class SkippedQueries {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      record: db.prepare(
        `INSERT INTO skipped (path, root, size, mtime_ms, reason, at) VALUES (@path, @root, @size, @mtimeMs, @reason, @at)
         ON CONFLICT (path) DO UPDATE SET root = excluded.root, size = excluded.size, mtime_ms = excluded.mtime_ms,
           reason = excluded.reason, at = excluded.at`,
      ),
      clear: db.prepare('DELETE FROM skipped WHERE path = ?'),
      byPath: db.prepare('SELECT * FROM skipped WHERE path = ?'),
      count: db.prepare('SELECT count(*) FROM skipped').pluck(),
      list: db.prepare('SELECT path, reason, at FROM skipped ORDER BY path LIMIT ? OFFSET ?'),
      under: db.prepare(`SELECT path FROM skipped WHERE ${UNDER}`).pluck(),
      reroot: db.prepare('UPDATE skipped SET root = ? WHERE root = ?'),
    };
  }

  record(skip: SkipInput): void {
    this.s.record.run({ ...skip, at: now() });
  }

  clear(p: string): void {
    this.s.clear.run(p);
  }

  byPath(p: string): SkipRow | null {
    const r = this.s.byPath.get(p) as { path: string; root: string; size: number | null; mtime_ms: number | null; reason: string; at: string } | undefined;
    return r ? { path: r.path, root: r.root, size: r.size, mtimeMs: r.mtime_ms, reason: r.reason, at: r.at } : null;
  }

  count(): number {
    return this.s.count.get() as number;
  }

  list(limit: number, offset: number): { path: string; reason: string; at: string }[] {
    return this.s.list.all(limit, offset) as { path: string; reason: string; at: string }[];
  }

  /** Paths of the records under `folder` (absolute). */
  under(folder: string): string[] {
    return this.s.under.all(underParams(folder)) as string[];
  }

  /** Records of root `from` now belong to root `to`. */
  reroot(from: string, to: string): void {
    this.s.reroot.run(to, from);
  }
}
