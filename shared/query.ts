/**
 * Query algebra (rclip's syntax): `dog + beach - night`, weights `2:dog + 0.5:sunset`, and images mixed in
 * with text: `"a dog" + ./photo.jpg` or a library photo `photo:42`. The backend embeds each part, normalizes
 * it, and ranks by the normalized weighted sum (`combineVectors`); the UI shows the parts as chips. Shared by
 * the backend, the CLI and the renderer, so the three read a query the same way.
 *
 * Reading rules, chosen so that ordinary queries never change meaning:
 * - `+` and `-` are operators only where a word starts (at the start or after a space): `t-shirt`,
 *   `black-and-white` and `dog+cat` stay text. `"…"` quotes a part verbatim (operators inside are text).
 * - `N:` in front of a part is its weight (a positive number); `10:30` alone is text, not a weight.
 * - A part that starts like a file path (`./`, `../`, `/`, `~/`, `C:\`) is an image file; `photo:ID` is a
 *   photo of the library. A quoted part is a path only if it starts like one.
 * - `text:wifi` or `text:"wifi password"` is words written in the photo (read by the text pass): with other
 *   parts it keeps only photos whose text has every word (`- text:draft` leaves those out); alone, it finds
 *   the photos whose text has them, best text match first.
 */

export const MAX_QUERY_PARTS = 16;

export type QueryPart =
  | { kind: 'text'; text: string; weight: number }
  | { kind: 'image'; path: string; weight: number }
  | { kind: 'photo'; id: number; weight: number }
  | { kind: 'words'; text: string; weight: number };

export type ParsedQuery = { ok: true; parts: QueryPart[] } | { ok: false; message: string };

const PATH_START = /^(?:\.{1,2}[\\/]|[\\/]|~[\\/]|[A-Za-z]:[\\/])/;
const WEIGHT = /^(\d+(?:\.\d+)?|\.\d+):(?=\S)/;
const PHOTO = /^photo:(\d{1,15})$/;
const WORDS = /^text:/i;

interface RawPart {
  sign: 1 | -1;
  raw: string;
  /** Where the part starts in the input, and where its operator was (-1: none), for messages. */
  at: number;
  opAt: number;
}

function nothingAfter(p: RawPart): string {
  return `Nothing after '${p.sign > 0 ? '+' : '-'}' at character ${p.opAt + 1}: write a word or a photo after it.`;
}

/** Parse a query typed in the search box or given to the CLI. Errors are one line naming the place. */
export function parseQuery(input: string): ParsedQuery {
  const raw: RawPart[] = [];
  let cur: RawPart = { sign: 1, raw: '', at: 0, opAt: -1 };
  let quoteAt = -1;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (quoteAt >= 0) {
      cur.raw += c;
      if (c === '"') quoteAt = -1;
      continue;
    }
    if (c === '"') quoteAt = i;
    else if ((c === '+' || c === '-') && (i === 0 || /\s/.test(input[i - 1]!))) {
      if (cur.raw.trim()) raw.push(cur);
      else if (cur.opAt >= 0) return { ok: false, message: nothingAfter(cur) };
      cur = { sign: c === '+' ? 1 : -1, raw: '', at: i + 1, opAt: i };
      continue;
    }
    cur.raw += c;
  }
  if (quoteAt >= 0) return { ok: false, message: `Unclosed quote at character ${quoteAt + 1}: add the closing ".` };
  if (cur.raw.trim()) raw.push(cur);
  else if (cur.opAt >= 0) return { ok: false, message: nothingAfter(cur) };
  if (raw.length === 0) return { ok: false, message: 'Type something to search for.' };
  if (raw.length > MAX_QUERY_PARTS) return { ok: false, message: `A query has at most ${MAX_QUERY_PARTS} parts; this one has ${raw.length}.` };

  const parts: QueryPart[] = [];
  for (const r of raw) {
    let text = r.raw.trim();
    let weight = 1;
    const w = WEIGHT.exec(text);
    if (w) {
      weight = Number(w[1]);
      if (!(weight > 0) || weight > 100) {
        return { ok: false, message: `Weight ${w[1]} at character ${r.at + 1} must be above 0 and at most 100.` };
      }
      text = text.slice(w[0].length).trim();
    }
    if (WORDS.test(text)) {
      const words = unquote(text.slice(5).trim());
      if (!words) return { ok: false, message: `Nothing after text: at character ${r.at + 1}: write the words to find in photos, e.g. text:"wifi password".` };
      parts.push({ kind: 'words', text: words, weight: weight * r.sign });
      continue;
    }
    // A part quoted whole is taken as written: no weight, photo or path reading inside the quotes.
    const quoted = text.length >= 2 && text.startsWith('"') && text.endsWith('"') && text.indexOf('"', 1) === text.length - 1;
    if (quoted) text = text.slice(1, -1).trim();
    if (!text) return { ok: false, message: `Part at character ${r.at + 1} is empty: write a word or a photo.` };
    const signed = weight * r.sign;
    const photo = quoted ? null : PHOTO.exec(text);
    if (photo) parts.push({ kind: 'photo', id: Number(photo[1]), weight: signed });
    else if (PATH_START.test(text)) parts.push({ kind: 'image', path: text, weight: signed });
    else parts.push({ kind: 'text', text, weight: signed });
  }
  if (!parts.some((p) => p.weight > 0)) {
    return { ok: false, message: 'Every part is subtracted: add at least one thing to look for (e.g. "beach - night").' };
  }
  return { ok: true, parts };
}

function unquote(s: string): string {
  const quoted = s.length >= 2 && s.startsWith('"') && s.endsWith('"') && s.indexOf('"', 1) === s.length - 1;
  return (quoted ? s.slice(1, -1) : s).trim();
}

/**
 * The words of a text as the text search matches them: lower case, split at spaces, punctuation trimmed from
 * each end ("4711," → "4711"; "38.90" stays), empty ones dropped, each once.
 */
export function searchWords(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.toLowerCase().split(/\s+/)) {
    const w = raw.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
    if (w && !out.includes(w)) out.push(w);
  }
  return out;
}

/** True when the query is one plain text part (the common case: no algebra to show). */
export function isPlainText(parts: readonly QueryPart[]): boolean {
  return parts.length === 1 && parts[0]!.kind === 'text' && parts[0]!.weight === 1;
}

/** How a part reads on a chip and in the CLI: `+ dog`, `− 0.5 × night`, `+ photo 42`, `+ ./a.jpg`. */
export function describePart(p: QueryPart): string {
  const mag = Math.abs(p.weight);
  const what = p.kind === 'text' ? p.text : p.kind === 'image' ? p.path : p.kind === 'words' ? `text:"${p.text}"` : `photo ${p.id}`;
  return `${p.weight < 0 ? '−' : '+'} ${mag === 1 ? '' : `${mag} × `}${what}`;
}

/**
 * The query vector: each part's vector normalized, times its signed weight, summed, normalized again.
 * Returns null when the parts cancel out (nothing left to rank by).
 */
export function combineVectors(parts: readonly { weight: number; vector: Float32Array }[]): Float32Array | null {
  if (parts.length === 0) return null;
  const dim = parts[0]!.vector.length;
  const out = new Float32Array(dim);
  for (const { weight, vector } of parts) {
    if (vector.length !== dim) throw new Error(`Query parts have different sizes (${vector.length} and ${dim}).`);
    let n = 0;
    for (let i = 0; i < dim; i++) n += vector[i]! * vector[i]!;
    const s = n > 0 ? weight / Math.sqrt(n) : 0;
    for (let i = 0; i < dim; i++) out[i]! += s * vector[i]!;
  }
  let n = 0;
  for (let i = 0; i < dim; i++) n += out[i]! * out[i]!;
  if (!(n > 1e-12)) return null;
  const inv = 1 / Math.sqrt(n);
  for (let i = 0; i < dim; i++) out[i]! *= inv;
  return out;
}
