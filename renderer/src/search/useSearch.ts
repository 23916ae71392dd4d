/**
 * The search itself: what is asked (text with the query algebra, a library photo, or an image; filters;
 * how many), as you type (debounced, late answers dropped), kept in the address bar, and the answer.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { SearchHit, SearchOptions } from '../../../shared/api';
import { parseQuery } from '../../../shared/query';
import { describeError } from '../api/errors';
import { NO_FILTERS, searchOptions, type Filters } from '../components/FilterBar';
import { useApi, useEvents } from '../state';
import { readUrl, urlFor, type Mode } from './url';

// Short enough that the first thumbnails show soon after the last keystroke on 2 cores (docs/BENCHMARKS.md "Typing
// latency"); stale answers to earlier keystrokes are dropped (seq), so a search per pause in typing costs little.
const DEBOUNCE_MS = 120;
/** Results per page; scrolling (or "Show more") asks for another page. */
export const PAGE = 60;
/** The most the search API returns at once. */
export const MAX_TOP = 1000;

export type Search = ReturnType<typeof useSearch>;

export function useSearch() {
  const { api } = useApi();
  const { libraryVersion, modelsVersion } = useEvents();
  const [initial] = useState(readUrl);
  const [query, setQuery] = useState(initial.query);
  const [mode, setMode] = useState<Mode>(initial.mode);
  const [limit, setLimit] = useState(PAGE);
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [selected, setSelected] = useState(0);
  const [viewer, setViewer] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** The model knows none of the query's words: say so instead of showing confident nonsense. */
  const [unknownWords, setUnknownWords] = useState(false);
  const [loading, setLoading] = useState(false);
  /** The query algebra's one-line parse error (shown once typing pauses; no request is sent). */
  const [queryError, setQueryError] = useState<string | null>(null);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const seq = useRef(0);
  // A string key, so the search effect reruns when a filter's value changes, not on every render.
  const optionsKey = JSON.stringify(searchOptions(filters));
  const parsed = useMemo(() => (mode.kind === 'text' && query.trim() ? parseQuery(query.trim()) : null), [mode, query]);

  // Back and Forward restore the search the address bar names (text results, or "more like this").
  useEffect(() => {
    const onPop = () => {
      const u = readUrl();
      setQuery(u.query);
      setMode(u.mode);
      setLimit(PAGE);
      setSelected(0);
      setViewer(null);
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  // Search as you type; a sequence number drops answers to queries the user has already replaced.
  useEffect(() => {
    const q = query.trim();
    const n = ++seq.current;
    const options: SearchOptions = { ...(JSON.parse(optionsKey) as SearchOptions), top: limit };
    setQueryError(null);
    if (mode.kind === 'like' || mode.kind === 'image') {
      setLoading(true);
      const call = mode.kind === 'like' ? api.searchLike({ id: mode.id, ...options }) : api.searchImage({ image: mode.data, ...options });
      void call.then((r) => {
        if (n !== seq.current) return;
        setLoading(false);
        if (r.ok) {
          setHits(r.value);
          setError(null);
        } else setError(describeError(r));
      });
      return;
    }
    if (!q) {
      setHits(null);
      setError(null);
      setLoading(false);
      if (window.location.search) window.history.replaceState(window.history.state, '', urlFor('', mode));
      return;
    }
    const read = parseQuery(q);
    if (!read.ok) {
      // Nothing is sent for a query that does not parse; the line waits for a pause so typing "dog +" does not flash it.
      setLoading(false);
      const t = setTimeout(() => setQueryError(read.message), DEBOUNCE_MS);
      return () => clearTimeout(t);
    }
    setLoading(true);
    const t = setTimeout(() => {
      // The address bar follows the typed text (replace: one history entry per search, not per key).
      window.history.replaceState(window.history.state, '', urlFor(q, mode));
      void api.search({ query: q, ...options }).then((r) => {
        if (n !== seq.current) return;
        setLoading(false);
        setUnknownWords(!r.ok && r.code === 'unknown_words');
        if (r.ok) {
          setHits(r.value);
          setSelected((s) => (s < r.value.length ? s : 0));
          setError(null);
        } else if (r.code === 'unknown_words') {
          setHits([]);
          setError(null);
        } else {
          setHits(null);
          setError(r.code === 'empty_library' ? null : describeError(r));
        }
      });
    }, DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [api, query, mode, limit, optionsKey, libraryVersion, modelsVersion]);

  return {
    query,
    setQuery,
    mode,
    setMode,
    limit,
    setLimit,
    hits,
    setHits,
    selected,
    setSelected,
    viewer,
    setViewer,
    error,
    setError,
    unknownWords,
    loading,
    queryError,
    filters,
    setFilters,
    parsed,
  };
}
