/**
 * Moving by keyboard: arrow keys, Home and End through the grid (roving focus), Enter opens, Escape goes back
 * to the box; in the box, ArrowDown enters the grid and Escape clears the search or leaves "more like this".
 */
import { useCallback, type RefObject } from 'react';
import { urlFor } from './url';
import { PAGE, type Search } from './useSearch';

export function useResultKeys(search: Search, searchRef: RefObject<HTMLInputElement | null>, listRef: RefObject<HTMLUListElement | null>) {
  const { query, setQuery, mode, setMode, setLimit, hits, setHits, selected, setSelected, viewer, setViewer } = search;

  const focusItem = useCallback(
    (i: number) => {
      const el = listRef.current?.querySelectorAll<HTMLButtonElement>('button.thumb')[i];
      el?.focus();
      el?.scrollIntoView({ block: 'nearest' });
    },
    [listRef],
  );

  // The grid's column count (the "weaker matches" line can leave the first row short).
  const columns = (): number => {
    const list = listRef.current;
    return list ? Math.max(1, getComputedStyle(list).gridTemplateColumns.split(' ').length) : 1;
  };

  const onGridKey = (e: React.KeyboardEvent) => {
    if (!hits || hits.length === 0) return;
    const cols = columns();
    let next: number;
    switch (e.key) {
      case 'ArrowRight':
        next = Math.min(hits.length - 1, selected + 1);
        break;
      case 'ArrowLeft':
        next = Math.max(0, selected - 1);
        break;
      case 'ArrowDown':
        next = Math.min(hits.length - 1, selected + cols);
        break;
      case 'ArrowUp':
        next = selected - cols >= 0 ? selected - cols : selected;
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = hits.length - 1;
        break;
      case 'Enter':
        e.preventDefault();
        setViewer(selected);
        return;
      case 'Escape':
        e.preventDefault();
        searchRef.current?.focus();
        return;
      default:
        return;
    }
    e.preventDefault();
    setSelected(next);
    focusItem(next);
  };

  /** Leave "more like this" for the text results it came from (the previous history entry when it is ours). */
  const backToText = () => {
    const state = window.history.state as { fromText?: boolean } | null;
    if (mode.kind === 'like' && state?.fromText) {
      window.history.back();
      return;
    }
    setMode({ kind: 'text' });
    setHits(null);
    window.history.replaceState(null, '', urlFor(query, { kind: 'text' }));
  };

  const onSearchKey = (e: React.KeyboardEvent) => {
    if (e.key === 'ArrowDown' && hits && hits.length > 0) {
      e.preventDefault();
      focusItem(selected);
    } else if (e.key === 'Escape') {
      // What the hint says: Escape clears the search (or leaves "more like this").
      e.preventDefault();
      if (mode.kind !== 'text') backToText();
      else if (query) {
        setQuery('');
        setSelected(0);
        setLimit(PAGE);
      }
    }
  };

  /** Close the viewer and give focus back to the photo it showed. */
  const closeViewer = () => {
    const i = viewer;
    setViewer(null);
    if (i !== null) requestAnimationFrame(() => focusItem(i));
  };

  return { onGridKey, onSearchKey, backToText, closeViewer };
}
