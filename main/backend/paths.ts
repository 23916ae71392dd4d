/**
 * Where Photo Search keeps its state: `--data DIR`, else `PHOTO_SEARCH_DATA`, else the per-OS app data
 * folder (the same place the desktop app uses, so the CLI and the app share one library).
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from './errors';

export const APP_FOLDER = 'photo-search';
export const ENV_DATA = 'PHOTO_SEARCH_DATA';

export interface DataPaths {
  root: string;
  db: string;
  thumbnails: string;
  models: string;
  /** The search index's sidecar files (derived from the database, rebuilt when missing). */
  searchIndex: string;
}

/** The per-OS app data folder, without creating it. */
export function defaultDataDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = os.homedir(),
): string {
  // Use the matching path flavour so a Windows layout computed in a test on Linux still reads right.
  const p = platform === 'win32' ? path.win32 : path.posix;
  if (platform === 'win32') return p.join(env.APPDATA || p.join(home, 'AppData', 'Roaming'), APP_FOLDER);
  if (platform === 'darwin') return p.join(home, 'Library', 'Application Support', APP_FOLDER);
  return p.join(env.XDG_CONFIG_HOME || p.join(home, '.config'), APP_FOLDER);
}

/** Resolve the data directory: explicit option, then the environment variable, then the OS default. */
export function resolveDataDir(explicit?: string | null, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit && explicit.trim()) return path.resolve(explicit);
  const fromEnv = env[ENV_DATA];
  if (fromEnv && fromEnv.trim()) return path.resolve(fromEnv);
  return defaultDataDir(process.platform, env);
}

/** The layout inside a data directory. */
export function dataPaths(dataDir: string): DataPaths {
  const root = path.resolve(dataDir);
  return {
    root,
    db: path.join(root, 'library.db'),
    thumbnails: path.join(root, 'thumbnails'),
    models: path.join(root, 'models'),
    searchIndex: path.join(root, 'search-index'),
  };
}

/** Resolve and create the data directory and its sub-folders. */
export function ensureDataDir(dataDir: string): DataPaths {
  const p = dataPaths(dataDir);
  for (const dir of [p.root, p.thumbnails, p.models]) mkdirSync(dir, { recursive: true });
  return p;
}

/** `~` and `~/…` typed by a user, expanded to the home folder (no shell does it for the app or the API). */
export function expandHome(p: string, home: string = os.homedir()): string {
  const t = p.trim();
  if (t === '~') return home;
  if (t.startsWith('~/') || t.startsWith(`~${path.sep}`)) return path.join(home, t.slice(2));
  return t;
}

/**
 * A path typed by a user into the app: `~` expanded; a relative path is refused (relative to what? the
 * server's working folder means nothing to the person typing).
 */
export function userPath(p: string, what: string): string {
  const expanded = expandHome(p);
  if (!path.isAbsolute(expanded)) {
    throw new AppError('invalid_input', `"${p}" is a relative path. Give the full path of the ${what}, for example ${path.join(os.homedir(), 'Pictures')}.`);
  }
  return path.normalize(expanded);
}

/** An import source: hf:OWNER/NAME as is, else a user path. */
export function userSource(s: string): string {
  return /^hf:/.test(s.trim()) ? s.trim() : userPath(s, 'model folder');
}
