/** What Inspect found in a captioned set: photos, captions, its layout and the problems met while reading it. */
import type { CaptionSetInfo } from '../../../shared/api';
import { plural } from '../format';

export function SetInfo({ info }: { info: CaptionSetInfo }) {
  return (
    <div className="inspect" data-testid="set-info">
      <p>
        <strong>{plural(info.images, 'photo')}</strong>, <strong>{plural(info.captions, 'caption')}</strong> <span className="muted">({info.layout})</span>
      </p>
      {info.problems.length === 0 ? (
        <p className="ok-text">No problems found.</p>
      ) : (
        <ul className="problems" aria-label="Problems">
          {info.problems.map((p) => (
            <li key={p.kind}>
              <strong>{p.kind}</strong> ×{p.count}
              {p.examples.length > 0 && <span className="muted path"> — {p.examples.slice(0, 3).join(', ')}</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
