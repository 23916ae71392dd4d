/**
 * Library-root confinement, the one check every front uses (browser mode's photo route, the desktop
 * photo:// protocol and its open/show actions, and the indexer's walk): a file counts only when its real
 * path (symlinks resolved) lies inside the real path of an allowed folder. Plain Node, no Electron.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Lexical containment: `child` equals `parent` or lies below it. Compares whole segments, so
 * `/photos-evil/x` is not inside `/photos`. Both must be absolute; no file-system access.
 */
export function isPathInside(child: string, parent: string, p: typeof path.posix = path): boolean {
  if (!p.isAbsolute(child) || !p.isAbsolute(parent)) return false;
  const rel = p.relative(p.resolve(parent), p.resolve(child));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${p.sep}`) && !p.isAbsolute(rel));
}

/** The real path of each root that exists (missing or relative roots are left out). */
export async function realRoots(roots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const root of roots) {
    if (!root || !path.isAbsolute(root)) continue;
    try {
      out.push(await fs.realpath(root));
    } catch {
      // an unplugged drive: nothing inside it can be served
    }
  }
  return out;
}

/**
 * The real path of `file` when it is a regular file inside one of `roots` (after resolving symlinks on both
 * sides, so a link inside a library folder pointing elsewhere is refused); otherwise null.
 */
export async function resolveAllowedFile(file: string, roots: readonly string[]): Promise<string | null> {
  return resolveInside(file, await realRoots(roots));
}

/**
 * `resolveAllowedFile` for library folders, which are recorded by their real path when added: a folder whose
 * real path is no longer that one (it, or a folder above it, was replaced by a link to another folder after
 * indexing) is not followed, so a file at an indexed name there is refused.
 */
export async function resolveLibraryFile(file: string, roots: readonly string[]): Promise<string | null> {
  const unchanged: string[] = [];
  for (const root of roots) {
    if (!root || !path.isAbsolute(root)) continue;
    const real = await fs.realpath(root).catch(() => null);
    // Windows paths compare without case (the drive letter's case can differ between the two resolutions).
    const same = real !== null && (process.platform === 'win32' ? real.toLowerCase() === path.resolve(root).toLowerCase() : real === path.resolve(root));
    if (same) unchanged.push(real);
  }
  return resolveInside(file, unchanged);
}

async function resolveInside(file: string, realRootList: readonly string[]): Promise<string | null> {
  if (!file || file.includes('\0') || !path.isAbsolute(file)) return null;
  let real: string;
  try {
    real = await fs.realpath(file);
    const st = await fs.stat(real);
    if (!st.isFile()) return null;
  } catch {
    return null;
  }
  for (const root of realRootList) {
    if (isPathInside(real, root)) return real;
  }
  return null;
}
