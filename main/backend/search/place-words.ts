/**
 * Place words in a query: "beach in Lisbon" searches for "beach" among the photos taken in or near Lisbon. Only a
 * plain text query is read this way, only after "in", "at", "near" or "around", and only when the library has
 * photos taken at a place of that name: "a dog in a park" or "sunset at sea" stay text, as typed.
 */
import { parseQuery } from '../../../shared/query';
import { placeParts } from '../places/fold';

const PLACE_WORD = /\s(?:in|at|near|around)\s+/gi;

/** The query without its place words and the place, or null when the query names no known place. */
export function splitPlaceWords(query: string, known: (foldedName: string) => boolean): { text: string; near: string } | null {
  const parsed = parseQuery(query);
  if (!parsed.ok || parsed.parts.length !== 1) return null;
  const part = parsed.parts[0]!;
  if (part.kind !== 'text' || part.weight !== 1 || query.includes('"')) return null;
  const q = query.trim();
  // The last "in …" first: "a dog in a park in Lisbon" is "a dog in a park" in Lisbon.
  const cuts = [...q.matchAll(PLACE_WORD)].reverse();
  for (const m of cuts) {
    const text = q.slice(0, m.index).trim();
    const near = q.slice(m.index! + m[0].length).trim();
    const parts = placeParts(near);
    if (text && parts.length > 0 && parts.every(known)) return { text, near };
  }
  return null;
}
