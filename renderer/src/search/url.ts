/** The search's mode and the address bar: `?q=TEXT` for a text search, `?like=ID` for "more like this". */
import { MAX_QUERY_LENGTH } from '../../../shared/api';

/** Text (with the query algebra), "more like this" a library photo, or an image dropped, pasted or chosen. */
export type Mode =
  | { kind: 'text' }
  | { kind: 'like'; id: number; name: string | null }
  | { kind: 'image'; name: string; data: string; url: string };

/** What the address bar holds: `?q=TEXT` for a text search, `?like=ID` for "more like this". */
export function readUrl(): { query: string; mode: Mode } {
  const params = new URLSearchParams(window.location.search);
  const like = Number(params.get('like'));
  if (params.has('like') && Number.isInteger(like) && like >= 0) {
    const state = window.history.state as { likeName?: string } | null;
    return { query: '', mode: { kind: 'like', id: like, name: state?.likeName ?? null } };
  }
  return { query: (params.get('q') ?? '').slice(0, MAX_QUERY_LENGTH), mode: { kind: 'text' } };
}

export function urlFor(query: string, mode: Mode): string {
  const params = new URLSearchParams();
  if (mode.kind === 'like') params.set('like', String(mode.id));
  else if (mode.kind === 'text' && query.trim()) params.set('q', query);
  const qs = params.toString();
  return `${window.location.pathname}${qs ? `?${qs}` : ''}${window.location.hash}`;
}
