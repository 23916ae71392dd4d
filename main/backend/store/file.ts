/** The library file as a whole: what each table costs on disk, giving free pages back, and checking every page. */
import { statSync } from 'node:fs';
import type { Db } from './context';
import { isCorruptionError } from './errors';

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

export class FileQueries {
  constructor(
    private readonly c: Db,
    /** The storage failure `e` in words (see Store.explain). */
    private readonly explain: (e: unknown) => Error,
  ) {}

  private pragma(name: string): number {
    return this.c.db.pragma(name, { simple: true }) as number;
  }

  /**
   * What each table and index of the library file costs on disk, from SQLite's `dbstat` table (reads every
   * page: linear in the file size), plus the free pages. `payload` is the bytes of row data stored; the rest
   * of `bytes` is page headers, cell pointers, unused space and overflow chains.
   */
  storageBreakdown(): StorageBreakdown {
    const db = this.c.db;
    return db
      .transaction(() => {
        const pageSize = this.pragma('page_size');
        const pageCount = this.pragma('page_count');
        const freePages = this.freePages();
        const owners = new Map(
          (db.prepare("SELECT name, tbl_name, type FROM sqlite_schema WHERE type IN ('table', 'index')").all() as { name: string; tbl_name: string; type: string }[]).map((r) => [
            r.name,
            r,
          ]),
        );
        const rows = db
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
   * Give the free pages back to the file system: VACUUM rewrites the database into a temporary file and copies
   * it back through the write-ahead log (atomic: a crash leaves the old file), then a checkpoint moves it into
   * the file and truncates the log. Needs free space for that copy and for the log (see compact.ts).
   */
  vacuum(): void {
    try {
      this.checkpoint();
      this.c.db.exec('VACUUM');
      this.checkpoint();
    } catch (e) {
      throw this.explain(e);
    }
  }

  /** Move the write-ahead log into the file and truncate it (so the file's size is the whole database). */
  checkpoint(): void {
    this.c.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** Bytes of the database's pages in use (not on the free list): about what a VACUUM leaves. */
  usedBytes(): number {
    return (this.pragma('page_count') - this.freePages()) * this.pragma('page_size');
  }

  /** Pages on the free list (space a VACUUM would give back). */
  freePages(): number {
    return this.pragma('freelist_count');
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
    return { db: size(this.c.file), wal: size(`${this.c.file}-wal`) };
  }

  /**
   * `PRAGMA quick_check` (every page read, indexes not cross-checked: linear in the file size): 'ok' or
   * the problems found. A page too damaged to walk is reported the same way, not thrown.
   */
  quickCheck(): string {
    try {
      return (this.c.db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check).join('; ');
    } catch (e) {
      if (isCorruptionError(e)) return (e as Error).message;
      throw e;
    }
  }

  /** `PRAGMA integrity_check`: 'ok' or the problems found. */
  integrityCheck(): string {
    return (this.c.db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  }
}
