/** Folder prefixes for SQL: every path under a folder, matched exactly (LIKE ignores ASCII case, so substr decides). */
import path from 'node:path';

/** Escape LIKE wildcards so a folder named `100%_done` matches only itself. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** `folder` + separator, the prefix every path under it starts with. */
export function folderPrefix(folder: string): string {
  return folder.endsWith(path.sep) ? folder : folder + path.sep;
}

export function isUnder(p: string, folder: string): boolean {
  return p === folder || p.startsWith(folderPrefix(folder));
}

/** The parameters of an `UNDER` clause (below) for one folder. */
export function underParams(folder: string) {
  const prefix = folderPrefix(folder);
  return { folder, prefix, n: prefix.length, pattern: `${escapeLike(prefix)}%` };
}

/** `path` is `@folder` or under it: LIKE narrows by prefix (wildcards escaped); substr makes it exact. */
export const UNDER = `(path = @folder OR (path LIKE @pattern ESCAPE '\\' AND substr(path, 1, @n) = @prefix))`;

export const now = () => new Date().toISOString();
