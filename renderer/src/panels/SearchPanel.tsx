import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';
import { GOOD_MATCH, MAX_QUERY_LENGTH, MAX_SEARCH_IMAGE_BYTES, type FolderInfo, type LibraryStatus, type SearchHit } from '../../../shared/api';
import { weakerMatchesFrom } from '../../../shared/format';
import { describePart, isPlainText } from '../../../shared/query';
import { describeError } from '../api/errors';
import { ErrorLine } from '../components/common';
import { FilterBar, FilterChips, narrows, type Filters } from '../components/FilterBar';
import { fileName } from '../format';
import { Viewer, type Act } from '../search/PhotoViewer';
import { SearchResults } from '../search/SearchResults';
import { urlFor, type Mode } from '../search/url';
import { MAX_TOP, PAGE, useSearch } from '../search/useSearch';
import { useApi, useEvents } from '../state';


const MB = 1024 * 1024;

interface Props {
  status: LibraryStatus | null;
  searchRef: RefObject<HTMLInputElement | null>;
  visible: boolean;
  onGoLibrary(): void;
}

export function SearchPanel({ status, searchRef, visible, onGoLibrary }: Props) {
  const { api } = useApi();
  const { libraryVersion } = useEvents();
  const search = useSearch();
  const { query, setQuery, mode, setMode, limit, setLimit, hits, setHits, selected, setSelected, viewer, setViewer, error, setError, unknownWords, loading, queryError, filters, setFilters, parsed } = search;
  const [notice, setNotice] = useState<string | null>(null);
  /** Why a dropped, pasted or chosen image was refused (kept apart so a search answer does not clear it). */
  const [imageError, setImageError] = useState<string | null>(null);
  const [folders, setFolders] = useState<FolderInfo[]>([]);
  const listRef = useRef<HTMLUListElement>(null);
  const moreRef = useRef<HTMLDivElement>(null);
  const fileRef = useRef<HTMLInputElement>(null);

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
        <SearchResults
          hits={hits}
          selected={selected}
          weakFrom={weakFrom}
          onSelect={setSelected}
          onView={setViewer}
          listRef={listRef}
          moreRef={moreRef}
          canShowMore={canShowMore}
          onShowMore={showMore}
          onGridKey={onGridKey}
          onAct={act}
        />
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
