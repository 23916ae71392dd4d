/**
 * Storage failures in words a person can act on: a full disk, a damaged file, a file that cannot be opened.
 * SQLite often says only "disk I/O error" when the drive is full, so the free space is checked too.
 */
import { statfsSync } from 'node:fs';
import path from 'node:path';

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/** Free bytes below which an I/O error while writing is taken for a full disk. */
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

/** Why the library file `file` could not be opened, in one line (the error itself when nothing better is known). */
export function openError(e: unknown, file: string): Error {
  if (e instanceof StoreError) return e;
  const code = (e as { code?: string }).code;
  if (isCorruptionError(e))
    return new StoreError(
      `${file} is not a readable Photo Search library database (damaged, or another kind of file). Your photos are untouched: run \`photo-search repair\` to rebuild it (the file is kept aside), or choose another data folder with --data.`,
    );
  const explained = explainStorageError(e, file);
  if (explained) return explained;
  if (code === 'SQLITE_CANTOPEN')
    return new StoreError(`Cannot open the library database ${file}. Check that the folder exists and is writable, or choose another with --data.`);
  return e instanceof Error ? e : new Error(String(e));
}
