/** What a result's buttons do: copy its path, add it to the query, "more like this", open it or show it in its folder. */
import { useEffect, useState } from 'react';
import { MAX_QUERY_LENGTH, type SearchHit } from '../../../shared/api';
import { describeError } from '../api/errors';
import { fileName } from '../format';
import { useApi } from '../state';
import type { Act } from './PhotoViewer';
import { urlFor, type Mode } from './url';
import { PAGE, type Search } from './useSearch';

export function useHitActions({ query, setQuery, mode, setMode, setLimit, setSelected, setViewer, setError }: Search) {
  const { api } = useApi();
  /** A short confirmation ("Copied …"), gone after a moment. */
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => setNotice(null), 2500);
    return () => clearTimeout(t);
  }, [notice]);

  const act = async (what: Act, hit: SearchHit) => {
    setError(null);
    if (what === 'copy') {
      try {
        await navigator.clipboard.writeText(hit.path);
        setNotice(`Copied ${hit.path}`);
      } catch {
        setError(`Could not copy to the clipboard. The path is ${hit.path}`);
      }
      return;
    }
    if (what === 'add') {
      // The photo joins the query as a `photo:ID` part (shown as a chip), with what was searched before.
      const before = mode.kind === 'like' ? `photo:${mode.id}` : mode.kind === 'text' ? query.trim() : '';
      const part = `photo:${hit.id}`;
      const next = before ? `${before} + ${part}` : part;
      if (next.length > MAX_QUERY_LENGTH) {
        setError(`The query would be longer than ${MAX_QUERY_LENGTH} characters: remove a part first.`);
        return;
      }
      setViewer(null);
      setSelected(0);
      setLimit(PAGE);
      setQuery(next);
      setMode({ kind: 'text' });
      return;
    }
    if (what === 'like') {
      const next: Mode = { kind: 'like', id: hit.id, name: fileName(hit.path) };
      // A history entry of its own, so Back returns to the text results.
      window.history.pushState({ fromText: mode.kind === 'text', likeName: next.name }, '', urlFor('', next));
      setViewer(null);
      setSelected(0);
      setLimit(PAGE);
      setQuery('');
      setMode(next);
      return;
    }
    const r = what === 'open' ? await api.openPhoto({ id: hit.id }) : await api.showInFolder({ id: hit.id });
    if (!r.ok) setError(describeError(r));
  };

  return { act, notice };
}
