/** The `settings` table: small key → text values (the active model, unfinished work). */
import type Database from 'better-sqlite3';

export class SettingQueries {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      get: db.prepare('SELECT value FROM settings WHERE key = ?').pluck(),
      set: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      delete: db.prepare('DELETE FROM settings WHERE key = ?'),
    };
  }

  get(key: string): string | null {
    return (this.s.get.get(key) as string | undefined) ?? null;
  }

  /** Null deletes the key. */
  set(key: string, value: string | null): void {
    if (value === null) this.s.delete.run(key);
    else this.s.set.run(key, value);
  }
}
