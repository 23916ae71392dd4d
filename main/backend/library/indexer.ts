/**
 * Index folders into the library, incrementally:
 *
 *   walk → stat → unchanged? (size + mtime, and embedded by this model) → skip
 *        → read bytes once → sha256 → header check (pixel limit, EXIF date; JS, no decode) → prepareImage
 *        → [batch] tower features (from the cache by content hash, else the image tower)
 *        → heads → ONE transaction per batch (photos + features + embeddings + cleared skips)
 *
 * Decoding runs ahead of inference (bounded queue), so sharp and onnxruntime work at the same time.
 * Thumbnails are not made here: they are made on first display (thumbnails.ts, LibraryService.photoFile), so
 * indexing spends its CPU on the one decode the tower needs (docs/BENCHMARKS.md, "Indexing throughput").
 * A bad file is recorded as skipped with a one-line reason and never stops the run. Photos gone from
 * disk leave the index only for roots whose walk completed. Cancel stops after the batch in flight;
 * committed batches stay (and a kill -9 loses at most that batch: WAL + one transaction per batch).
 * The stages (count, plan, decode, commit) are in index-run.ts.
 */
import type { IndexSummary } from '../../../shared/api';
import type { EmbeddingModel } from '../model/types';
import type { Store } from '../store';
import { retireStaleEmbeddings } from './embedding-provenance';
import { IndexRun, type IndexOptions, type IndexProgress } from './index-run';

export { DEFAULT_MAX_PIXELS, INDEX_CANCELLED, type IndexOptions, type IndexProgress } from './index-run';

export async function indexFolders(opts: IndexOptions): Promise<IndexSummary> {
  // Embeddings another version of this model made are dropped first: this run embeds those photos again.
  retireStaleEmbeddings(opts.store, opts.model);
  return new IndexRun(opts).run();
}

export interface ReembedResult {
  /** Photos embedded from cached tower features. */
  embedded: number;
  /** Photos without cached features for this model's image tower: they need a real re-index. */
  missing: number;
  missingPaths: string[];
}

/**
 * Embed photos that lack an embedding for `model.id` from their cached tower features (heads only, no
 * decode). Photos whose features are not cached are counted in `missing` for the caller to re-index.
 */
export async function reembedFromCache(opts: {
  store: Store;
  model: EmbeddingModel;
  signal?: AbortSignal;
  /** `done` counts photos looked at; `embedded`, those embedded so far (the others have no cached features). */
  onProgress?: (p: Pick<IndexProgress, 'stage' | 'done' | 'total' | 'etaSeconds'> & { embedded: number }) => void;
  batchSize?: number;
}): Promise<ReembedResult> {
  const { store, model } = opts;
  const batchSize = opts.batchSize ?? 256;
  retireStaleEmbeddings(store, model);
  const photos = store.photosMissingEmbedding(model.id);
  const result: ReembedResult = { embedded: 0, missing: 0, missingPaths: [] };
  const started = Date.now();
  for (let i = 0; i < photos.length; i += batchSize) {
    if (opts.signal?.aborted) break;
    const chunk = photos.slice(i, i + batchSize);
    const feats = store.getFeatures(model.photoFeatureKey, chunk.map((p) => p.contentHash));
    const have = chunk.filter((p) => feats.has(p.contentHash));
    for (const p of chunk) {
      if (feats.has(p.contentHash)) continue;
      result.missing++;
      result.missingPaths.push(p.path);
    }
    if (have.length > 0) {
      const vecs = await model.embedImageFeatures(have.map((p) => feats.get(p.contentHash)!.data));
      result.embedded += store.putEmbeddingsChecked(
        model.id,
        have.map((p, j) => ({ photoId: p.id, hash: p.contentHash, data: vecs[j] })),
      );
    }
    const done = Math.min(i + batchSize, photos.length);
    const elapsed = (Date.now() - started) / 1000;
    opts.onProgress?.({
      stage: 'Re-embedding photos',
      done,
      total: photos.length,
      etaSeconds: Math.round(((photos.length - done) * elapsed) / done),
      embedded: result.embedded,
    });
  }
  return result;
}
