/**
 * Near-duplicates: exact copies (same content) first, then photos whose embeddings are within the threshold
 * (bursts, resized copies, edits), each group side by side with size, resolution and date so the user can
 * tell them apart. Paths can be copied and files revealed; nothing is deleted from here.
 */
import { useEffect, useState } from 'react';
import type { DuplicateGroup, SearchHit } from '../../../shared/api';
import { describeError } from '../api/errors';
import { ErrorLine } from '../components/common';
import { fileName, formatBytes, formatDate, plural } from '../format';
import { useApi } from '../state';

const DEFAULT_THRESHOLD = '0.95';

function details(p: SearchHit, near: boolean): string {
  return [
    formatBytes(p.bytes),
    p.width && p.height ? `${p.width.toLocaleString()} × ${p.height.toLocaleString()} px` : '',
    p.takenAt ? `taken ${formatDate(p.takenAt)}` : '',
    near ? `similarity ${p.score.toFixed(3)}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

export function DuplicatesPanel() {
  const { api } = useApi();
  const [threshold, setThreshold] = useState(DEFAULT_THRESHOLD);
  const [groups, setGroups] = useState<DuplicateGroup[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => setNotice(null), 2500);
    return () => clearTimeout(t);
  }, [notice]);

  const find = async () => {
    const t = Number(threshold);
    if (!threshold.trim() || !(t >= 0.5 && t <= 1)) {
      setError(`Threshold "${threshold}" must be a number from 0.5 to 1: 0.95 finds close copies, lower values looser matches.`);
      return;
    }
    setBusy(true);
    setError(null);
    const r = await api.duplicates({ threshold: t });
    setBusy(false);
    if (r.ok) setGroups(r.value);
    else setError(describeError(r));
  };

  const copy = async (text: string, what: string) => {
    setError(null);
    try {
      await navigator.clipboard.writeText(text);
      setNotice(`Copied ${what}`);
    } catch {
      setError(`Could not copy to the clipboard: the ${what === 'path' ? 'path is' : 'paths are'} shown with each photo.`);
    }
  };

  const reveal = async (id: number) => {
    const r = await api.showInFolder({ id });
    if (!r.ok) setError(describeError(r));
  };

  const photos = groups?.reduce((n, g) => n + g.photos.length, 0) ?? 0;

  return (
    <div className="panel-grid">
      <div className="card wide">
        <h2>Duplicates</h2>
        <p className="muted">Exact copies first, then near-duplicates: bursts, edits, and resized, recompressed or rotated copies. Nothing is deleted from here.</p>
        {/* noValidate: an out-of-range threshold gets our one line, not the browser's bubble. */}
        <form
          noValidate
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void find();
          }}
        >
          <label className="narrow">
            <span className="label">Similarity threshold (0.5–1)</span>
            <input type="number" min={0.5} max={1} step={0.01} value={threshold} onChange={(e) => setThreshold(e.target.value)} />
          </label>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Finding…' : 'Find duplicates'}
          </button>
        </form>
        <ErrorLine text={error} />
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        {groups && (
          <p className="muted" data-testid="dup-summary" aria-live="polite">
            {groups.length === 0 ? 'No duplicates at this threshold.' : `${plural(groups.length, 'group')}, ${plural(photos, 'photo')}`}
          </p>
        )}
      </div>
      {groups && groups.length > 0 && (
        <ul className="dup-groups card wide" aria-label="Duplicate groups">
          {groups.map((g) => {
            const title = g.kind === 'exact' ? 'Exact copies' : `Near-duplicates (similarity ≥ ${g.minScore.toFixed(3)})`;
            return (
              <li key={`${g.kind}-${g.photos[0]?.id}`} data-testid="dup-group" data-kind={g.kind} aria-label={`${title}: ${plural(g.photos.length, 'photo')}`}>
                <div className="row end">
                  <strong>
                    {title} · {plural(g.photos.length, 'photo')}
                  </strong>
                  <button type="button" className="small" onClick={() => void copy(g.photos.map((p) => p.path).join('\n'), 'paths')}>
                    Copy paths
                  </button>
                </div>
                <ul className="dup-photos">
                  {g.photos.map((p) => (
                    <li key={p.id}>
                      <img src={api.photoUrl(p.id, 'thumb')} alt={fileName(p.path)} loading="lazy" decoding="async" />
                      <div className="dup-details">
                        <strong>{fileName(p.path)}</strong>
                        <span className="muted path" data-testid="dup-path">
                          {p.path}
                        </span>
                        <span className="muted small-text" data-testid="dup-details">
                          {details(p, g.kind === 'near')}
                        </span>
                      </div>
                      <div className="actions">
                        <button type="button" className="small" onClick={() => void copy(p.path, 'path')} aria-label={`Copy path of ${fileName(p.path)}`}>
                          Copy path
                        </button>
                        {/* The file manager is reachable only from the desktop app. */}
                        {api.desktop && (
                          <button type="button" className="small" onClick={() => void reveal(p.id)} aria-label={`Show ${fileName(p.path)} in folder`}>
                            Show in folder
                          </button>
                        )}
                      </div>
                    </li>
                  ))}
                </ul>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
