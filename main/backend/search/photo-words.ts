/**
 * Words written in photos, in a search (the text pass stores them; store/photo-text.ts matches them):
 *
 * - `text:` parts (shared/query.ts): with parts to rank by, a positive one keeps only the photos whose text
 *   has all its words, a negative one leaves them out; alone, they find those photos, best text match first.
 * - The words of the query's text parts also rank: a photo whose text contains them rises by
 *   WORD_BOOST_Z standard deviations of the query's scores over the library (all the words; a share for some),
 *   so "invoice 4711" puts the receipt that reads INVOICE 4711 above the photos that merely look like paper.
 */
import { searchWords, type QueryPart } from '../../../shared/query';
import type { Store } from '../store';
import type { LibrarySpread } from './relevance';
import type { Hit } from './topk';

/** How far (in standard deviations of the query's library scores) a photo whose text has every query word rises. */
export const WORD_BOOST_Z = 4;
/** Without a library spread (under 8 photos): the rise in cosine. */
const WORD_BOOST_COSINE = 0.2;
/** Photos matched per word, at most (a word found in more photos than this says little about any of them). */
const MAX_PER_WORD = 2000;
/** Photos a `text:` part admits, at most. */
const MAX_ADMITTED = 100_000;
/** Words that say nothing on their own: they neither lift a photo nor count against it. */
const STOP_WORDS = new Set(['a', 'an', 'the', 'of', 'on', 'in', 'at', 'to', 'and', 'or', 'for', 'with', 'from', 'by', 'is', 'are', 'my', 'our', 'his', 'her', 'its', 'this', 'that']);

type WordsPart = Extract<QueryPart, { kind: 'words' }>;

export function wordsParts(parts: readonly QueryPart[]): WordsPart[] {
  return parts.filter((p): p is WordsPart => p.kind === 'words');
}

/**
 * The ids the `text:` parts admit (ascending; null: no positive part, all admitted) and those they exclude.
 * With no positive part, `ranked` is empty; else it holds the admitted ids in text-match order.
 */
export function wordsFilter(store: Store, parts: readonly WordsPart[]): { admitted: Int32Array | null; ranked: number[]; excluded: Set<number> } {
  let ranked: number[] | null = null;
  const excluded = new Set<number>();
  for (const p of parts) {
    const ids = store.text.idsWithAllWords(searchWords(p.text), MAX_ADMITTED);
    if (p.weight < 0) for (const id of ids) excluded.add(id);
    else if (ranked === null) ranked = ids;
    else {
      const keep = new Set(ids);
      ranked = ranked.filter((id) => keep.has(id));
    }
  }
  if (ranked === null) return { admitted: null, ranked: [], excluded };
  ranked = ranked.filter((id) => !excluded.has(id));
  return { admitted: Int32Array.from(ranked).sort(), ranked, excluded };
}

/** Ids in both ascending lists (null: everything). */
export function intersectIds(a: Int32Array | null, b: Int32Array | null): Int32Array | null {
  if (!a) return b;
  if (!b) return a;
  const out: number[] = [];
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (a[i]! === b[j]!) {
      out.push(a[i]!);
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  return Int32Array.from(out);
}

/** The query's words that can lift a photo (stop words left out), from its positive text parts. */
export function rankingWords(parts: readonly QueryPart[]): string[] {
  const words = new Set<string>();
  for (const p of parts) if (p.kind === 'text' && p.weight > 0) for (const w of searchWords(p.text)) if (!STOP_WORDS.has(w)) words.add(w);
  return [...words];
}

/**
 * Lift the photos whose text has the query's words: `hits` (the vector search's best) plus the photos found by
 * their words (scored by their stored vector), each raised by its share of the words matched, re-sorted.
 */
export function liftByWords(args: {
  store: Store;
  modelId: string;
  query: Float32Array;
  words: readonly string[];
  hits: readonly Hit[];
  spread: LibrarySpread | null;
  admitted: Int32Array | null;
  exclude: ReadonlySet<number>;
}): Hit[] {
  const { store, words, hits } = args;
  if (words.length === 0) return [...hits];
  const matched = new Map<number, number>();
  for (const w of words) for (const id of store.text.idsWithAllWords([w], MAX_PER_WORD)) matched.set(id, (matched.get(id) ?? 0) + 1);
  if (matched.size === 0) return [...hits];
  const admittedSet = args.admitted ? new Set(args.admitted) : null;
  const boost = args.spread ? WORD_BOOST_Z * args.spread.sd : WORD_BOOST_COSINE;
  const byId = new Map(hits.map((h) => [h.id, h.score]));
  const missing = [...matched.keys()].filter((id) => !byId.has(id) && !args.exclude.has(id) && (!admittedSet || admittedSet.has(id)));
  for (const [id, v] of store.embeddingsFor(missing, args.modelId)) byId.set(id, dot(args.query, v));
  const out: Hit[] = [];
  for (const [id, score] of byId) out.push({ id, score: score + (boost * (matched.get(id) ?? 0)) / words.length });
  return out.sort((a, b) => b.score - a.score || a.id - b.id);
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
