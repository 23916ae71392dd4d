/**
 * Search filters over the `photos` table: folders, dates taken and file types. Each shape of filter is
 * prepared once; the last few answers are kept until the library changes (paging asks the same filter again).
 */
import type Database from 'better-sqlite3';
import path from 'node:path';
import type { PhotoType } from '../../../shared/api';
import { folderPrefix } from './paths';

/** File types a search can be limited to, and the extensions each covers. */
export const TYPE_EXTENSIONS: Readonly<Record<PhotoType, readonly string[]>> = {
  jpeg: ['.jpg', '.jpeg'],
  png: ['.png'],
  webp: ['.webp'],
  gif: ['.gif'],
  tiff: ['.tif', '.tiff'],
  avif: ['.avif'],
  heic: ['.heic', '.heif', '.hif'],
  // Camera RAW, read through the JPEG preview the camera embeds (photos/raw-preview.ts says which are covered).
  raw: ['.dng', '.cr2', '.cr3', '.crw', '.nef', '.nrw', '.arw', '.srf', '.sr2', '.orf', '.rw2', '.rwl', '.raf', '.pef', '.srw', '.3fr', '.erf', '.mef', '.mos', '.iiq', '.dcr', '.kdc', '.mrw', '.x3f'],
};

export interface PhotoFilter {
  /** Only photos under one of these folders. */
  folders?: readonly string[];
  /** Date taken (EXIF, else modified) on or after this local date prefix (`2024`, `2024-06`, `2024-06-01`). */
  after?: string;
  /** Date taken on or before this local date prefix. */
  before?: string;
  types?: readonly PhotoType[];
  /**
   * Taken at a place: folded names (places/fold.ts) that must all be among the photo's city, region, country and
   * country code (`["lisbon"]`, or `["lisbon", "pt"]` for "Lisbon, PT").
   */
  near?: readonly string[];
}

/** `2024` → `2025`, `2024-12` → `2025-01`, `2024-06-30` → `2024-07-01`: the first date after the period. */
export function nextPeriod(prefix: string): string {
  const [y, m, d] = prefix.split('-').map(Number) as [number, number | undefined, number | undefined];
  const pad = (n: number) => String(n).padStart(2, '0');
  if (m === undefined) return String(y + 1);
  if (d === undefined) return m === 12 ? `${y + 1}-01` : `${y}-${pad(m + 1)}`;
  const next = new Date(Date.UTC(y, m - 1, d + 1));
  return `${next.getUTCFullYear()}-${pad(next.getUTCMonth() + 1)}-${pad(next.getUTCDate())}`;
}

/** Local midnight at the start of a date prefix (`2024`, `2024-06`, `2024-06-30`), as epoch ms. */
function localStartMs(prefix: string): number {
  const [y, m, d] = prefix.split('-').map(Number) as [number, number | undefined, number | undefined];
  return new Date(y, (m ?? 1) - 1, d ?? 1).getTime();
}

/** The WHERE clause of a filter and its parameters; null when the filter admits everything. */
function filterSql(f: PhotoFilter): { sql: string; params: Record<string, string | number> } | null {
  const where: string[] = [];
  const params: Record<string, string | number> = {};
  if (f.folders?.length) {
    where.push(
      `(${f.folders
        .map((folder, i) => {
          // A range of the unique path index: every path that starts with the folder's prefix sorts
          // between the prefix and the prefix with its last character (the separator) raised by one.
          const abs = path.resolve(folder);
          const prefix = folderPrefix(abs);
          const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
          Object.assign(params, { [`f${i}`]: abs, [`lo${i}`]: prefix, [`hi${i}`]: end });
          return `(path = @f${i} OR (path >= @lo${i} AND path < @hi${i}))`;
        })
        .join(' OR ')})`,
    );
  }
  // The EXIF date is compared as text; the file time as a number against the bound's local midnight (no
  // per-row date formatting: a date filter stays an index-free scan of two columns).
  if (f.after) {
    where.push(`(taken_at >= @after OR (taken_at IS NULL AND mtime_ms >= @afterMs))`);
    params.after = f.after;
    params.afterMs = localStartMs(f.after);
  }
  if (f.before) {
    const next = nextPeriod(f.before);
    where.push(`(taken_at < @beforeNext OR (taken_at IS NULL AND mtime_ms < @beforeNextMs))`);
    params.beforeNext = next;
    params.beforeNextMs = localStartMs(next);
  }
  if (f.types?.length) {
    const exts = [...new Set(f.types.flatMap((t) => TYPE_EXTENSIONS[t]))];
    where.push(`(${exts.map((_, i) => `lower(path) LIKE @e${i}`).join(' OR ')})`);
    exts.forEach((e, i) => (params[`e${i}`] = `%${e}`));
  }
  if (f.near?.length) {
    where.push(`(${f.near.map((_, i) => `instr(place_key, @n${i}) > 0`).join(' AND ')})`);
    f.near.forEach((n, i) => (params[`n${i}`] = `|${n}|`));
  }
  if (where.length === 0) return null;
  return { sql: `SELECT id FROM photos WHERE ${where.join(' AND ')} ORDER BY id`, params };
}

export class PhotoFilterQueries {
  /** Filter queries, prepared once per shape (which filters, how many folders and types). */
  private readonly statements = new Map<string, Database.Statement>();
  /** The last few filters' admitted ids, keyed by the embedding change log's position. */
  private readonly results = new Map<string, Int32Array>();

  constructor(private readonly db: Database.Database) {}

  /**
   * Ids (ascending) of the photos a search filter admits, for the filtered top-K; null when the filter
   * admits everything. The date is the EXIF date taken, else the file's modification time, both as local
   * time `YYYY-MM-DDTHH:MM:SS`; `after` and `before` are inclusive prefixes of it (`2024`, `2024-06`,
   * `2024-06-30`: "before 2024-06-30" includes that day). `changeSeq` is the library's last change: the
   * answer holds until it moves.
   */
  idsMatching(f: PhotoFilter, changeSeq: number | string): Int32Array | null {
    const q = filterSql(f);
    if (!q) return null;
    const key = `${changeSeq}\0${q.sql}\0${JSON.stringify(q.params)}`;
    const cached = this.results.get(key);
    if (cached) return cached;
    let stmt = this.statements.get(q.sql);
    if (!stmt) {
      stmt = this.db.prepare(q.sql).pluck();
      this.statements.set(q.sql, stmt);
    }
    const ids = Int32Array.from(stmt.all(q.params) as number[]);
    if (this.results.size >= 8) this.results.delete(this.results.keys().next().value!);
    this.results.set(key, ids);
    return ids;
  }
}
