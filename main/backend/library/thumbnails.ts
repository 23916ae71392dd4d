/**
 * Thumbnail cache on disk: one 256 px (longest side) JPEG per distinct content, keyed by content hash, so
 * a moved or duplicated photo reuses its thumbnail. Made on first display (Backend.photoFile, behind the
 * HTTP route and the photo:// protocol), not while indexing: there a second decode per photo cost as much
 * CPU as the tower's own (docs/BENCHMARKS.md, "Indexing throughput"). Written atomically: temp + rename.
 * Made from the shrink-on-load decode with EXIF rotation (photos/decode.ts: ~45 core-ms for a 12 MP JPEG).
 *
 * The cache has a size limit: when it grows past it, the least recently shown thumbnails go first (a hit
 * refreshes the file's mtime, at most once a day) until it is back under 90% of the limit; a pruned
 * thumbnail is simply made again on its next display.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathExists } from '../fs/exists';
import { thumbnailJpeg } from '../photos/decode';

export const THUMB_SIZE = 256;
/**
 * Photos a browser cannot show (HEIC, camera RAW, TIFF) are shown in full as a JPEG of this many px on the longer
 * side, made on first view and cached beside the thumbnails (same pruning, same limit).
 */
export const VIEW_SIZE = 2048;
export type Rendition = 'thumb' | 'view';
/** Default cache limit: ~60,000 thumbnails of a typical ~15 KB. */
export const DEFAULT_THUMBNAIL_CACHE_BYTES = 1024 ** 3;
/** After a prune the cache is this fraction of the limit, so one new thumbnail does not trigger the next. */
const PRUNE_TO = 0.9;
/** A hit refreshes the thumbnail's mtime (its place in the pruning order) at most this often. */
const TOUCH_EVERY_MS = 24 * 3600 * 1000;

export function thumbnailPath(dir: string, contentHash: string, kind: Rendition = 'thumb'): string {
  if (!/^[0-9a-f]{8,}$/i.test(contentHash)) throw new Error(`Invalid content hash for a thumbnail: ${contentHash}`);
  // Two-character fan-out keeps folders small for 100k photos.
  return path.join(dir, contentHash.slice(0, 2), kind === 'thumb' ? `${contentHash}.jpg` : `${contentHash}.view.jpg`);
}

// Concurrent requests for the same thumbnail share one job.
const inFlight = new Map<string, Promise<string>>();

/** The thumbnail (or the full view) of `input` (bytes or a file) with content hash `contentHash`; made if missing. */
export function makeThumbnail(input: Buffer | string, contentHash: string, dir: string, maxBytes = DEFAULT_THUMBNAIL_CACHE_BYTES, kind: Rendition = 'thumb'): Promise<string> {
  const target = thumbnailPath(dir, contentHash, kind);
  const running = inFlight.get(target);
  if (running) return running;
  const job = (async () => {
    if (await pathExists(target)) return target;
    const jpeg = kind === 'thumb' ? await thumbnailJpeg(input, THUMB_SIZE) : await thumbnailJpeg(input, VIEW_SIZE, { quality: 85 });
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.writeFile(tmp, jpeg);
      await fs.rename(tmp, target);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
    await account(dir, target, jpeg.length, maxBytes);
    return target;
  })().finally(() => inFlight.delete(target));
  inFlight.set(target, job);
  return job;
}

/** Path of a photo's thumbnail (or full view), made on demand from the original file. */
export function thumbnailFor(photo: { path: string; contentHash: string }, dir: string, maxBytes = DEFAULT_THUMBNAIL_CACHE_BYTES, kind: Rendition = 'thumb'): Promise<string> {
  return makeThumbnail(photo.path, photo.contentHash, dir, maxBytes, kind);
}

/** A cached thumbnail was shown: move it to the back of the pruning order (at most once a day). */
export async function touchThumbnail(file: string): Promise<void> {
  try {
    const st = await fs.stat(file);
    const now = Date.now();
    if (now - st.mtimeMs > TOUCH_EVERY_MS) await fs.utimes(file, now / 1000, now / 1000);
  } catch {
    // gone or read-only: it is only the pruning order
  }
}

/** Bytes in each cache folder as far as this process knows (null until the first scan). */
const usage = new Map<string, { bytes: number | null; pruning: Promise<void> | null }>();

async function account(dir: string, made: string, added: number, maxBytes: number): Promise<void> {
  let u = usage.get(dir);
  if (!u) usage.set(dir, (u = { bytes: null, pruning: null }));
  if (u.bytes !== null) u.bytes += added;
  if (u.bytes !== null && u.bytes <= maxBytes) return;
  // First thumbnail of this run (one scan of the cache) or over the limit: concurrent makes share one pass.
  const state = u;
  state.pruning ??= limitThumbnails(dir, maxBytes, made)
    .then((left) => {
      state.bytes = left;
    })
    .finally(() => {
      state.pruning = null;
    });
  await state.pruning;
}

interface CachedFile {
  file: string;
  bytes: number;
  mtimeMs: number;
}

async function listThumbnails(dir: string): Promise<CachedFile[]> {
  const out: CachedFile[] = [];
  let fans: string[];
  try {
    fans = await fs.readdir(dir);
  } catch {
    return out;
  }
  for (const fan of fans) {
    let names: string[];
    try {
      names = await fs.readdir(path.join(dir, fan));
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.endsWith('.jpg')) continue;
      const file = path.join(dir, fan, name);
      const st = await fs.stat(file).catch(() => null);
      if (st?.isFile()) out.push({ file, bytes: st.size, mtimeMs: st.mtimeMs });
    }
  }
  return out;
}

/**
 * Keep the cache within `maxBytes`: when over it, delete the least recently made or shown thumbnails until
 * it is under 90% of it; `keep` (the thumbnail just made, about to be shown) stays. Returns the bytes left.
 */
export async function limitThumbnails(dir: string, maxBytes: number, keep?: string): Promise<number> {
  const files = await listThumbnails(dir);
  let total = files.reduce((s, f) => s + f.bytes, 0);
  if (total <= maxBytes) return total;
  files.sort((a, b) => a.mtimeMs - b.mtimeMs);
  const target = maxBytes * PRUNE_TO;
  for (const f of files) {
    if (total <= target) break;
    if (f.file === keep) continue;
    await fs.rm(f.file, { force: true });
    total -= f.bytes;
  }
  const u = usage.get(dir);
  if (u) u.bytes = total;
  return total;
}

/** Delete thumbnails whose content hash no longer belongs to any photo; returns how many. */
export async function pruneThumbnails(dir: string, keep: (contentHash: string) => boolean): Promise<number> {
  let removed = 0;
  for (const f of await listThumbnails(dir)) {
    // "HASH.jpg" (thumbnail) or "HASH.view.jpg" (full view).
    if (!keep(path.basename(f.file).split('.')[0])) {
      await fs.rm(f.file, { force: true });
      removed++;
    }
  }
  return removed;
}
