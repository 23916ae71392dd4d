/**
 * Thumbnail cache on disk: one 256 px (longest side) JPEG per distinct content, keyed by content hash, so
 * a moved or duplicated photo reuses its thumbnail. Made on first display (Backend.photoFile, behind the
 * HTTP route and the photo:// protocol), not while indexing: there a second decode per photo cost as much
 * CPU as the tower's own (docs/BENCHMARKS.md, "Indexing throughput"). Written atomically: temp + rename.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { thumbnailJpeg } from '../photos/decode';

export const THUMB_SIZE = 256;

export function thumbnailPath(dir: string, contentHash: string): string {
  if (!/^[0-9a-f]{8,}$/i.test(contentHash)) throw new Error(`Invalid content hash for a thumbnail: ${contentHash}`);
  // Two-character fan-out keeps folders small for 100k photos.
  return path.join(dir, contentHash.slice(0, 2), `${contentHash}.jpg`);
}

// Concurrent requests for the same thumbnail share one job.
const inFlight = new Map<string, Promise<string>>();

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** The thumbnail of `input` (bytes or a file) with content hash `contentHash`; made if missing. */
export function makeThumbnail(input: Buffer | string, contentHash: string, dir: string): Promise<string> {
  const target = thumbnailPath(dir, contentHash);
  const running = inFlight.get(target);
  if (running) return running;
  const job = (async () => {
    if (await exists(target)) return target;
    const jpeg = await thumbnailJpeg(input, THUMB_SIZE);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.writeFile(tmp, jpeg);
      await fs.rename(tmp, target);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
    return target;
  })().finally(() => inFlight.delete(target));
  inFlight.set(target, job);
  return job;
}

/** Path of a photo's thumbnail, made on demand from the original file. */
export function thumbnailFor(photo: { path: string; contentHash: string }, dir: string): Promise<string> {
  return makeThumbnail(photo.path, photo.contentHash, dir);
}

/** Delete thumbnails whose content hash no longer belongs to any photo; returns how many. */
export async function pruneThumbnails(dir: string, keep: (contentHash: string) => boolean): Promise<number> {
  let removed = 0;
  let fans: string[];
  try {
    fans = await fs.readdir(dir);
  } catch {
    return 0;
  }
  for (const fan of fans) {
    let names: string[];
    try {
      names = await fs.readdir(path.join(dir, fan));
    } catch {
      continue;
    }
    for (const name of names) {
      const hash = name.endsWith('.jpg') ? name.slice(0, -4) : null;
      if (hash && !keep(hash)) {
        await fs.rm(path.join(dir, fan, name), { force: true });
        removed++;
      }
    }
  }
  return removed;
}
