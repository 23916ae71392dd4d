import { useEffect, useState } from 'react';
import type { FolderInfo, IndexSummary, LibraryStatus, SkippedFile } from '../../../shared/api';
import { describeError } from '../api/errors';
import { Confirm, ErrorLine, JobProgress } from '../components/common';
import { plural } from '../format';
import { isActive, latestJob, useApi, useEvents } from '../state';

export function LibraryPanel({ status }: { status: LibraryStatus | null }) {
  const { api, store } = useApi();
  const { jobs, libraryVersion, dismissed } = useEvents();
  const [path, setPath] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [skipped, setSkipped] = useState<{ total: number; items: SkippedFile[] } | null>(null);
  const [folders, setFolders] = useState<FolderInfo[] | null>(null);
  const [confirmRemove, setConfirmRemove] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const job = latestJob(jobs, ['index', 'reembed'], dismissed);
  const indexing = isActive(job);

  useEffect(() => {
    let live = true;
    void api.skipped({ limit: 100 }).then((r) => {
      if (live && r.ok) setSkipped(r.value);
    });
    void api.folders().then((r) => {
      if (live && r.ok) setFolders(r.value);
    });
    return () => {
      live = false;
    };
  }, [api, libraryVersion, job?.state]);

  const add = async (folder: string, quiet = false) => {
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
    setNotice(quiet ? null : r.value.notice);
    setPath('');
    store.noteJob(r.value.job);
  };

  const browse = async () => {
    const r = await api.pickFolder();
    if (!r.ok) return setError(describeError(r));
    if (r.value) await add(r.value);
  };

  const remove = async (folder: string) => {
    setConfirmRemove(null);
    const r = await api.removeFolder({ path: folder });
    if (!r.ok) return setError(describeError(r));
    setError(null);
    setNotice(`Removed ${folder} from the library (${plural(r.value.removed, 'photo')}). The files on disk are untouched.`);
  };

  const rescan = async () => {
    const r = await api.rescan();
    if (!r.ok) return setError(describeError(r));
    setError(null);
    setNotice(null);
    store.noteJob(r.value);
  };

  const cancel = async (id: string) => {
    const r = await api.cancelJob({ id });
    if (!r.ok) setError(describeError(r));
  };

  const summary = job?.state === 'done' && job.kind === 'index' ? (job.result as IndexSummary | null) : null;
  const list: FolderInfo[] = folders ?? (status?.roots ?? []).map((p) => ({ path: p, photos: 0, incomplete: false }));

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
            <input type="text" value={path} onChange={(e) => setPath(e.target.value)} placeholder="/home/me/Pictures or ~/Pictures" spellCheck={false} />
          </label>
          <button type="submit" className="primary" disabled={busy}>
            Add folder
          </button>
          {api.desktop && (
            <button type="button" onClick={() => void browse()}>
              Browse…
            </button>
          )}
        </form>
        <ErrorLine text={error} />
        {notice && (
          <p className="notice-warn" role="status" data-testid="library-notice">
            {notice}
          </p>
        )}
        {list.length === 0 ? (
          <p className="empty-inline">No folders yet. Add the folder where you keep your photos.</p>
        ) : (
          <ul className="folder-list" aria-label="Library folders">
            {list.map((f) => (
              <li key={f.path}>
                <div className="folder-main">
                  <span className="path">{f.path}</span>
                  <span className="muted small-text">
                    {plural(f.photos, 'photo')}
                    {f.incomplete && (
                      <>
                        {' '}
                        · <span className="badge warn">Incomplete</span> indexing stopped before the end
                      </>
                    )}
                  </span>
                </div>
                <div className="folder-actions">
                  {f.incomplete && (
                    <button type="button" className="small" onClick={() => void add(f.path, true)} disabled={indexing} aria-label={`Resume ${f.path}`}>
                      Resume
                    </button>
                  )}
                  <button type="button" className="small" onClick={() => setConfirmRemove(f.path)} disabled={indexing} aria-label={`Remove ${f.path}`}>
                    Remove
                  </button>
                </div>
                {confirmRemove === f.path && (
                  <Confirm
                    text={`Remove ${f.path} from the library? Its ${plural(f.photos, 'photo')} leave search, with their cached data and thumbnails. The files on disk are not touched.`}
                    confirmLabel="Remove folder"
                    onConfirm={() => void remove(f.path)}
                    onCancel={() => setConfirmRemove(null)}
                  />
                )}
              </li>
            ))}
          </ul>
        )}
        <div className="row end">
          <span className="muted">{status ? `${plural(status.images, 'photo')} · ${status.embedded.toLocaleString()} embedded with ${status.modelName}` : ''}</span>
          <button type="button" onClick={() => void rescan()} disabled={list.length === 0 || indexing}>
            Re-scan
          </button>
        </div>
      </div>

      <div className="card">
        <h2>Indexing</h2>
        {job ? (
          <JobProgress
            job={job}
            label={job.kind === 'index' ? 'Indexing' : 'Updating embeddings'}
            onCancel={() => void cancel(job.id)}
            onDismiss={() => store.dismiss(job.id)}
          >
            {summary && (
              <p className="summary" data-testid="index-summary">
                Done: {summary.added} added, {summary.updated} updated, {summary.removed} removed, {summary.unchanged} unchanged,{' '}
                {summary.skipped} skipped in {summary.seconds.toFixed(1)} s.
              </p>
            )}
            {job.state === 'cancelled' && job.kind === 'index' && (
              <p className="muted small-text">Photos indexed before the cancel are kept. Resume the folder to finish.</p>
            )}
          </JobProgress>
        ) : (
          <p className="muted">Nothing running. Adding a folder or re-scanning starts indexing.</p>
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
