import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';
import { createPortal } from 'react-dom';
import { MAX_QUERY_LENGTH, type LibraryStatus, type SearchHit } from '../../../shared/api';
import { describeError } from '../api/errors';
import { ErrorLine } from '../components/common';
import { fileName, folderOf, formatBytes, formatDate } from '../format';
import { useApi, useEvents } from '../state';

const DEBOUNCE_MS = 250;
/** Results per page; "Show more" asks for another page. */
const PAGE = 60;
/** The most the search API returns at once. */
const MAX_TOP = 1000;

type Mode = { kind: 'text' } | { kind: 'like'; id: number; name: string | null };
type Act = 'open' | 'folder' | 'copy' | 'like';

/** What the address bar holds: `?q=TEXT` for a text search, `?like=ID` for "more like this". */
function readUrl(): { query: string; mode: Mode } {
  const params = new URLSearchParams(window.location.search);
  const like = Number(params.get('like'));
  if (params.has('like') && Number.isInteger(like) && like >= 0) {
    const state = window.history.state as { likeName?: string } | null;
    return { query: '', mode: { kind: 'like', id: like, name: state?.likeName ?? null } };
  }
  return { query: (params.get('q') ?? '').slice(0, MAX_QUERY_LENGTH), mode: { kind: 'text' } };
}

function urlFor(query: string, mode: Mode): string {
  const params = new URLSearchParams();
  if (mode.kind === 'like') params.set('like', String(mode.id));
  else if (query.trim()) params.set('q', query);
  const qs = params.toString();
  return `${window.location.pathname}${qs ? `?${qs}` : ''}${window.location.hash}`;
}

interface Props {
  status: LibraryStatus | null;
  searchRef: RefObject<HTMLInputElement | null>;
  visible: boolean;
  onGoLibrary(): void;
}

export function SearchPanel({ status, searchRef, visible, onGoLibrary }: Props) {
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
  const [notice, setNotice] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const seq = useRef(0);
  const listRef = useRef<HTMLUListElement>(null);

  useEffect(() => {
    if (visible) searchRef.current?.focus();
  }, [visible, searchRef]);

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
    if (mode.kind === 'like') {
      setLoading(true);
      void api.searchLike({ id: mode.id, top: limit }).then((r) => {
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
    setLoading(true);
    const t = setTimeout(() => {
      // The address bar follows the typed text (replace: one history entry per search, not per key).
      window.history.replaceState(window.history.state, '', urlFor(q, mode));
      void api.search({ query: q, top: limit }).then((r) => {
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
  }, [api, query, mode, limit, libraryVersion, modelsVersion]);

  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => setNotice(null), 2500);
    return () => clearTimeout(t);
  }, [notice]);

  const focusItem = useCallback((i: number) => {
    const el = listRef.current?.querySelectorAll<HTMLButtonElement>('button.thumb')[i];
    el?.focus();
    el?.scrollIntoView({ block: 'nearest' });
  }, []);

  const columns = (): number => {
    const items = listRef.current?.querySelectorAll<HTMLElement>('li');
    if (!items || items.length === 0) return 1;
    const top = items[0].offsetTop;
    let n = 0;
    for (const it of items) {
      if (it.offsetTop !== top) break;
      n += 1;
    }
    return Math.max(1, n);
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
    if (state?.fromText) {
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
      if (mode.kind === 'like') backToText();
      else if (query) {
        setQuery('');
        setSelected(0);
        setLimit(PAGE);
      }
    }
  };

  const closeViewer = () => {
    const i = viewer;
    setViewer(null);
    if (i !== null) requestAnimationFrame(() => focusItem(i));
  };

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

  const emptyLibrary = status !== null && status.images === 0;
  const current = hits && hits.length > 0 ? hits[Math.min(selected, hits.length - 1)] : null;
  const libraryImages = status?.images ?? 0;
  const canShowMore = !!hits && hits.length >= limit && limit < MAX_TOP && hits.length < libraryImages;
  const atLimit = query.length >= MAX_QUERY_LENGTH;

  return (
    <div className="search-panel">
      <div className="search-sticky">
        <div className="searchbar">
          <input
            ref={searchRef}
            type="search"
            aria-label="Search photos"
            aria-describedby={atLimit ? 'query-limit' : undefined}
            placeholder="Describe a photo: “a dog running on the beach”"
            value={query}
            maxLength={MAX_QUERY_LENGTH}
            onChange={(e) => {
              setQuery(e.target.value.slice(0, MAX_QUERY_LENGTH));
              setLimit(PAGE);
              setSelected(0);
              if (mode.kind === 'like') setMode({ kind: 'text' });
            }}
            onKeyDown={onSearchKey}
            autoComplete="off"
            spellCheck={false}
          />
          {loading && <span className="spinner" aria-label="Searching" />}
        </div>
        {atLimit && (
          <p className="muted small-text center" id="query-limit" data-testid="query-limit">
            A query can be at most {MAX_QUERY_LENGTH} characters; the rest was left out.
          </p>
        )}
        {mode.kind === 'like' && (
          <div className="chip-row">
            <span className="chip like-chip" data-testid="like-chip">
              <img src={api.photoUrl(mode.id, 'thumb')} alt="" className="chip-thumb" />
              <span>
                Photos like <strong>{mode.name ?? 'this photo'}</strong>
              </span>
            </span>
            <button type="button" className="link" onClick={backToText}>
              Back to text search
            </button>
          </div>
        )}
        {hits && hits.length > 0 && (
          <p className="result-count muted small-text" data-testid="result-count" aria-live="polite">
            {hits.length < libraryImages
              ? `Best ${hits.length.toLocaleString()} of ${libraryImages.toLocaleString()} photos`
              : `${hits.length.toLocaleString()} ${hits.length === 1 ? 'photo' : 'photos'}`}
          </p>
        )}
      </div>
      <ErrorLine text={error} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}

      {emptyLibrary && !hits ? (
        <div className="empty">
          <h2>Add a folder in Library to start</h2>
          <p>Photo Search looks at your photos once, on this computer, and then finds them by what they show.</p>
          <button type="button" className="primary" onClick={onGoLibrary}>
            Go to Library
          </button>
        </div>
      ) : !hits ? (
        <div className="empty">
          <h2>Type what you are looking for</h2>
          <p>Try “sunset over water”, “a red car” or “people at a table”. Results appear as you type.</p>
          <p className="muted">
            Tips: arrow keys move through results, Enter opens a photo, Escape clears the search. Ctrl+F jumps here.
          </p>
        </div>
      ) : hits.length === 0 && unknownWords ? (
        <div className="empty" data-testid="unknown-words">
          <h2>No words in this query are known to the model</h2>
          <p>Try everyday words for what the photo shows.</p>
        </div>
      ) : hits.length === 0 ? (
        <div className="empty">
          <h2>No matches yet</h2>
          <p>The library may still be indexing, or try other words.</p>
        </div>
      ) : (
        <>
          <ul className="grid" aria-label="Results" ref={listRef} onKeyDown={onGridKey}>
            {hits.map((h, i) => (
              <li key={h.id} className={i === selected ? 'selected' : undefined}>
                <button
                  type="button"
                  className="thumb"
                  tabIndex={i === selected ? 0 : -1}
                  aria-current={i === selected ? 'true' : undefined}
                  title={h.path}
                  onClick={() => setSelected(i)}
                  onFocus={() => setSelected(i)}
                  onDoubleClick={() => setViewer(i)}
                >
                  <img src={api.photoUrl(h.id, 'thumb')} alt={fileName(h.path)} loading="lazy" decoding="async" />
                  <span className="score" title="Similarity">
                    {h.score.toFixed(3)}
                  </span>
                </button>
              </li>
            ))}
          </ul>
          {canShowMore && (
            <div className="show-more">
              <button type="button" onClick={() => setLimit((l) => Math.min(MAX_TOP, l + PAGE))}>
                Show more
              </button>
            </div>
          )}
          {current && (
            <div className="selection-bar" aria-label="Selected photo">
              <div className="selection-name">
                <strong>{fileName(current.path)}</strong>
                <span className="muted path">{current.path}</span>
              </div>
              <Actions hit={current} onAct={act} onView={() => setViewer(selected)} />
            </div>
          )}
        </>
      )}

      {viewer !== null && hits && hits[viewer] && (
        <Viewer
          hit={hits[viewer]}
          src={api.photoUrl(hits[viewer].id, 'full')}
          onClose={closeViewer}
          onPrev={viewer > 0 ? () => setViewer((v) => (v !== null && v > 0 ? v - 1 : v)) : null}
          onNext={viewer < hits.length - 1 ? () => setViewer((v) => (v !== null && v < hits.length - 1 ? v + 1 : v)) : null}
          onAct={act}
          position={`${viewer + 1} of ${hits.length}`}
        />
      )}
    </div>
  );
}

function Actions({ hit, onAct, onView }: { hit: SearchHit; onAct: (w: Act, h: SearchHit) => void; onView?: () => void }) {
  const { api } = useApi();
  return (
    <div className="actions">
      {onView && (
        <button type="button" onClick={onView}>
          View
        </button>
      )}
      {api.desktop ? (
        <>
          <button type="button" onClick={() => onAct('open', hit)}>
            Open file
          </button>
          <button type="button" onClick={() => onAct('folder', hit)}>
            Show in folder
          </button>
        </>
      ) : (
        // A browser cannot start the photo viewer or the file manager: the photo opens in a new tab.
        <a className="button" href={api.photoUrl(hit.id, 'full')} target="_blank" rel="noopener noreferrer">
          Open file
        </a>
      )}
      <button type="button" onClick={() => onAct('copy', hit)}>
        Copy path
      </button>
      <button type="button" className="primary" onClick={() => onAct('like', hit)}>
        More like this
      </button>
    </div>
  );
}

interface ViewerProps {
  hit: SearchHit;
  src: string;
  position: string;
  onClose(): void;
  onPrev: (() => void) | null;
  onNext: (() => void) | null;
  onAct: (w: Act, h: SearchHit) => void;
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), [tabindex]:not([tabindex="-1"])';

function Viewer({ hit, src, position, onClose, onPrev, onNext, onAct }: ViewerProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [actual, setActual] = useState(false);
  const [natural, setNatural] = useState<{ w: number; h: number } | null>(null);

  useEffect(() => {
    ref.current?.focus();
    // aria-modal is a promise: everything behind the dialog is inert (no focus, no clicks) while it is open.
    const root = document.getElementById('root');
    if (root) root.inert = true;
    return () => {
      if (root) root.inert = false;
    };
  }, []);

  useEffect(() => {
    setActual(false);
    setNatural(null);
  }, [src]);

  const onKey = (e: React.KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onClose();
    } else if (e.key === 'ArrowLeft') {
      e.preventDefault();
      onPrev?.();
    } else if (e.key === 'ArrowRight') {
      e.preventDefault();
      onNext?.();
    } else if (e.key === '+' || e.key === '=') {
      setActual(true);
    } else if (e.key === '-' || e.key === '0') {
      setActual(false);
    } else if (e.key === 'Tab') {
      // Focus cycles inside the dialog.
      const items = [...(ref.current?.querySelectorAll<HTMLElement>(FOCUSABLE) ?? [])];
      if (items.length === 0) return;
      const i = items.indexOf(document.activeElement as HTMLElement);
      const next = e.shiftKey ? (i <= 0 ? items.length - 1 : i - 1) : i === items.length - 1 ? 0 : i + 1;
      e.preventDefault();
      items[next].focus();
    }
  };

  const w = hit.width ?? natural?.w ?? null;
  const h = hit.height ?? natural?.h ?? null;
  const details = [
    w && h ? `${w.toLocaleString()} × ${h.toLocaleString()} px` : '',
    hit.takenAt ? `taken ${formatDate(hit.takenAt)}` : '',
    formatBytes(hit.bytes),
    `score ${hit.score.toFixed(3)}`,
  ].filter(Boolean);

  return createPortal(
    <div className="viewer-backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div className="viewer" role="dialog" aria-modal="true" aria-label={fileName(hit.path)} tabIndex={-1} ref={ref} onKeyDown={onKey}>
        <div className="viewer-head">
          <div className="selection-name">
            <strong>{fileName(hit.path)}</strong>
            <span className="muted path" data-testid="viewer-folder" title={folderOf(hit.path)}>
              {folderOf(hit.path)}
            </span>
            <span className="muted small-text" data-testid="viewer-details">
              {position} · {details.join(' · ')}
            </span>
          </div>
          <div className="viewer-tools">
            <button type="button" className="small" aria-pressed={actual} onClick={() => setActual((a) => !a)} title="Zoom: + actual size, − fit">
              {actual ? 'Fit to window' : 'Actual size'}
            </button>
            <button type="button" className="small" onClick={onClose} aria-label="Close">
              Close (Esc)
            </button>
          </div>
        </div>
        <div className={`viewer-image ${actual ? 'actual' : 'fit'}`} data-testid="viewer-image">
          <button type="button" className="nav prev" onClick={() => onPrev?.()} disabled={!onPrev} aria-label="Previous photo">
            ‹
          </button>
          <img
            src={src}
            alt={fileName(hit.path)}
            onClick={() => setActual((a) => !a)}
            onLoad={(e) => setNatural({ w: e.currentTarget.naturalWidth, h: e.currentTarget.naturalHeight })}
          />
          <button type="button" className="nav next" onClick={() => onNext?.()} disabled={!onNext} aria-label="Next photo">
            ›
          </button>
        </div>
        <Actions hit={hit} onAct={onAct} />
      </div>
    </div>,
    document.body,
  );
}
