/**
 * Writes that span tables, each in one transaction: a batch of indexed photos, a skipped file, and the rows
 * a folder leaves behind when it is removed, merged into an enclosing folder or re-scanned.
 */
import path from 'node:path';
import type { Db } from './context';
import type { EmbeddingQueries } from './embeddings';
import type { FeatureQueries } from './features';
import { isUnder } from './paths';
import type { PhotoInput, PhotoQueries } from './photos';
import type { RootQueries } from './roots';
import type { SkipInput, SkippedQueries } from './skipped';

/** One photo's worth of a batch: the row, optionally fresh tower features to cache, and its embedding. */
export interface BatchItem {
  photo: PhotoInput;
  features?: { towerKey: string; data: Float32Array };
  embedding: { modelId: string; data: Float32Array };
}

export interface Tables {
  c: Db;
  roots: RootQueries;
  photos: PhotoQueries;
  embeddings: EmbeddingQueries;
  features: FeatureQueries;
  skipped: SkippedQueries;
}

/**
 * Insert or update a photo row; returns its id. New content drops the embeddings of every model
 * (they describe the old pixels). Call inside a transaction together with the new embedding.
 */
export function upsertPhoto(t: Tables, photo: PhotoInput): number {
  const old = t.photos.hashByPath(photo.path);
  if (old && old.contentHash !== photo.contentHash) t.embeddings.deleteOfPhoto(old.id);
  return t.photos.upsert(photo);
}

/** Write a whole batch (photos, fresh features, embeddings, cleared skips) in ONE transaction. */
export function writeBatch(t: Tables, items: readonly BatchItem[]): number[] {
  return t.c.transaction(() =>
    items.map((item) => {
      const id = upsertPhoto(t, item.photo);
      if (item.features) t.features.put(item.features.towerKey, item.photo.contentHash, item.features.data, item.features.data.length, 1);
      t.embeddings.put(id, item.embedding.modelId, item.embedding.data);
      t.skipped.clear(item.photo.path);
      return id;
    }),
  );
}

/** Log a file that could not be indexed; a photo row for that path (old content) leaves the index. */
export function recordSkip(t: Tables, skip: SkipInput): void {
  t.c.transaction(() => {
    t.photos.deleteByPath(skip.path);
    t.skipped.record(skip);
  });
}

/**
 * Forget a folder and every photo (with its embeddings) and skip record under it, except what another
 * remaining root still covers, plus what derives from the removed photos: their cached tower features when
 * no remaining photo has the same content. Returns the removed count and the content hashes no photo uses
 * any more (the caller deletes their thumbnails, which live outside the database).
 */
export function removeRootAndDerived(t: Tables, folder: string): { removed: number; orphanHashes: string[] } {
  const root = path.resolve(folder);
  return t.c.transaction(() => {
    t.roots.delete(root);
    t.roots.clearIncomplete([root]);
    const others = t.roots.list();
    if (others.some((o) => isUnder(root, o))) return { removed: 0, orphanHashes: [] }; // an enclosing root still holds these photos
    const keep = (p: string) => others.some((o) => isUnder(p, o));
    let removed = 0;
    const hashes = new Set<string>();
    for (const { id, path: p, content_hash } of t.photos.under(root)) {
      if (keep(p)) continue;
      removed += t.photos.deleteById(id);
      hashes.add(content_hash);
    }
    for (const p of t.skipped.under(root)) if (!keep(p)) t.skipped.clear(p);
    const orphanHashes = [...hashes].filter((h) => !t.photos.hasContent(h));
    for (const h of orphanHashes) t.features.deleteOfHash(h);
    return { removed, orphanHashes };
  });
}

/** Photos (and skip records) of `from` now belong to the enclosing root `to` (a containing folder was added). */
export function mergeRootInto(t: Tables, from: string, to: string): void {
  t.c.transaction(() => {
    t.photos.reroot(from, to);
    t.skipped.reroot(from, to);
    t.roots.delete(from);
    t.roots.clearIncomplete([from]);
  });
}

/** Photos under `folder` whose paths are not in `present` leave the index; returns their count. */
export function markMissingUnder(t: Tables, folder: string, present: ReadonlySet<string>, keepUnder: readonly string[]): number {
  const root = path.resolve(folder);
  return t.c.transaction(() => {
    let removed = 0;
    const keep = (p: string) => present.has(p) || keepUnder.some((k) => isUnder(p, k));
    for (const { id, path: p } of t.photos.under(root)) if (!keep(p)) removed += t.photos.deleteById(id);
    for (const p of t.skipped.under(root)) if (!keep(p)) t.skipped.clear(p);
    return removed;
  });
}

/**
 * Store embeddings computed from a photo's content `hash`; rows whose photo changed or left meanwhile
 * are dropped. Returns how many were written.
 */
export function putEmbeddingsChecked(t: Tables, modelId: string, rows: readonly { photoId: number; hash: string; data: Float32Array }[]): number {
  return t.c.transaction(() => {
    let n = 0;
    for (const r of rows) n += t.embeddings.putIfHash(modelId, r.photoId, r.hash, r.data);
    return n;
  });
}
