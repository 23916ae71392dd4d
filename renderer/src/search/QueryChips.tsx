/** What is being searched, as chips under the box: the query's parts, or the image or library photo searched by. */
import { describePart, type QueryPart } from '../../../shared/query';
import { useApi } from '../state';
import type { Mode } from './url';

/** The parts of a query that uses the algebra (plain text shows no chips). */
export function PartChips({ parts }: { parts: QueryPart[] }) {
  const { api } = useApi();
  return (
    <ul className="chip-row" aria-label="Query parts" data-testid="query-chips">
      {parts.map((p, i) => (
        <li key={i} className={`chip part-chip${p.weight < 0 ? ' minus' : ''}`}>
          {p.kind === 'photo' && <img src={api.photoUrl(p.id, 'thumb')} alt="" className="chip-thumb small" />}
          {describePart(p)}
        </li>
      ))}
    </ul>
  );
}

/** The image dropped, pasted or chosen, with a button that goes back to text search. */
export function ImageChip({ mode, onRemove }: { mode: Extract<Mode, { kind: 'image' }>; onRemove(): void }) {
  return (
    <div className="chip-row">
      <span className="chip like-chip" data-testid="image-chip">
        <img src={mode.url} alt="" className="chip-thumb" />
        <span>
          Photos like <strong>{mode.name}</strong>
        </span>
      </span>
      <button type="button" className="link" onClick={onRemove} aria-label={`Remove image ${mode.name}`}>
        Remove image
      </button>
    </div>
  );
}

/** "More like this" a library photo, with a button back to the text results. */
export function LikeChip({ mode, onBack }: { mode: Extract<Mode, { kind: 'like' }>; onBack(): void }) {
  const { api } = useApi();
  return (
    <div className="chip-row">
      <span className="chip like-chip" data-testid="like-chip">
        <img src={api.photoUrl(mode.id, 'thumb')} alt="" className="chip-thumb" />
        <span>
          Photos like <strong>{mode.name ?? 'this photo'}</strong>
        </span>
      </span>
      <button type="button" className="link" onClick={onBack}>
        Back to text search
      </button>
    </div>
  );
}
