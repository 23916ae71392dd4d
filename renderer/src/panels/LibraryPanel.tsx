import { useEffect, useState } from 'react';
import type { IndexSummary, LibraryStatus, SkippedFile } from '../../../shared/api';
import { describeError } from '../api/errors';
import { ErrorLine, JobProgress } from '../components/common';
import { plural } from '../format';
import { isActive, latestJob, useApi, useEvents } from '../state';

export function LibraryPanel({ status }: { status: LibraryStatus | null }) {
  const { api, store } = useApi();
  const { jobs, libraryVersion } = useEvents();
  const [path, setPath] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [pickerAvailable, setPickerAvailable] = useState(true);
  const [skipped, setSkipped] = useState<{ total: number; items: SkippedFile[] } | null>(null);
  const [busy, setBusy] = useState(false);
  const job = latestJob(jobs, ['index', 'reembed']);

  useEffect(() => {
    let live = true;
    void api.skipped({ limit: 100 }).then((r) => {
      if (live && r.ok) setSkipped(r.value);
    });
    return () => {
      live = false;
    };
  }, [api, libraryVersion, job?.state]);

  const add = async (folder: string) => {
    const p = folder.trim();
    if (!p) {
      setError('Type the full path of a folder with photos, for example /home/me/Pictures.');
      return;
    }
    setBusy(true);
    const r = await api.addFolder({ path: p });
    setBusy(false);
    if (!r.ok) return setError(describeError(r));
    setError(null);
    setPath('');
    store.noteJob(r.value.job);
  };

  const browse = async () => {
    const r = await api.pickFolder();
    if (!r.ok) {
      // Browser mode cannot open a native folder picker: fall back to the path field.
      if (r.code === 'unsupported') setPickerAvailable(false);
      else setError(describeError(r));
      return;
    }
    if (r.value) await add(r.value);
  };

  const remove = async (folder: string) => {
    const r = await api.removeFolder({ path: folder });
    if (!r.ok) setError(describeError(r));
    else setError(null);
  };

  const rescan = async () => {
    const r = await api.rescan();
    if (!r.ok) return setError(describeError(r));
    setError(null);
    store.noteJob(r.value);
  };

  const cancel = async (id: string) => {
    const r = await api.cancelJob({ id });
    if (!r.ok) setError(describeError(r));
  };

  const summary = job?.state === 'done' && job.kind === 'index' ? (job.result as IndexSummary | null) : null;
  const roots = status?.roots ?? [];

  return (
    <div className="panel-grid">
      <div className="card">
        <h2>Folders</h2>
        <p className="muted">Photos in these folders (and their sub-folders) are indexed on this computer.</p>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void add(path);
          }}
        >
          <label className="grow">
            <span className="label">Folder path</span>
            <input type="text" value={path} onChange={(e) => setPath(e.target.value)} placeholder="/home/me/Pictures" spellCheck={false} />
          </label>
          <button type="submit" className="primary" disabled={busy}>
            Add folder
          </button>
          {pickerAvailable && (
            <button type="button" onClick={() => void browse()}>
              Browse…
            </button>
          )}
        </form>
        {!pickerAvailable && <p className="muted small-text">The folder picker needs the desktop app; type the path instead.</p>}
        <ErrorLine text={error} />
        {roots.length === 0 ? (
          <p className="empty-inline">No folders yet. Add the folder where you keep your photos.</p>
        ) : (
          <ul className="folder-list" aria-label="Library folders">
            {roots.map((r) => (
              <li key={r}>
                <span className="path">{r}</span>
                <button type="button" className="small" onClick={() => void remove(r)} aria-label={`Remove ${r}`}>
                  Remove
                </button>
              </li>
            ))}
          </ul>
        )}
        <div className="row end">
          <span className="muted">{status ? `${plural(status.images, 'photo')} · ${status.embedded.toLocaleString()} embedded with ${status.model}` : ''}</span>
          <button type="button" onClick={() => void rescan()} disabled={roots.length === 0 || isActive(job)}>
            Re-scan
          </button>
        </div>
      </div>

      <div className="card">
        <h2>Indexing</h2>
        {job ? (
          <JobProgress job={job} label={job.kind === 'index' ? 'Indexing' : 'Updating embeddings'} onCancel={() => void cancel(job.id)} />
        ) : (
          <p className="muted">Nothing running. Adding a folder or re-scanning starts indexing.</p>
        )}
        {summary && (
          <p className="summary" data-testid="index-summary">
            Done: {summary.added} added, {summary.updated} updated, {summary.removed} removed, {summary.unchanged} unchanged,{' '}
            {summary.skipped} skipped in {summary.seconds.toFixed(1)} s.
          </p>
        )}
      </div>

      <div className="card wide">
        <h2>Skipped files {skipped && skipped.total > 0 ? <span className="badge">{skipped.total}</span> : null}</h2>
        {!skipped || skipped.total === 0 ? (
          <p className="muted">No skipped files. Files that cannot be read as photos are listed here with the reason.</p>
        ) : (
          <table className="table" aria-label="Skipped files">
            <thead>
              <tr>
                <th>File</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {skipped.items.map((s) => (
                <tr key={s.path}>
                  <td className="path">{s.path}</td>
                  <td>{s.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {skipped && skipped.total > skipped.items.length && (
          <p className="muted">Showing the first {skipped.items.length} of {skipped.total}.</p>
        )}
      </div>
    </div>
  );
}
