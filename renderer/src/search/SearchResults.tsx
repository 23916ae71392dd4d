/** The results grid (roving focus: one tab stop, arrow keys move; a line where weaker matches start), "Show more", and the selected photo's actions. */
import { Fragment, type KeyboardEvent, type RefObject } from 'react';
import { GOOD_MATCH, type SearchHit } from '../../../shared/api';
import { formatMatch } from '../../../shared/format';
import { fileName, formatDate } from '../format';
import { useApi } from '../state';
import { Actions, type Act } from './PhotoViewer';

interface Props {
  hits: SearchHit[];
  selected: number;
  /** Index of the first weaker match (-1: none, or not in relevance order). */
  weakFrom: number;
  onSelect(i: number): void;
  onView(i: number): void;
  listRef: RefObject<HTMLUListElement | null>;
  moreRef: RefObject<HTMLDivElement | null>;
  canShowMore: boolean;
  onShowMore(): void;
  onGridKey(e: KeyboardEvent): void;
  onAct(what: Act, hit: SearchHit): void;
}

export function SearchResults({ hits, selected, weakFrom, onSelect, onView, listRef, moreRef, canShowMore, onShowMore, onGridKey, onAct }: Props) {
  const { api } = useApi();
  const current = hits.length > 0 ? hits[Math.min(selected, hits.length - 1)] : null;
  return (
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
                onClick={() => onSelect(i)}
                onFocus={() => onSelect(i)}
                onDoubleClick={() => onView(i)}
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
          <button type="button" onClick={onShowMore}>
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
          <Actions hit={current} onAct={onAct} onView={() => onView(selected)} />
        </div>
      )}
    </>
  );
}

/** What a screen reader says for a result: the file, when it was taken, how good a match. */
function hitLabel(h: SearchHit): string {
  return [fileName(h.path), h.takenAt ? `taken ${formatDate(h.takenAt)}` : '', h.match === null ? `similarity ${h.score.toFixed(3)}` : `${h.match}% match`]
    .filter(Boolean)
    .join(', ');
}
