/**
 * Path checks for the photo:// protocol and the desktop actions, kept free of Electron so they are
 * unit-tested: a file is served only when its real path (symlinks resolved) lies inside the real path of
 * one of the allowed folders (the library folders and the thumbnail cache); see backend/fs/confine.ts.
 */
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

// The confinement check is the backend's, shared with browser mode and the indexer.
export { isPathInside, resolveAllowedFile } from '../backend';
