/** A search result's actions (open, show in folder, copy, add to query, more like this) and the full-size viewer. */
import { useEffect, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import type { SearchHit } from '../../../shared/api';
import { fileName, folderOf, formatBytes, formatDate } from '../format';
import { useApi } from '../state';
import { PhotoTextDetails, TextBoxes, usePhotoText } from './PhotoText';

/** What a result's buttons do. */
export type Act = 'open' | 'folder' | 'copy' | 'like' | 'add';

export function Actions({ hit, onAct, onView }: { hit: SearchHit; onAct: (w: Act, h: SearchHit) => void; onView?: () => void }) {
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

export function Viewer({ hit, src, position, onClose, onPrev, onNext, onAct }: ViewerProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [actual, setActual] = useState(false);
  const [natural, setNatural] = useState<{ w: number; h: number } | null>(null);
  const [showBoxes, setShowBoxes] = useState(false);
  const text = usePhotoText(hit.id);

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
    hit.takenAt ? `taken ${formatDate(hit.takenAt)}${hit.takenOffset ? ` (UTC${hit.takenOffset})` : ''}` : '',
    hit.place ? `in ${hit.place}` : '',
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
          <span className="viewer-photo">
            <img
              src={src}
              alt={fileName(hit.path)}
              onClick={() => setActual((a) => !a)}
              onLoad={(e) => setNatural({ w: e.currentTarget.naturalWidth, h: e.currentTarget.naturalHeight })}
            />
            {showBoxes && <TextBoxes text={text} />}
          </span>
          <button type="button" className="nav next" onClick={() => onNext?.()} disabled={!onNext} aria-label="Next photo">
            ›
          </button>
        </div>
        <PhotoTextDetails text={text} boxes={showBoxes} onBoxes={setShowBoxes} />
        <Actions hit={hit} onAct={onAct} />
      </div>
    </div>,
    document.body,
  );
}
