/**
 * Which heads and which photo features made a model's stored embeddings. A model keeps its id across app versions
 * (the built-in one is always "builtin"), but a new version may ship other heads or see photos another way (its
 * views); embeddings made before are then in another space than its queries, and search would mix the two. So
 * every run that embeds photos for a model (indexing, re-embedding on a switch) first compares the record with the
 * model as loaded: when they differ, or when there is no record (a library written before records were kept), the
 * model's embeddings are dropped in one transaction and the run embeds every photo again — from cached features
 * when the features are the same, else from the file.
 */
import { sha256 } from '../fs/hash';
import { headsDigest } from '../model/query-bank';
import type { EmbeddingModel } from '../model/types';
import type { Store } from '../store';

const settingOf = (modelId: string) => `embeddingsMadeBy:${modelId}`;

/** Provenance per loaded heads (the digest reads every weight: tens of ms for the built-in heads). */
const known = new WeakMap<object, Map<string, string>>();

/** What makes a model's embeddings what they are: the photo features it embeds and its heads. */
export function embeddingProvenance(model: Pick<EmbeddingModel, 'photoFeatureKey' | 'heads'>): string {
  let byKey = known.get(model.heads);
  if (!byKey) known.set(model.heads, (byKey = new Map()));
  let p = byKey.get(model.photoFeatureKey);
  if (!p) byKey.set(model.photoFeatureKey, (p = sha256(JSON.stringify([model.photoFeatureKey, headsDigest(model.heads)])).slice(0, 16)));
  return p;
}

/**
 * How many of the model's stored embeddings another version of it made (0 when the record matches, or when it
 * has none): a library written by an earlier version of the app, whose next index run embeds them again.
 */
export function outdatedEmbeddings(store: Store, model: Pick<EmbeddingModel, 'id' | 'photoFeatureKey' | 'heads'>): number {
  if (store.getSetting(settingOf(model.id)) === embeddingProvenance(model)) return 0;
  return store.countEmbeddings(model.id);
}

/**
 * Drop the model's embeddings when another version of it made them, and record this one: returns how many were
 * dropped (0 when the record matches or the model has none).
 */
export function retireStaleEmbeddings(store: Store, model: Pick<EmbeddingModel, 'id' | 'photoFeatureKey' | 'heads'>): number {
  const now = embeddingProvenance(model);
  const key = settingOf(model.id);
  if (store.getSetting(key) === now) return 0;
  return store.transaction(() => {
    if (store.getSetting(key) === now) return 0; // another process got here first
    const dropped = store.deleteEmbeddingsOfModel(model.id);
    store.setSetting(key, now);
    return dropped;
  });
}
