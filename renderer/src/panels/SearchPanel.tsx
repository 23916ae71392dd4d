import { Fragment, useCallback, useEffect, useMemo, useRef, useState, type RefObject } from 'react';
import { createPortal } from 'react-dom';
import { GOOD_MATCH, MAX_QUERY_LENGTH, MAX_SEARCH_IMAGE_BYTES, type FolderInfo, type LibraryStatus, type SearchHit, type SearchOptions } from '../../../shared/api';
import { formatMatch, weakerMatchesFrom } from '../../../shared/format';
import { describePart, isPlainText, parseQuery } from '../../../shared/query';
import { describeError } from '../api/errors';
import { ErrorLine } from '../components/common';
import { FilterBar, FilterChips, NO_FILTERS, narrows, searchOptions, type Filters } from '../components/FilterBar';
import { fileName, folderOf, formatBytes, formatDate } from '../format';
import { useApi, useEvents } from '../state';

const DEBOUNCE_MS = 250;
/** Results per page; "Show more" asks for another page. */
const PAGE = 60;
/** The most the search API returns at once. */
const MAX_TOP = 1000;

/** Text (with the query algebra), "more like this" a library photo, or an image dropped, pasted or chosen. */
type Mode =
  | { kind: 'text' }
  | { kind: 'like'; id: number; name: string | null }
  | { kind: 'image'; name: string; data: string; url: string };
type Act = 'open' | 'folder' | 'copy' | 'like' | 'add';

const MB = 1024 * 1024;

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
  else if (mode.kind === 'text' && query.trim()) params.set('q', query);
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
  /** The query algebra's one-line parse error (shown once typing pauses; no request is sent). */
  const [queryError, setQueryError] = useState<string | null>(null);
  /** Why a dropped, pasted or chosen image was refused (kept apart so a search answer does not clear it). */
  const [imageError, setImageError] = useState<string | null>(null);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [folders, setFolders] = useState<FolderInfo[]>([]);
  const seq = useRef(0);
  const listRef = useRef<HTMLUListElement>(null);
  const moreRef = useRef<HTMLDivElement>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  // A string key, so the search effect reruns when a filter's value changes, not on every render.
  const optionsKey = JSON.stringify(searchOptions(filters));
  const parsed = useMemo(() => (mode.kind === 'text' && query.trim() ? parseQuery(query.trim()) : null), [mode, query]);

  useEffect(() => {
    let live = true;
    void api.folders().then((r) => {
      if (live && r.ok) setFolders(r.value);
    });
    return () => {
      live = false;
    };
  }, [api, libraryVersion]);

  // The dropped image's preview URL lives as long as its chip.
  useEffect(() => {
    if (mode.kind !== 'image') return;
    const url = mode.url;
    return () => URL.revokeObjectURL(url);
  }, [mode]);

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

  /** Search by an image file that need not be in the library: checked here before anything is sent. */
  const searchByFile = (file: File) => {
    setImageError(null);
    if (file.type && !file.type.startsWith('image/')) {
      setImageError(`${file.name} is not an image (${file.type}): drop or choose a JPEG, PNG, WebP, GIF, TIFF or AVIF file.`);
      return;
    }
    if (file.size > MAX_SEARCH_IMAGE_BYTES) {
      setImageError(`${file.name} is ${(file.size / MB).toFixed(1)} MB: an image to search by can be at most ${MAX_SEARCH_IMAGE_BYTES / MB} MB. Choose a smaller copy.`);
      return;
    }
    if (file.size === 0) {
      setImageError(`${file.name} is empty: choose another image.`);
      return;
    }
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      // A data URL: the base64 after the comma is what the API takes.
      setMode({ kind: 'image', name: file.name || 'pasted image', data: url.slice(url.indexOf(',') + 1), url: URL.createObjectURL(file) });
      setSelected(0);
      setLimit(PAGE);
      setViewer(null);
      window.history.replaceState(window.history.state, '', urlFor('', { kind: 'text' }));
    };
    reader.onerror = () => setImageError(`Could not read ${file.name}: choose the image again or try another one.`);
    reader.readAsDataURL(file);
  };

  const firstFile = (list: FileList | null | undefined): File | null => (list && list.length > 0 ? list[0]! : null);

  const onPaste = (e: React.ClipboardEvent) => {
    const file = firstFile(e.clipboardData.files);
    if (!file) return; // plain text pastes as usual
    e.preventDefault();
    searchByFile(file);
  };

  const onDragOver = (e: React.DragEvent) => {
    if (e.dataTransfer.types.includes('Files')) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }
  };

  const onDrop = (e: React.DragEvent) => {
    const file = firstFile(e.dataTransfer.files);
    if (!file) return;
    e.preventDefault();
    searchByFile(file);
  };

  const emptyLibrary = status !== null && status.images === 0;
  const current = hits && hits.length > 0 ? hits[Math.min(selected, hits.length - 1)] : null;
  const libraryImages = status?.images ?? 0;
  const canShowMore = !!hits && hits.length >= limit && limit < MAX_TOP && hits.length < libraryImages;
  const atLimit = query.length >= MAX_QUERY_LENGTH;
  const filtered = narrows(filters);
  // Results in relevance order end their good matches where the first weaker one starts (a line in the grid).
  const weakFrom = hits && filters.sort === 'relevance' ? weakerMatchesFrom(hits, GOOD_MATCH) : -1;
  const changeFilters = (f: Filters) => {
    setFilters(f);
    setLimit(PAGE);
    setSelected(0);
  };
  const showMore = useCallback(() => setLimit((l) => Math.min(MAX_TOP, l + PAGE)), []);

  // Load more on scroll: when the end of the results comes near, ask for a larger top. The most relevant
  // photos come first in every answer, so what is already shown stays where it is.
  const shown = hits?.length ?? 0;
  useEffect(() => {
    const el = moreRef.current;
    if (!el || !canShowMore) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((en) => en.isIntersecting)) showMore();
    }, { rootMargin: '0px 0px 300px 0px' });
    io.observe(el);
    return () => io.disconnect();
  }, [canShowMore, shown, showMore]);

  return (
    <div className="search-panel">
      <div className="search-sticky">
        <div className="searchbar" onDragOver={onDragOver} onDrop={onDrop}>
          <input
            ref={searchRef}
            type="search"
            aria-label="Search photos"
            aria-describedby={queryError ? 'query-error' : atLimit ? 'query-limit' : undefined}
            aria-invalid={queryError ? true : undefined}
            placeholder="Describe a photo: “a dog running on the beach”"
            value={query}
            maxLength={MAX_QUERY_LENGTH}
            onChange={(e) => {
              setQuery(e.target.value.slice(0, MAX_QUERY_LENGTH));
              setImageError(null);
              setLimit(PAGE);
              setSelected(0);
              if (mode.kind !== 'text') setMode({ kind: 'text' });
            }}
            onKeyDown={onSearchKey}
            onPaste={onPaste}
            autoComplete="off"
            spellCheck={false}
          />
          {loading && <span className="spinner" aria-label="Searching" />}
          <button type="button" className="image-pick" onClick={() => fileRef.current?.click()} title="Search by an image: choose a file, or drop or paste one into the box">
            Image…
          </button>
          <input
            ref={fileRef}
            type="file"
            accept="image/*"
            className="visually-hidden"
            aria-label="Search by an image file"
            tabIndex={-1}
            onChange={(e) => {
              const file = firstFile(e.target.files);
              e.target.value = '';
              if (file) searchByFile(file);
            }}
          />
        </div>
        {queryError && (
          <p className="error query-error center small-text" id="query-error" data-testid="query-error" role="alert">
            {queryError}
          </p>
        )}
        {parsed?.ok && !isPlainText(parsed.parts) && (
          <ul className="chip-row" aria-label="Query parts" data-testid="query-chips">
            {parsed.parts.map((p, i) => (
              <li key={i} className={`chip part-chip${p.weight < 0 ? ' minus' : ''}`}>
                {p.kind === 'photo' && <img src={api.photoUrl(p.id, 'thumb')} alt="" className="chip-thumb small" />}
                {describePart(p)}
              </li>
            ))}
          </ul>
        )}
        {mode.kind === 'image' && (
          <div className="chip-row">
            <span className="chip like-chip" data-testid="image-chip">
              <img src={mode.url} alt="" className="chip-thumb" />
              <span>
                Photos like <strong>{mode.name}</strong>
              </span>
            </span>
            <button type="button" className="link" onClick={backToText} aria-label={`Remove image ${mode.name}`}>
              Remove image
            </button>
          </div>
        )}
        <FilterChips filters={filters} onChange={changeFilters} />
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
            {filtered
              ? canShowMore
                ? `First ${hits.length.toLocaleString()} matching photos`
                : `${hits.length.toLocaleString()} matching ${hits.length === 1 ? 'photo' : 'photos'}`
              : weakFrom === 0
                ? 'No good matches: the closest photos'
                : weakFrom > 0
                  ? `${weakFrom.toLocaleString()} good ${weakFrom === 1 ? 'match' : 'matches'}, then weaker ones`
                  : hits.length < libraryImages
                ? `Best ${hits.length.toLocaleString()} of ${libraryImages.toLocaleString()} photos`
                : `${hits.length.toLocaleString()} ${hits.length === 1 ? 'photo' : 'photos'}`}
          </p>
        )}
      </div>
      {/* Outside the sticky part, so the box stays small on short windows; the chips above show what is on. */}
      <FilterBar filters={filters} folders={folders} onChange={changeFilters} />
      <ErrorLine text={imageError ?? error} />
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
          <p>Combine parts with + and −, weigh them (“2:dog + beach − 0.5:night”), or drop or paste an image into the box to find photos like it.</p>
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
          <p>{filtered ? 'No photo passes the filters: remove one of them above.' : 'The library may still be indexing, or try other words.'}</p>
        </div>
      ) : (
        <>
          <ul className="grid" aria-label="Results" ref={listRef} onKeyDown={onGridKey}>
            {hits.map((h, i) => (
              <Fragment key={h.id}>
                {i === weakFrom && (
                  <li className="weaker" role="separator" data-testid="weaker-matches">
                    Weaker matches (below {GOOD_MATCH}%)
                  </li>
                )}
                <li className={i === selected ? 'selected' : undefined}>
                  <button
                    type="button"
                    className="thumb"
                    tabIndex={i === selected ? 0 : -1}
                    aria-current={i === selected ? 'true' : undefined}
                    aria-label={hitLabel(h)}
                    title={h.path}
                    onClick={() => setSelected(i)}
                    onFocus={() => setSelected(i)}
                    onDoubleClick={() => setViewer(i)}
                  >
                    <img src={api.photoUrl(h.id, 'thumb')} alt={fileName(h.path)} loading="lazy" decoding="async" />
                    <span className="score" title={h.match === null ? 'Similarity' : 'Match: how much it stands out from your library for this search'}>
                      {formatMatch(h)}
                    </span>
                  </button>
                </li>
              </Fragment>
            ))}
          </ul>
          {canShowMore && (
            // Scrolling here loads more by itself; the button is for the keyboard.
            <div className="show-more" ref={moreRef}>
              <button type="button" onClick={showMore}>
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
      <button type="button" onClick={() => onAct('add', hit)} title="Add this photo to the query as a part (photo:ID)">
        Add to query
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
    hit.match === null ? `score ${hit.score.toFixed(3)}` : `${hit.match}% match`,
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

/** What a screen reader says for a result: the file, when it was taken, how good a match. */
function hitLabel(h: SearchHit): string {
  return [fileName(h.path), h.takenAt ? `taken ${formatDate(h.takenAt)}` : '', h.match === null ? `similarity ${h.score.toFixed(3)}` : `${h.match}% match`]
    .filter(Boolean)
    .join(', ');
}
