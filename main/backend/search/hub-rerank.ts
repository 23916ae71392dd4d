/**
 * Text queries rank photos with the model's hubness correction (model/query-bank.ts): the index finds the photos
 * nearest by cosine, a few more than asked for, and those are re-ranked by cos − λ · hub. The correction is small
 * beside the gap between a query's best photos and the rest, so the photos it lifts are among the extra ones.
 *
 * A photo's hub depends only on its embedding and the model, so it is computed once per photo and kept until the
 * library's embeddings change. Scores stay on the cosine's scale: each is shifted by λ times the photo's hub less
 * the mean hub of the photos scored, so a match percentage or a minimum score means what it meant.
 */
import { correctedScore, hubOf, type QueryBank } from '../model/query-bank';
import type { Store } from '../store';
import type { Hit } from './topk';

/** Extra candidates for the re-rank: at least this many, and at least as many again as asked for. */
const EXTRA = 48;
/** Hubs kept per library (a photo's is 4 bytes plus the map's own); past this the cache starts over. */
const MAX_CACHED = 500_000;

const cache = new WeakMap<Store, { modelId: string; change: number; hubs: Map<number, number> }>();

/** How many candidates a search of `k` results should fetch when it will be re-ranked. */
export function candidatesFor(k: number): number {
  return k + Math.max(EXTRA, k);
}

function hubsOf(store: Store, modelId: string, bank: QueryBank, ids: readonly number[]): Map<number, number> {
  const change = store.lastEmbeddingChange();
  let entry = cache.get(store);
  if (!entry || entry.modelId !== modelId || entry.change !== change || entry.hubs.size > MAX_CACHED) {
    entry = { modelId, change, hubs: new Map() };
    cache.set(store, entry);
  }
  const missing = ids.filter((id) => !entry.hubs.has(id));
  if (missing.length) for (const [id, v] of store.embeddingsFor(missing, modelId)) entry.hubs.set(id, hubOf(bank, v));
  return entry.hubs;
}

/** The hits re-ranked by the corrected score, best first (photos without a stored embedding keep their cosine). */
export function rerankByHubs(store: Store, modelId: string, bank: QueryBank, hits: readonly Hit[]): Hit[] {
  if (hits.length === 0) return [];
  const hubs = hubsOf(store, modelId, bank, hits.map((h) => h.id));
  const known = hits.map((h) => hubs.get(h.id)).filter((x): x is number => x !== undefined);
  const mean = known.length ? known.reduce((a, x) => a + x, 0) / known.length : 0;
  return hits
    .map((h) => {
      const hub = hubs.get(h.id);
      return hub === undefined ? h : { ...h, score: correctedScore(bank, h.score, hub - mean) };
    })
    .sort((a, b) => b.score - a.score || a.id - b.id);
}
