/**
 * `photo-search repair`: rebuild a damaged library database. The damaged file (with its WAL) is moved
 * aside, never deleted; a new library file is made from whatever the damaged one still yields (folders,
 * settings, models, photos, cached features, sound embeddings: Store.salvageFrom); the caller then indexes
 * the folders, which re-embeds what was lost from the photos themselves (they were never touched).
 */
import { existsSync, renameSync } from 'node:fs';
import { AppError } from './errors';
import { dataPaths } from './paths';
import { Store, type SalvageCounts } from './store';

export interface RepairResult extends SalvageCounts {
  /** Where the damaged file was moved. */
  damagedFile: string;
  file: string;
}

/** The three files SQLite keeps for one database in WAL mode; they must move together. */
const PARTS = ['', '-wal', '-shm'];

export function repairLibrary(dataDir: string, now = new Date()): RepairResult {
  const file = dataPaths(dataDir).db;
  if (!existsSync(file)) throw new AppError('not_found', `No library database at ${file}: nothing to repair. Check --data.`);
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const damagedFile = `${file}.damaged-${stamp}`;
  if (PARTS.some((p) => existsSync(damagedFile + p))) throw new AppError('busy', `${damagedFile} already exists: another repair is running. Wait for it.`);
  for (const p of PARTS) if (existsSync(file + p)) renameSync(file + p, damagedFile + p);
  const store = new Store(file);
  try {
    return { ...store.salvageFrom(damagedFile), damagedFile, file };
  } finally {
    store.close();
  }
}
