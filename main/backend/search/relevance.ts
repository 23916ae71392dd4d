/**
 * How good a match is, as a person can read it: a percentage instead of a raw cosine.
 *
 * A cosine means little on its own: its scale moves with the query (a long caption scores every photo higher than
 * "dog"). What does carry over is how far a photo stands out from the rest of the library for this query: its
 * z-score against the query's scores over an even spread of the library (up to SAMPLE photos). On the 1,000
 * Flickr8k dev photos with the built-in model, the photo a caption was written for stands out by z = 2.30 at the
 * median (quartiles 1.79 and 2.74, first caption of 300 photos), so
 *
 *   match = logistic((z − 2.30) / 0.435)   (the logistic through those quartiles)
 *
 * reads "as good a match as that share of the photos captions describe": 50% is the median described photo.
 * On the other 700 captions, 71% of the described photos score a match of at least GOOD_MATCH (25%) and a query has
 * a median of 40 photos of 1,000 above it (scripts/calibrate-match.ts; docs/BENCHMARKS.md). The fronts draw a "weaker matches" line there.
 *
 * Image-only queries (more like this, a dropped image) score photos on another scale, so they get no percentage.
 */
import type { Store } from '../store';

/** How many photos the library's spread of scores is read from. */
const SAMPLE = 512;
/** Fewer photos than this say too little about the library's spread. */
const MIN_SAMPLE = 8;
const CENTER = 2.3;
const SCALE = 0.435;

export interface LibrarySpread {
  mean: number;
  sd: number;
}

const cache = new WeakMap<Store, { modelId: string; change: number; vectors: Float32Array[] }>();

/** The library's even sample for this model (up to SAMPLE photos), read once per change of its embeddings. */
export function librarySample(store: Store, modelId: string): Float32Array[] {
  const change = store.lastEmbeddingChange();
  const hit = cache.get(store);
  if (hit && hit.modelId === modelId && hit.change === change) return hit.vectors;
  const vectors = store.embeddingsSpread(modelId, SAMPLE);
  cache.set(store, { modelId, change, vectors });
  return vectors;
}

/** The query's scores over the library's sample: their mean and spread, or null when the library is too small. */
export function librarySpread(store: Store, modelId: string, query: Float32Array): LibrarySpread | null {
  const vectors = librarySample(store, modelId);
  if (vectors.length < MIN_SAMPLE) return null;
  let sum = 0;
  let sq = 0;
  for (const v of vectors) {
    let s = 0;
    for (let j = 0; j < query.length; j++) s += query[j]! * v[j]!;
    sum += s;
    sq += s * s;
  }
  const mean = sum / vectors.length;
  const sd = Math.sqrt(Math.max(0, sq / vectors.length - mean * mean));
  return sd > 1e-6 ? { mean, sd } : null;
}

/** A cosine as a match percentage (0–100, whole numbers) against the library's spread for the query. */
export function matchPercent(score: number, spread: LibrarySpread): number {
  const z = (score - spread.mean) / spread.sd;
  return Math.round(100 / (1 + Math.exp(-(z - CENTER) / SCALE)));
}
