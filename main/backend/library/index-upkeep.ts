/**
 * The indexing run's work besides decoding new photos: counting the files first, closing a folder's walk (what
 * it no longer has is gone, unless the folder looks unmounted), the pixel hash of a photo indexed before pixel
 * hashes, and the dates and places of photos indexed before they were read. Each works on the store alone.
 */
import { promises as fsp } from 'node:fs';
import type { UnavailableFolder } from '../../../shared/api';
import { sha256 } from '../fs/hash';
import { MAX_PHOTO_BYTES, readRegularFileSync } from '../fs/safe-read';
import { recycleTensor } from '../model/preprocess';
import type { EmbeddingModel, ImagePreprocess } from '../model/types';
import { readImageInfo } from '../photos/decode';
import { pixelHashOfTensor } from '../photos/pixel-hash';
import { placeAt } from '../places/gazetteer';
import type { PhotoInput, Store } from '../store';
import { walkPhotos } from './walk';

export type PlaceOf = (gps: { lat: number; lon: number }) => Promise<PhotoInput['place']>;

/** GPS → place from the offline gazetteer; null where there is no place, or when its data cannot be read. */
export async function nearestPlace(gps: { lat: number; lon: number }): Promise<PhotoInput['place']> {
  try {
    const p = placeAt(gps.lat, gps.lon);
    return p && { city: p.city, region: p.region, country: p.country, key: p.key };
  } catch {
    return null; // the GPS position is still kept
  }
}

/** No visible entry (hidden files such as .DS_Store do not count: the walk ignores them too). */
async function isEmptyFolder(dir: string): Promise<boolean> {
  try {
    return (await fsp.readdir(dir)).every((n) => n.startsWith('.'));
  } catch {
    return false;
  }
}

/**
 * Stage 1, count: the walk alone is cheap next to decoding, and a bar whose total is "files found so far" sits
 * near full while most of the work is still ahead. `report` gets the count so far, at most every 200 ms.
 */
export async function countPhotoFiles(roots: string[], signal: AbortSignal, report: (found: number) => void): Promise<number> {
  let found = 0;
  let lastCount = 0;
  report(0);
  for await (const ev of walkPhotos(roots, signal)) {
    if (ev.kind === 'file' || ev.kind === 'skip') found++;
    const t = Date.now();
    if (t - lastCount >= 200) {
      lastCount = t;
      report(found);
    }
  }
  return found;
}

/**
 * The walk of a root finished: what it did not find (`present`) is gone, unreadable sub-folders excepted; returns
 * how many photos left. An unmounted drive leaves its mount point as an empty folder: a root that had photos and
 * is now empty is unavailable (added to `unavailable`), not emptied, so its photos stay until it is back.
 */
export async function closeRoot(store: Store, root: string, present: Set<string>, failedDirs: string[], unavailable: UnavailableFolder[]): Promise<number> {
  const kept = present.size === 0 ? store.countPhotosUnder(root) : 0;
  if (kept > 0 && (await isEmptyFolder(root))) {
    const reason = 'the folder is empty (an unmounted or unplugged drive?)';
    store.recordSkip({ path: root, root, size: null, mtimeMs: null, reason: `${reason}: its ${kept} photos are kept until it is back` });
    unavailable.push({ path: root, photos: kept, reason });
    return 0;
  }
  return store.markMissingUnder(root, present, failedDirs);
}

/**
 * An unchanged photo indexed before pixel hashes: decode it once more for the hash alone (no tower, no new
 * embedding). If it cannot be read now, it stays as it is (without the hash) and the next run tries again.
 */
export async function fillPixelHash(store: Store, model: EmbeddingModel, pre: ImagePreprocess, view: string, file: string): Promise<void> {
  try {
    const buf = readRegularFileSync(file, MAX_PHOTO_BYTES);
    const hash = sha256(buf);
    let pixels = store.pixelHashOfContent(hash, view);
    if (!pixels) {
      const prepared = await model.prepareImage(buf);
      pixels = pixelHashOfTensor(prepared.tensor, pre);
      recycleTensor(prepared.tensor);
    }
    store.setPixelHash(file, hash, { view, hash: pixels });
  } catch {
    // unreadable now: the next run tries again
  }
}

/**
 * Photos indexed by a version that did not read time-zone offsets and GPS (meta_version 0) get their header read
 * again (no decode, no tower), so an upgraded library finds its places without re-indexing. `onBatch` runs before
 * each batch of 64 (for progress); a cancel stops between photos.
 */
export async function refreshStaleMeta(store: Store, roots: string[], opts: { maxPixels: number; placeOf: PlaceOf; signal: AbortSignal; onBatch: () => void }): Promise<void> {
  for (const root of roots) {
    for (let rows = store.photosWithStaleMeta(root, 64); rows.length > 0; rows = store.photosWithStaleMeta(root, 64)) {
      opts.onBatch();
      for (const r of rows) {
        if (opts.signal.aborted) return;
        let meta: Pick<PhotoInput, 'takenAt' | 'takenOffset' | 'gps' | 'place'> = { takenAt: null, takenOffset: null, gps: null, place: null };
        try {
          const info = await readImageInfo(readRegularFileSync(r.path, MAX_PHOTO_BYTES), { limitInputPixels: opts.maxPixels });
          meta = { takenAt: info.takenAt, takenOffset: info.takenOffset, gps: info.gps, place: info.gps ? await opts.placeOf(info.gps) : null };
        } catch {
          // Unreadable now (gone, damaged): marked as read, with nothing found; its row is otherwise left alone.
        }
        store.setPhotoMeta(r.id, meta);
      }
    }
  }
}
