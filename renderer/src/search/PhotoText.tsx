/** The words read in a photo, in the viewer: the lines under the photo, and their boxes over it on request. */
import { useEffect, useState } from 'react';
import type { PhotoText } from '../../../shared/api';
import { useApi } from '../state';

/** The photo's text (undefined while loading, null when not read yet). */
export function usePhotoText(id: number): PhotoText | null | undefined {
  const { api } = useApi();
  const [text, setText] = useState<{ id: number; value: PhotoText | null } | null>(null);
  useEffect(() => {
    let live = true;
    void api.photoText({ id }).then((r) => {
      if (live) setText({ id, value: r.ok ? r.value : null });
    });
    return () => {
      live = false;
    };
  }, [api, id]);
  return text?.id === id ? text.value : undefined;
}

/** The lines read in the photo, with a switch for their boxes. */
export function PhotoTextDetails({ text, boxes, onBoxes }: { text: PhotoText | null | undefined; boxes: boolean; onBoxes(on: boolean): void }) {
  if (text === undefined) return null;
  if (text === null) {
    return (
      <p className="muted small-text photo-text" data-testid="viewer-text">
        Text in this photo: not read yet (it is read after indexing).
      </p>
    );
  }
  if (text.lines.length === 0) {
    return (
      <p className="muted small-text photo-text" data-testid="viewer-text">
        {text.failed ? `Text in this photo could not be read: ${text.failed}.` : `No text found in this photo (reads ${text.scripts}).`}
      </p>
    );
  }
  return (
    <div className="photo-text" data-testid="viewer-text">
      <div className="photo-text-head">
        <strong className="small-text">Text in this photo</strong>
        <label className="small-text">
          <input type="checkbox" checked={boxes} onChange={(e) => onBoxes(e.currentTarget.checked)} data-testid="viewer-text-boxes" /> Show where
        </label>
      </div>
      <ol className="photo-text-lines">
        {text.lines.map((l, i) => (
          <li key={i} title={`${Math.round(l.score * 100)}% sure`}>
            {l.text}
          </li>
        ))}
      </ol>
    </div>
  );
}

/** The lines' boxes over the photo (an SVG in the photo's own 0–1 coordinates, stretched over it). */
export function TextBoxes({ text }: { text: PhotoText | null | undefined }) {
  if (!text?.lines.length) return null;
  return (
    <svg className="text-boxes" viewBox="0 0 1 1" preserveAspectRatio="none" aria-hidden="true" data-testid="viewer-text-overlay">
      {text.lines.map((l, i) => (
        <polygon key={i} points={l.box.map(([x, y]) => `${x},${y}`).join(' ')} vectorEffect="non-scaling-stroke">
          <title>{l.text}</title>
        </polygon>
      ))}
    </svg>
  );
}
