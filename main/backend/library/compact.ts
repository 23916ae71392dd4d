/**
 * The library's size on disk, part by part, and `compact`: drop the cached tower features of photos whose
 * embeddings are current, then give the space back to the file system.
 *
 * Tower features (float16, ~4 KB a photo for the built-in model) are a cache: they let a model switch or a
 * retraining re-embed without decoding a photo. Once every photo is embedded with the active model, nothing
 * reads them until the heads change, so a user short of disk space may drop them; the cost comes later, when
 * retraining or switching to a retrained model reads and decodes those photos again (and caches them again).
 *
 * Crash safety: the rows go in one transaction, and VACUUM is atomic (SQLite copies the database to a
 * temporary file and writes it back through the write-ahead log): a kill at any point leaves either the old
 * or the new content, never a mix.
 */
import { promises as fs, statfsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CompactResult, LibrarySize } from '../../../shared/api';
import { formatBytes } from '../../../shared/format';
import { AppError } from '../errors';
import { dataPaths } from '../paths';
import type { FeatureCompaction, FeatureCompactionPlan, Store } from '../store';

/** Kept free on top of what the rewrite needs: SQLite's own bookkeeping, and other writers meanwhile. */
const SPACE_MARGIN = 64 * 1024 * 1024;

export function tradeOffLine(photos: number, setRows = 0): string {
  const sets = setRows > 0 ? ' Retraining on a captioned set reads and decodes its photos (and encodes its captions) again.' : '';
  if (photos === 0 && sets) return `Trade-off:${sets.slice(0, -1).replace(' Retraining', ' retraining')}; search is unaffected.`;
  if (photos === 0)
    return 'Trade-off: nothing dropped this time; photos whose features an earlier compact dropped are read and decoded again when you retrain or switch to a retrained model; search is unaffected.';
  return `Trade-off: retraining, or switching to a retrained model, reads and decodes ${photos === 1 ? 'this photo' : `these ${photos.toLocaleString('en-US')} photos`} again (their features are cached again); search is unaffected.${sets}`;
}

/** Bytes and files under a folder (0 when it does not exist). */
export async function folderBytes(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true, recursive: true });
  } catch {
    return { files, bytes };
  }
  for (const e of entries) {
    if (!e.isFile()) continue;
    try {
      bytes += (await fs.stat(path.join(e.parentPath, e.name))).size;
      files++;
    } catch {
      // removed meanwhile (a thumbnail pruned): not counted
    }
  }
  return { files, bytes };
}

/** The library's size on disk, part by part (dbstat reads every page of the database: linear in its size). */
export async function librarySize(store: Store, dataDir: string): Promise<LibrarySize> {
  const paths = dataPaths(dataDir);
  const b = store.disk.storageBreakdown();
  const file = store.disk.fileBytes();
  const [sidecar, thumbnails] = await Promise.all([folderBytes(paths.searchIndex), folderBytes(paths.thumbnails)]);
  return {
    photos: store.countPhotos(),
    database: {
      file: store.file,
      bytes: file.db,
      walBytes: file.wal,
      freeBytes: b.freePages * b.pageSize,
      parts: b.parts.map((p) => ({ name: p.name, table: p.table, kind: p.kind, bytes: p.bytes, payload: p.payload })),
    },
    searchIndexBytes: sidecar.bytes,
    thumbnails,
    totalBytes: file.db + file.wal + sidecar.bytes + thumbnails.bytes,
  };
}

/**
 * The folder SQLite writes VACUUM's temporary copy to on Unix (os_unix.c unixTempFileDir: SQLITE_TMPDIR,
 * TMPDIR, /var/tmp, /usr/tmp, /tmp, the first that is a folder); Windows uses the system temp folder.
 */
export function sqliteTempDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'win32') return os.tmpdir();
  for (const d of [env.SQLITE_TMPDIR, env.TMPDIR, '/var/tmp', '/usr/tmp', '/tmp']) {
    if (!d) continue;
    try {
      if (statSync(d).isDirectory()) return d;
    } catch {
      // not there: the next one
    }
  }
  return '.';
}

function freeSpace(dir: string): { free: number; device: number } | null {
  try {
    const s = statfsSync(dir);
    return { free: s.bavail * s.bsize, device: statSync(dir).dev };
  } catch {
    return null;
  }
}

/**
 * Free space the rewrite needs: VACUUM writes the compacted database once to a temporary file (in
 * `tempDir`) and once more into the write-ahead log next to the library file, so about twice the compacted
 * size when both are on one drive.
 */
export function spaceNeeded(dbFile: string, afterBytes: number, tempDir: string): CompactResult['spaceNeeded'] {
  const dataDir = path.dirname(dbFile);
  const data = freeSpace(dataDir);
  const temp = freeSpace(tempDir);
  // The margin scales down for a small file (a 9 MB library does not need 64 MB of slack).
  const copy = afterBytes + Math.min(SPACE_MARGIN, Math.max(4 * 1024 * 1024, Math.round(afterBytes / 4)));
  if (!data || !temp || data.device === temp.device) return [{ path: dataDir, bytes: 2 * copy, free: data?.free ?? Infinity }];
  return [
    { path: dataDir, bytes: copy, free: data.free },
    { path: tempDir, bytes: copy, free: temp.free },
  ];
}

/** Refuse (one line, nothing changed yet) when a drive lacks the space the rewrite needs. */
export function checkSpace(dbFile: string, needed: CompactResult['spaceNeeded']): void {
  for (const n of needed) {
    if (n.free < n.bytes) {
      throw new AppError(
        'invalid_input',
        `Not enough free space to compact ${dbFile}: it needs ${formatBytes(n.bytes)} free in ${n.path} and ${formatBytes(n.free)} is free. Free some space there and run it again; nothing was changed.`,
      );
    }
  }
}

export interface CompactOptions {
  store: Store;
  dataDir: string;
  /** The active model and its image tower; the pending model of an unfinished switch, if any. */
  compaction: FeatureCompaction;
  dryRun?: boolean;
  /** Where SQLite puts temporary files (tests point it elsewhere); default sqliteTempDir(). */
  tempDir?: string;
  onStage?: (stage: string) => void;
}

/** The compacted file's size, estimated: the pages in use less the dropped vectors' bytes (an upper bound). */
function estimateAfter(store: Store, plan: FeatureCompactionPlan): { before: number; after: number } {
  const f = store.disk.fileBytes();
  const used = store.disk.usedBytes();
  return { before: f.db + f.wal, after: Math.max(0, used - plan.droppable.bytes) };
}

/** Compact the library (or, with dryRun, say what it would do). Synchronous SQLite work: run it in a worker. */
export async function compactLibrary(o: CompactOptions): Promise<CompactResult> {
  const { store } = o;
  const stage = o.onStage ?? (() => undefined);
  stage('Counting cached features');
  const plan = store.featureCompactionPlan(o.compaction);
  const photos = store.countPhotos();
  const est = estimateAfter(store, plan);
  const tempDir = o.tempDir ?? sqliteTempDir();
  const needed = spaceNeeded(store.file, est.after, tempDir);
  const kept = { stillToEmbed: plan.keptStillToEmbed, notInLibrary: plan.keptNotInLibrary, otherTowers: plan.keptOtherTowers };
  if (o.dryRun) {
    stage('Measuring the library file');
    const sizes = await librarySize(store, o.dataDir);
    const d = plan.droppable.rows;
    return { dryRun: true, beforeBytes: est.before, afterBytes: est.after, photos, featuresDropped: d, featuresKept: kept, spaceNeeded: needed, sizes, tradeOff: tradeOffLine(d - plan.setRows, plan.setRows) };
  }
  checkSpace(store.file, needed);
  stage('Dropping cached features');
  const dropped = plan.droppable.rows ? store.dropCompactableFeatures(o.compaction) : 0;
  if (dropped > 0 || store.disk.freePages() > 0) {
    stage('Rewriting the library file');
    store.disk.vacuum();
  }
  const after = store.disk.fileBytes();
  return {
    dryRun: false,
    beforeBytes: est.before,
    afterBytes: after.db + after.wal,
    photos,
    featuresDropped: dropped,
    featuresKept: kept,
    spaceNeeded: needed,
    sizes: null,
    tradeOff: tradeOffLine(Math.max(0, dropped - plan.setRows), plan.setRows),
  };
}
