/**
 * Place names as the place filter compares them: accents, case and punctuation folded away ("São Paulo",
 * "sao paulo" and "SAO-PAULO" are one name), and a photo's names packed into one key its row keeps.
 */

/** "São Paulo" → "sao paulo". */
export function foldName(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** What a person typed as a place ("Lisbon", "Lisbon, Portugal", "Lisbon PT" is one name) → its folded parts, all of which must match. */
export function placeParts(s: string): string[] {
  return s
    .split(',')
    .map(foldName)
    .filter((p) => p.length > 0);
}

/** A photo's place names packed for matching: "|lisbon|lisboa|portugal|pt|" (each name once). */
export function placeKey(names: readonly (string | null | undefined)[]): string {
  const folded = [...new Set(names.filter((n): n is string => !!n).map(foldName).filter(Boolean))];
  return `|${folded.join('|')}|`;
}

/** "Amadora, Lisbon, Portugal" (the region left out when it is the city's own name). */
export function placeLabel(p: { city: string; region: string | null; country: string }): string {
  return [p.city, p.region && p.region !== p.city ? p.region : null, p.country].filter(Boolean).join(', ');
}
