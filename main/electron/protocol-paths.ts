/**
 * Path checks for the photo:// protocol and the desktop actions, kept free of Electron so they are
 * unit-tested: a file is served only when its real path (symlinks resolved) lies inside the real path of
 * one of the allowed folders (the library folders and the thumbnail cache).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export type PhotoSize = 'thumb' | 'full';

/** `photo://thumb/42` or `photo://full/42` → { size, id }; anything else → null. */
export function parsePhotoUrl(url: string): { size: PhotoSize; id: number } | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'photo:') return null;
  if (u.host !== 'thumb' && u.host !== 'full') return null;
  const m = /^\/(\d{1,12})\/?$/.exec(u.pathname);
  if (!m || u.search || u.hash) return null;
  return { size: u.host, id: Number(m[1]) };
}

/**
 * Lexical containment: `child` equals `parent` or lies below it. Compares whole segments, so
 * `/photos-evil/x` is not inside `/photos`. Both must be absolute; no file-system access.
 */
export function isPathInside(child: string, parent: string, p: typeof path.posix = path): boolean {
  if (!p.isAbsolute(child) || !p.isAbsolute(parent)) return false;
  const rel = p.relative(p.resolve(parent), p.resolve(child));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${p.sep}`) && !p.isAbsolute(rel));
}

/**
 * The real path of `file` when it is a regular file inside one of `roots` (after resolving symlinks on both
 * sides, so a link inside a library folder pointing elsewhere is refused); otherwise null.
 */
export async function resolveAllowedFile(file: string, roots: readonly string[]): Promise<string | null> {
  if (!file || file.includes('\0') || !path.isAbsolute(file)) return null;
  let real: string;
  try {
    real = await fs.realpath(file);
    const st = await fs.stat(real);
    if (!st.isFile()) return null;
  } catch {
    return null;
  }
  for (const root of roots) {
    if (!root || !path.isAbsolute(root)) continue;
    let realRoot: string;
    try {
      realRoot = await fs.realpath(root);
    } catch {
      continue;
    }
    if (isPathInside(real, realRoot)) return real;
  }
  return null;
}
