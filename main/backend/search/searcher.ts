/**
 * One search, whatever asked for it (the search box, the CLI, "more like this", a dropped image): the query
 * algebra of shared/query.ts turned into one vector, then a filtered top-K over the library, paged and sorted.
 *
 * - Each part is embedded by the active model: text by the text tower, an image file by the image tower
 *   (a file the library holds reuses its stored embedding), `photo:ID` from the store. The query vector is
 *   the normalized weighted sum of the normalized parts (combineVectors).
 * - Filters (folders, date taken, file type) are evaluated by the store into the set of admitted ids; the
 *   top-K is then taken among those ids only: a small set is scored directly (its rows only), a large one by asking the
 *   index for more candidates until enough admitted ones are found (or every row was seen), so a filter
 *   never returns fewer results than asked for while more exist.
 * - Photos the query is made of are not results of it (a photo is not its own neighbour).
 * - `sort: 'date' | 'path'` orders the `offset + top` most relevant photos by date taken (newest first) or
 *   path, then pages; `minScore` drops photos below that cosine similarity, `minMatch` below that match
 *   percentage (relevance.ts: how far a photo stands out from the library for a query with text).
 */
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { PhotoType, SearchHit, SearchSort } from '../../../shared/api';
import { combineVectors, parseQuery, searchWords, type QueryPart } from '../../../shared/query';
import { AppError } from '../errors';
import type { EmbeddingModel } from '../model/types';
import { expandHome } from '../paths';
import { placeLabel, placeParts } from '../places/fold';
import { isSoundEmbedding, type PhotoFilter, type Store } from '../store';
import { hubCorrectedTopK } from './hub-rerank';
import { intersectIds, liftByWords, rankingWords, wordsFilter, wordsParts } from './photo-words';
import { queryText } from './query-text';
import { librarySpread, matchPercent } from './relevance';
import type { Hit } from './topk';

export const NO_KNOWN_WORDS = 'No words in this query are known to the model.';

/**
 * Admitted sets up to this share of the library are scored directly (their int8 rows only, then the exact
 * re-rank); larger ones by widening the index's candidates, which then costs about one unfiltered search.
 */
const DIRECT_SHARE = 1 / 4;

export interface SearchIndex {
  readonly size: number;
  search(query: Float32Array, k: number): Promise<Hit[]>;
  searchAmong(query: Float32Array, ids: ArrayLike<number>, k: number): Promise<Hit[]>;
}

export interface SearchDeps {
  store: Store;
  modelId: string;
  model: EmbeddingModel;
  index: SearchIndex;
}

export interface SearchRequest {
  /** Query algebra (text, weights, image paths, `photo:ID`). */
  query?: string;
  /** Library photos to search like (added to the query with weight 1). */
  likeIds?: readonly number[];
  /** Image files to search like (library photos or any image). */
  likeFiles?: readonly string[];
  /** An image's bytes (dropped or pasted in the UI). */
  image?: Buffer;
  top?: number;
  offset?: number;
  folders?: readonly string[];
  after?: string;
  before?: string;
  types?: readonly PhotoType[];
  /** A place (city, region or country; "Lisbon, Portugal"). */
  near?: string;
  minScore?: number;
  minMatch?: number;
  sort?: SearchSort;
}

/** The query's parts, as the request gives them (parse errors are one-line AppErrors). */
export function requestParts(req: SearchRequest): QueryPart[] {
  const parts: QueryPart[] = [];
  if (req.query?.trim()) {
    const parsed = parseQuery(req.query);
    if (!parsed.ok) throw new AppError('invalid_input', parsed.message);
    parts.push(...parsed.parts);
  }
  for (const id of req.likeIds ?? []) parts.push({ kind: 'photo', id, weight: 1 });
  for (const file of req.likeFiles ?? []) parts.push({ kind: 'image', path: file, weight: 1 });
  if (parts.length === 0 && !req.image) throw new AppError('invalid_input', 'Type something to search for.');
  return parts;
}

/** The folded parts of a place to filter by; a place no photo was taken at is refused in one line. */
function knownPlace(store: Store, near: string): string[] {
  const parts = placeParts(near);
  if (parts.length === 0) throw new AppError('invalid_input', 'Give a place to search near: a city, region or country ("Lisbon", "Lisbon, Portugal").');
  const unknown = parts.find((p) => !store.placeKnown(p));
  if (unknown !== undefined) {
    throw new AppError(
      'not_found',
      `No photo in the library was taken in or near "${near}". A photo has a place when its EXIF has a GPS position; places are cities, regions and countries ("Lisbon", "Lisbon, Portugal").`,
    );
  }
  return parts;
}

/** Run one search; `parts` are the request's parts when the caller has read them already. */
export async function runSearch(deps: SearchDeps, req: SearchRequest, parts: readonly QueryPart[] = requestParts(req)): Promise<SearchHit[]> {
  const { store } = deps;
  parts = await writtenWordsOnly(deps, parts);
  const top = req.top ?? 20;
  const offset = req.offset ?? 0;
  const need = offset + top;
  const folders = req.folders?.length ? libraryFolders(store, req.folders) : undefined;
  const filter: PhotoFilter = { folders, after: req.after, before: req.before, types: req.types, near: req.near ? knownPlace(store, req.near) : undefined };
  const byFilter = store.photoIdsMatching(filter);
  const written = wordsFilter(store, wordsParts(parts));
  const ranked = parts.filter((p) => p.kind !== 'words');
  if (ranked.length === 0 && !req.image) {
    // `text:` alone: the photos whose text has the words, best text match first (score 1: an exact match).
    const keep = byFilter ? new Set(byFilter) : null;
    let hits: Hit[] = written.ranked.filter((id) => !keep || keep.has(id)).slice(0, need).map((id) => ({ id, score: 1 }));
    if (req.sort === 'date' || req.sort === 'path') hits = store.photoIdsSorted(hits.map((h) => h.id), req.sort).map((id) => ({ id, score: 1 }));
    return toSearchHits(store, hits.slice(offset, need));
  }
  const { vector, exclude } = await queryVector(deps, ranked, req.image ?? null);
  for (const id of written.excluded) exclude.add(id);
  const admitted = intersectIds(byFilter, written.admitted);
  // Text queries are re-ranked with the model's hubness correction (hub-rerank.ts), from a few more candidates.
  const bank = parts.some((p) => p.kind === 'text' && p.weight > 0) ? await deps.model.queryBank() : null;
  const k = need + exclude.size;
  let hits = bank ? await hubCorrectedTopK(store, deps.modelId, bank, k, (n) => filteredTopK(deps, vector, n, admitted)) : await filteredTopK(deps, vector, k, admitted);
  // Text in the query: each hit's match percentage against the library's spread of scores (see relevance.ts).
  const spread = parts.some((p) => p.kind === 'text') ? librarySpread(store, deps.modelId, vector) : null;
  hits = liftByWords({ store, modelId: deps.modelId, query: vector, words: rankingWords(parts), hits, spread, admitted, exclude });
  hits = hits.filter((h) => !exclude.has(h.id)).slice(0, need);
  if (req.minScore !== undefined) hits = hits.filter((h) => h.score >= req.minScore!);
  const matchOf = (score: number) => (spread ? matchPercent(score, spread) : null);
  if (req.minMatch !== undefined && spread) hits = hits.filter((h) => matchOf(h.score)! >= req.minMatch!);
  if (req.sort === 'date' || req.sort === 'path') {
    const byId = new Map(hits.map((h) => [h.id, h]));
    hits = store.photoIdsSorted(hits.map((h) => h.id), req.sort).map((id) => byId.get(id)!);
  }
  return toSearchHits(store, hits.slice(offset, need), matchOf);
}

/**
 * A text part none of whose words the model knows ("hunter2", a product code) but which is written in some
 * photo is searched as written words (as `text:` would), instead of being refused as unknown to the model.
 */
async function writtenWordsOnly(deps: SearchDeps, parts: readonly QueryPart[]): Promise<QueryPart[]> {
  const out: QueryPart[] = [];
  for (const p of parts) {
    if (p.kind === 'text' && p.weight > 0 && !(await deps.model.knowsAnyWord(p.text)) && deps.store.text.idsWithAllWords(searchWords(p.text), 1).length > 0) {
      out.push({ kind: 'words', text: p.text, weight: p.weight });
    } else out.push(p);
  }
  return out;
}

/**
 * The folder filter's folders, each a library folder or inside one (a link to one counts as its real path). A
 * typo would otherwise match no photo and read as "nothing found": refused as `remove` refuses it.
 */
export function libraryFolders(store: Store, folders: readonly string[]): string[] {
  const roots = store.listRoots();
  const inLibrary = (p: string) => roots.some((r) => p === r || p.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
  return folders.map((f) => {
    const abs = path.resolve(expandHome(f));
    if (inLibrary(abs)) return abs;
    const real = existsSync(abs) ? realpathSync(abs) : null;
    if (real && inLibrary(real)) return real;
    throw new AppError('not_found', `${abs} is not a library folder (nor inside one). Library folders: ${roots.join(', ') || 'none'}.`);
  });
}

/** Rows of the library for these hits, in order (photos removed since the index loaded are left out). */
export function toSearchHits(store: Store, found: readonly Hit[], matchOf: (score: number) => number | null = () => null): SearchHit[] {
  const rows = store.photosByIds(found.map((f) => f.id));
  const byId = new Map(rows.map((r) => [r.id, r]));
  const out: SearchHit[] = [];
  for (const f of found) {
    const r = byId.get(f.id);
    if (!r) continue;
    out.push({
      id: f.id,
      path: r.path,
      score: f.score,
      match: matchOf(f.score),
      width: r.width ?? null,
      height: r.height ?? null,
      takenAt: r.takenAt ?? localDateTime(r.mtimeMs),
      bytes: r.size ?? null,
      takenOffset: r.takenAt ? (r.takenOffset ?? null) : null,
      place: r.place ? placeLabel(r.place) : null,
    });
  }
  return out;
}

async function queryVector(deps: SearchDeps, parts: readonly QueryPart[], image: Buffer | null): Promise<{ vector: Float32Array; exclude: Set<number> }> {
  const { store, model, modelId } = deps;
  const vectors: { weight: number; vector: Float32Array }[] = [];
  const exclude = new Set<number>();
  const stored = (id: number, what: string): Float32Array => {
    const v = store.embeddingFor(id, modelId);
    if (!v) throw new AppError('not_found', `${what} is not in the library (or not embedded yet).`);
    if (!isSoundEmbedding(v)) throw new AppError('not_found', `${what}'s stored embedding is damaged. Run \`photo-search repair\` to rebuild it.`);
    return v;
  };
  const texts = parts.filter((p): p is Extract<QueryPart, { kind: 'text' }> => p.kind === 'text');
  for (const t of texts) {
    if (!(await model.knowsAnyWord(t.text))) {
      throw new AppError('unknown_words', parts.length === 1 ? NO_KNOWN_WORDS : `No words of "${t.text}" are known to the model.`);
    }
  }
  const template = model.manifest.text.queryTemplate;
  const textVectors = texts.length ? await model.embedQueries(texts.map((t) => queryText(t.text, template))) : [];
  texts.forEach((t, i) => vectors.push({ weight: t.weight, vector: textVectors[i]! }));
  const images: { weight: number; input: string | Buffer; what: string }[] = [];
  for (const p of parts) {
    if (p.kind === 'photo') {
      vectors.push({ weight: p.weight, vector: stored(p.id, `Photo ${p.id}`) });
      exclude.add(p.id);
    } else if (p.kind === 'image') {
      const abs = path.resolve(expandHome(p.path));
      if (!existsSync(abs)) throw new AppError('not_found', `Image ${abs} not found. Check the path.`);
      const known = store.photoByPath(abs);
      if (known) {
        vectors.push({ weight: p.weight, vector: stored(known.id, `Photo ${abs}`) });
        exclude.add(known.id);
      } else images.push({ weight: p.weight, input: abs, what: `Image ${abs}` });
    }
  }
  if (image) images.push({ weight: 1, input: image, what: 'The image' });
  for (const im of images) {
    let prepared;
    try {
      prepared = await model.prepareImage(im.input);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') throw new AppError('not_found', `${im.what} not found. Check the path.`);
      throw new AppError('invalid_input', err.message);
    }
    const [features] = await model.photoFeatures([prepared]);
    const [v] = await model.embedImageFeatures([features!]);
    vectors.push({ weight: im.weight, vector: v! });
  }
  const vector = combineVectors(vectors);
  if (!vector) throw new AppError('invalid_input', 'The parts of this query cancel each other out: nothing is left to search for.');
  return { vector, exclude };
}

/** The k best photos among `admitted` (all photos when null), best first. */
async function filteredTopK(deps: SearchDeps, q: Float32Array, k: number, admitted: Int32Array | null): Promise<Hit[]> {
  const { index } = deps;
  if (!admitted) return index.search(q, k);
  if (admitted.length === 0 || k <= 0) return [];
  const total = Math.max(index.size, 1);
  if (admitted.length <= total * DIRECT_SHARE) return index.searchAmong(q, admitted, k);
  // A large admitted set: widen the candidate count by the share admitted until k admitted photos are in.
  let want = Math.min(total, Math.ceil(k * (total / admitted.length) * 1.5) + 16);
  for (;;) {
    const found = await index.search(q, want);
    const kept = found.filter((h) => isAdmitted(admitted, h.id));
    if (kept.length >= k || want >= total || found.length < want) return kept.slice(0, k);
    want = Math.min(total, want * 4);
  }
}

/** Binary search in the ascending ids. */
function isAdmitted(ids: Int32Array, id: number): boolean {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = ids[mid]!;
    if (v === id) return true;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** A file time as the date filter reads it: local time, `YYYY-MM-DDTHH:MM:SS`. */
function localDateTime(ms: number): string | null {
  if (!Number.isFinite(ms)) return null;
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
