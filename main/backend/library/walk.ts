/**
 * Walk folders for photos, as a stream: files are yielded as directories are read, so 100k photos never
 * sit in one array. Hidden names (dot-files, dot-folders) are skipped; symlinks are followed while they stay
 * inside the root's real path (the same confinement photos are served under, backend/fs/confine.ts), with
 * the real path of every directory remembered so a link loop is walked once. A link leading out of the
 * root is reported as skipped, not followed. Problems never abort the walk: they come out as events the
 * indexer records.
 */
import { promises as fs, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import { isPathInside } from '../fs/confine';
import { TYPE_EXTENSIONS } from '../store';
import { oneLine } from '../../../shared/format';

/** Every file type the library reads (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIC/HEIF and camera RAW). */
export const PHOTO_EXTENSIONS: ReadonlySet<string> = new Set(Object.values(TYPE_EXTENSIONS).flat());

export function isPhotoName(name: string): boolean {
  return PHOTO_EXTENSIONS.has(path.extname(name).toLowerCase());
}

export type WalkEvent =
  /** A photo file (regular file, symlinks resolved) with its stat. */
  | { kind: 'file'; path: string; root: string; stat: Stats }
  /** A photo-named entry that cannot be indexed (broken link, FIFO, stat failed). */
  | { kind: 'skip'; path: string; root: string; reason: string }
  /** A directory that could not be read: its subtree is unknown, so nothing under it may be deleted. */
  | { kind: 'dir-error'; path: string; root: string; reason: string }
  /** The walk of `root` reached its end (not emitted when cancelled). */
  | { kind: 'root-done'; root: string; complete: boolean };

/**
 * Node reads directory entries as UTF-8: a name that is not valid UTF-8 (written by another OS or an old
 * camera) comes back with U+FFFD in place of the bad bytes, and that path names no file. Say so, instead
 * of "not found".
 */
const NOT_UTF8 = 'the name is not valid UTF-8, so it cannot be opened by name: rename it';

function hasReplacementChar(p: string): boolean {
  return p.includes('\uFFFD');
}

/** One line naming the problem, for the skipped list. */
export function fsReason(e: unknown, p?: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' && p !== undefined && hasReplacementChar(path.basename(p))) return NOT_UTF8;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied: check the file permissions';
    case 'ENOENT':
      return 'not found (a broken link, or deleted during the scan)';
    case 'ELOOP':
      return 'symbolic link loop';
    case 'ENOTDIR':
      return 'not a folder';
    case 'EIO':
      return 'read error (disk problem?)';
    default:
      return oneLine(e);
  }
}

/**
 * Walk `roots` in order, depth-first. `signal` stops it between entries (no `root-done` for an
 * interrupted root). Roots inside another listed root are walked once, as part of the outer one.
 */
export async function* walkPhotos(roots: readonly string[], signal?: AbortSignal): AsyncGenerator<WalkEvent> {
  for (const root of roots) {
    if (signal?.aborted) return;
    yield* walkRoot(root, signal);
  }
}

async function* walkRoot(root: string, signal?: AbortSignal): AsyncGenerator<WalkEvent> {
  const seenDirs = new Set<string>();
  let complete = true;
  let rootStat: Stats;
  try {
    rootStat = await fs.stat(root);
  } catch (e) {
    // A missing root (unplugged drive) is an incomplete walk: its photos must not be deleted.
    yield { kind: 'dir-error', path: root, root, reason: `cannot open the folder: ${fsReason(e)}` };
    yield { kind: 'root-done', root, complete: false };
    return;
  }
  if (!rootStat.isDirectory()) {
    yield { kind: 'dir-error', path: root, root, reason: 'not a folder' };
    yield { kind: 'root-done', root, complete: false };
    return;
  }
  let realRoot: string;
  try {
    realRoot = await fs.realpath(root);
  } catch (e) {
    yield { kind: 'dir-error', path: root, root, reason: `cannot open the folder: ${fsReason(e)}` };
    yield { kind: 'root-done', root, complete: false };
    return;
  }
  // Explicit stack: depth of recursion never depends on the folder tree.
  const stack: string[] = [root];
  while (stack.length > 0) {
    if (signal?.aborted) return;
    const dir = stack.pop()!;
    let real: string;
    try {
      real = await fs.realpath(dir);
    } catch (e) {
      complete = false;
      yield { kind: 'dir-error', path: dir, root, reason: fsReason(e, dir) };
      continue;
    }
    if (seenDirs.has(real)) continue; // symlink loop or second link to the same folder
    seenDirs.add(real);

    let handle;
    try {
      handle = await fs.opendir(dir, { bufferSize: 256 });
    } catch (e) {
      complete = false;
      yield { kind: 'dir-error', path: dir, root, reason: `cannot read the folder: ${fsReason(e, dir)}` };
      continue;
    }
    const subdirs: string[] = [];
    try {
      for await (const entry of handle) {
        if (signal?.aborted) return; // the handle closes when the loop exits
        if (entry.name.startsWith('.')) continue;
        const full = path.join(dir, entry.name);
        const ev = await classify(entry, full, root, realRoot);
        if (ev === 'dir') subdirs.push(full);
        else if (ev) yield ev;
      }
    } catch (e) {
      complete = false;
      yield { kind: 'dir-error', path: dir, root, reason: `cannot read the folder: ${fsReason(e)}` };
    }
    // Reverse so the stack pops sub-folders in directory order.
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
  }
  yield { kind: 'root-done', root, complete };
}

/** Why a link is not followed: it leads out of the library folder (served files must stay inside it). */
function outsideReason(target: string, root: string): string {
  return `links to ${target}, outside the library folder ${root}: not indexed (add that folder itself to index it)`;
}

async function classify(entry: Dirent, full: string, root: string, realRoot: string): Promise<WalkEvent | 'dir' | null> {
  if (entry.isDirectory()) return 'dir';
  const photo = isPhotoName(entry.name);
  if (entry.isFile()) {
    if (!photo) return null;
    try {
      return { kind: 'file', path: full, root, stat: await fs.stat(full) };
    } catch (e) {
      return { kind: 'skip', path: full, root, reason: fsReason(e, full) };
    }
  }
  if (entry.isSymbolicLink()) {
    let st: Stats;
    try {
      st = await fs.stat(full); // follows the link
    } catch (e) {
      if (!photo) return null;
      return { kind: 'skip', path: full, root, reason: hasReplacementChar(entry.name) ? fsReason(e, full) : `broken link: ${fsReason(e)}` };
    }
    if (!st.isDirectory() && !photo) return null;
    let target: string;
    try {
      target = await fs.realpath(full);
    } catch (e) {
      return { kind: 'skip', path: full, root, reason: `broken link: ${fsReason(e)}` };
    }
    if (!isPathInside(target, realRoot)) return { kind: 'skip', path: full, root, reason: outsideReason(target, root) };
    if (st.isDirectory()) return 'dir';
    if (st.isFile()) return { kind: 'file', path: full, root, stat: st };
    return { kind: 'skip', path: full, root, reason: 'not a regular file (device, FIFO or socket)' };
  }
  // FIFOs, sockets, devices: reading a FIFO would block forever.
  return photo ? { kind: 'skip', path: full, root, reason: 'not a regular file (device, FIFO or socket)' } : null;
}

/** Resolve roots and drop those inside another listed root (they would be walked twice). */
export function normalizeRoots(roots: readonly string[]): string[] {
  const resolved = [...new Set(roots.map((r) => path.resolve(r)))];
  return resolved.filter((r) => !resolved.some((o) => o !== r && (r.startsWith(o.endsWith(path.sep) ? o : o + path.sep))));
}
