/**
 * The Search panel: the box and what is asked (chips, filters), then the results or why there are none, and
 * the viewer. The search itself is useSearch; image input, keys and result actions are hooks of their own.
 */
import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';
import { GOOD_MATCH, MAX_QUERY_LENGTH, type FolderInfo, type LibraryStatus, type PlaceCount } from '../../../shared/api';
import { weakerMatchesFrom } from '../../../shared/format';
import { isPlainText } from '../../../shared/query';
import { ErrorLine } from '../components/common';
import { FilterBar, FilterChips, narrows, type Filters } from '../components/FilterBar';
import { Viewer } from '../search/PhotoViewer';
import { ImageChip, LikeChip, PartChips } from '../search/QueryChips';
import { SearchBox } from '../search/SearchBox';
import { EmptyResults, resultCountLine } from '../search/SearchMessages';
import { SearchResults } from '../search/SearchResults';
import { useHitActions } from '../search/useHitActions';
import { useImageSearch } from '../search/useImageSearch';
import { useLoadMore } from '../search/useLoadMore';
import { useResultKeys } from '../search/useResultKeys';
import { MAX_TOP, PAGE, useSearch } from '../search/useSearch';
import { useApi, useEvents } from '../state';

interface Props {
  status: LibraryStatus | null;
  searchRef: RefObject<HTMLInputElement | null>;
  visible: boolean;
  onGoLibrary(): void;
}

/** The library's folders, for the folder filter (reloaded when the library changes). */
function useFolders(): FolderInfo[] {
  const { api } = useApi();
  const { libraryVersion } = useEvents();
  const [folders, setFolders] = useState<FolderInfo[]>([]);
  useEffect(() => {
    let live = true;
    void api.folders().then((r) => {
      if (live && r.ok) setFolders(r.value);
    });
    return () => {
      live = false;
    };
  }, [api, libraryVersion]);
  return folders;
}

/** The places the library's photos were taken at, for the place filter (reloaded when the library changes). */
function usePlaces(): PlaceCount[] {
  const { api } = useApi();
  const { libraryVersion } = useEvents();
  const [places, setPlaces] = useState<PlaceCount[]>([]);
  useEffect(() => {
    let live = true;
    void api.places().then((r) => {
      if (live && r.ok) setPlaces(r.value);
    });
    return () => {
      live = false;
    };
  }, [api, libraryVersion]);
  return places;
}

export function SearchPanel({ status, searchRef, visible, onGoLibrary }: Props) {
  const { api } = useApi();
  const search = useSearch();
  const { query, setQuery, mode, setMode, limit, setLimit, hits, selected, setSelected, viewer, setViewer, error, unknownWords, loading, queryError, filters, setFilters, parsed } = search;
  const folders = useFolders();
  const places = usePlaces();
  const listRef = useRef<HTMLUListElement>(null);
  const moreRef = useRef<HTMLDivElement>(null);
  const image = useImageSearch(search);
  const keys = useResultKeys(search, searchRef, listRef);
  const { act, notice } = useHitActions(search);

  useEffect(() => {
    if (visible) searchRef.current?.focus();
  }, [visible, searchRef]);

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
  const showMore = useCallback(() => setLimit((l) => Math.min(MAX_TOP, l + PAGE)), [setLimit]);
  useLoadMore(moreRef, canShowMore, hits?.length ?? 0, showMore);
  const onType = (text: string) => {
    setQuery(text);
    image.setImageError(null);
    setLimit(PAGE);
    setSelected(0);
    if (mode.kind !== 'text') setMode({ kind: 'text' });
  };

  return (
    <div className="search-panel">
      <div className="search-sticky">
        <SearchBox
          searchRef={searchRef}
          query={query}
          loading={loading}
          describedBy={queryError ? 'query-error' : atLimit ? 'query-limit' : undefined}
          invalid={!!queryError}
          onType={onType}
          onKeyDown={keys.onSearchKey}
          image={image}
        />
        {queryError && (
          <p className="error query-error center small-text" id="query-error" data-testid="query-error" role="alert">
            {queryError}
          </p>
        )}
        {parsed?.ok && !isPlainText(parsed.parts) && <PartChips parts={parsed.parts} />}
        {mode.kind === 'image' && <ImageChip mode={mode} onRemove={keys.backToText} />}
        <FilterChips filters={filters} onChange={changeFilters} />
        {atLimit && (
          <p className="muted small-text center" id="query-limit" data-testid="query-limit">
            A query can be at most {MAX_QUERY_LENGTH} characters; the rest was left out.
          </p>
        )}
        {mode.kind === 'like' && <LikeChip mode={mode} onBack={keys.backToText} />}
        {hits && hits.length > 0 && (
          <p className="result-count muted small-text" data-testid="result-count" aria-live="polite">
            {resultCountLine({ shown: hits.length, libraryImages, filtered, canShowMore, weakFrom })}
          </p>
        )}
      </div>
      {/* Outside the sticky part, so the box stays small on short windows; the chips above show what is on. */}
      <FilterBar filters={filters} folders={folders} places={places} onChange={changeFilters} />
      <ErrorLine text={image.imageError ?? error} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {hits && hits.length > 0 ? (
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
          onGridKey={keys.onGridKey}
          onAct={act}
        />
      ) : (
        <EmptyResults shown={hits ? hits.length : null} emptyLibrary={emptyLibrary} unknownWords={unknownWords} filtered={filtered} onGoLibrary={onGoLibrary} />
      )}
      {viewer !== null && hits && hits[viewer] && (
        <Viewer
          hit={hits[viewer]}
          src={api.photoUrl(hits[viewer].id, 'full')}
          onClose={keys.closeViewer}
          onPrev={viewer > 0 ? () => setViewer((v) => (v !== null && v > 0 ? v - 1 : v)) : null}
          onNext={viewer < hits.length - 1 ? () => setViewer((v) => (v !== null && v < hits.length - 1 ? v + 1 : v)) : null}
          onAct={act}
          position={`${viewer + 1} of ${hits.length}`}
        />
      )}
    </div>
  );
}
