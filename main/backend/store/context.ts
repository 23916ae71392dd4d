import type Database from 'better-sqlite3';

/** What every table's queries share: the open connection, its file, and a transaction that explains storage failures. */
export interface Db {
  readonly db: Database.Database;
  readonly file: string;
  /** Run `fn` in one immediate transaction (synchronous); a full disk or a damaged file is explained. */
  transaction<T>(fn: () => T): T;
}
