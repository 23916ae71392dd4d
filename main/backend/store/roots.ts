/**
 * The `roots` table: the library's folders. Also which of them an indexing run left unfinished (cancel,
 * failure: their photos are partial, the UI offers Resume), kept as a setting.
 */
import type Database from 'better-sqlite3';
import path from 'node:path';
import { now } from './paths';
import type { SettingQueries } from './settings';

const INCOMPLETE_ROOTS = 'incompleteRoots';

export class RootQueries {
  private readonly s;

  constructor(
    db: Database.Database,
    private readonly settings: SettingQueries,
  ) {
    this.s = {
      add: db.prepare('INSERT OR IGNORE INTO roots (path, added_at) VALUES (?, ?)'),
      delete: db.prepare('DELETE FROM roots WHERE path = ?'),
      list: db.prepare('SELECT path FROM roots ORDER BY path').pluck(),
      fromPhotos: db.prepare('INSERT OR IGNORE INTO roots (path, added_at) SELECT DISTINCT root, ? FROM photos'),
    };
  }

  add(folder: string): void {
    this.s.add.run(path.resolve(folder), now());
  }

  delete(root: string): void {
    this.s.delete.run(root);
  }

  list(): string[] {
    return this.s.list.all() as string[];
  }

  /** Add every folder the photos were indexed under; returns how many were new (salvage: the roots table may be the damaged part). */
  addFromPhotos(): number {
    return this.s.fromPhotos.run(now()).changes;
  }

  private incompleteSet(): Set<string> {
    try {
      const v = JSON.parse(this.settings.get(INCOMPLETE_ROOTS) ?? '[]') as unknown;
      return new Set(Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    } catch {
      return new Set();
    }
  }

  listIncomplete(): string[] {
    const roots = new Set(this.list());
    return [...this.incompleteSet()].filter((r) => roots.has(r)).sort();
  }

  markIncomplete(folders: readonly string[]): void {
    const set = this.incompleteSet();
    for (const f of folders) set.add(path.resolve(f));
    this.settings.set(INCOMPLETE_ROOTS, JSON.stringify([...set]));
  }

  clearIncomplete(folders: readonly string[]): void {
    const set = this.incompleteSet();
    let changed = false;
    for (const f of folders) changed = set.delete(path.resolve(f)) || changed;
    if (changed) this.settings.set(INCOMPLETE_ROOTS, set.size ? JSON.stringify([...set]) : null);
  }
}
