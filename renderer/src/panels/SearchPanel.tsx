import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';
import type { LibraryStatus, SearchHit } from '../../../shared/api';
import { describeError } from '../api/errors';
import { ErrorLine } from '../components/common';
import { fileName } from '../format';
import { useApi, useEvents } from '../state';

const DEBOUNCE_MS = 250;
const TOP = 60;

type Mode = { kind: 'text' } | { kind: 'like'; hit: SearchHit };

interface Props {
  status: LibraryStatus | null;
  searchRef: RefObject<HTMLInputElement | null>;
  visible: boolean;
  onGoLibrary(): void;
}

export function SearchPanel({ status, searchRef, visible, onGoLibrary }: Props) {
  const { api } = useApi();
  const { libraryVersion, modelsVersion } = useEvents();
  const [query, setQuery] = useState('');
  const [mode, setMode] = useState<Mode>({ kind: 'text' });
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [selected, setSelected] = useState(0);
  const [viewer, setViewer] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const seq = useRef(0);
  const listRef = useRef<HTMLUListElement>(null);

  useEffect(() => {
    if (visible) searchRef.current?.focus();
  }, [visible, searchRef]);

  // Search as you type; a sequence number drops answers to queries the user has already replaced.
  useEffect(() => {
    const q = query.trim();
    const n = ++seq.current;
    if (mode.kind === 'like') {
      setLoading(true);
      void api.searchLike({ id: mode.hit.id, top: TOP }).then((r) => {
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
      return;
    }
    setLoading(true);
    const t = setTimeout(() => {
      void api.search({ query: q, top: TOP }).then((r) => {
        if (n !== seq.current) return;
        setLoading(false);
        if (r.ok) {
          setHits(r.value);
          setSelected(0);
          setError(null);
        } else {
          setHits(null);
          setError(r.code === 'empty_library' ? null : describeError(r));
        }
      });
    }, DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [api, query, mode, libraryVersion, modelsVersion]);

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

  const onSearchKey = (e: React.KeyboardEvent) => {
    if (e.key === 'ArrowDown' && hits && hits.length > 0) {
      e.preventDefault();
      focusItem(selected);
    } else if (e.key === 'Escape' && query) {
      e.preventDefault();
      setQuery('');
    }
  };

  const closeViewer = () => {
    const i = viewer;
    setViewer(null);
    if (i !== null) requestAnimationFrame(() => focusItem(i));
  };

  const act = async (what: 'open' | 'folder' | 'copy' | 'like', hit: SearchHit) => {
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
      setViewer(null);
      setSelected(0);
      setMode({ kind: 'like', hit });
      return;
    }
    const r = what === 'open' ? await api.openPhoto({ id: hit.id }) : await api.showInFolder({ id: hit.id });
    if (!r.ok) setError(describeError(r));
  };

  const emptyLibrary = status !== null && status.images === 0;
  const current = hits && hits.length > 0 ? hits[Math.min(selected, hits.length - 1)] : null;

  return (
    <div className="search-panel">
      <div className="searchbar">
        <input
          ref={searchRef}
          type="search"
          aria-label="Search photos"
          placeholder="Describe a photo: “a dog running on the beach”"
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            if (mode.kind === 'like') setMode({ kind: 'text' });
          }}
          onKeyDown={onSearchKey}
          autoComplete="off"
          spellCheck={false}
        />
        {loading && <span className="spinner" aria-label="Searching" />}
      </div>
      {mode.kind === 'like' && (
        <div className="chip-row">
          <span className="chip">
            Photos like <strong>{fileName(mode.hit.path)}</strong>
          </span>
          <button type="button" className="link" onClick={() => setMode({ kind: 'text' })}>
            Back to text search
          </button>
        </div>
      )}
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
            Tips: arrow keys move through results, Enter opens a photo, Escape goes back. Ctrl+F jumps here.
          </p>
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
          onPrev={() => setViewer((v) => (v !== null && v > 0 ? v - 1 : v))}
          onNext={() => setViewer((v) => (v !== null && v < hits.length - 1 ? v + 1 : v))}
          onAct={act}
          position={`${viewer + 1} of ${hits.length}`}
        />
      )}
    </div>
  );
}

function Actions({ hit, onAct, onView }: { hit: SearchHit; onAct: (w: 'open' | 'folder' | 'copy' | 'like', h: SearchHit) => void; onView?: () => void }) {
  return (
    <div className="actions">
      {onView && (
        <button type="button" onClick={onView}>
          View
        </button>
      )}
      <button type="button" onClick={() => onAct('open', hit)}>
        Open file
      </button>
      <button type="button" onClick={() => onAct('folder', hit)}>
        Show in folder
      </button>
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
  onPrev(): void;
  onNext(): void;
  onAct: (w: 'open' | 'folder' | 'copy' | 'like', h: SearchHit) => void;
}

function Viewer({ hit, src, position, onClose, onPrev, onNext, onAct }: ViewerProps) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  const onKey = (e: React.KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onClose();
    } else if (e.key === 'ArrowLeft') {
      e.preventDefault();
      onPrev();
    } else if (e.key === 'ArrowRight') {
      e.preventDefault();
      onNext();
    }
  };
  return (
    <div className="viewer-backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div className="viewer" role="dialog" aria-modal="true" aria-label={fileName(hit.path)} tabIndex={-1} ref={ref} onKeyDown={onKey}>
        <div className="viewer-head">
          <div className="selection-name">
            <strong>{fileName(hit.path)}</strong>
            <span className="muted path">
              {position} · score {hit.score.toFixed(3)}
              {hit.width && hit.height ? ` · ${hit.width}×${hit.height}` : ''}
            </span>
          </div>
          <button type="button" className="small" onClick={onClose} aria-label="Close">
            Close (Esc)
          </button>
        </div>
        <div className="viewer-image">
          <img src={src} alt={fileName(hit.path)} />
        </div>
        <Actions hit={hit} onAct={onAct} />
      </div>
    </div>
  );
}
