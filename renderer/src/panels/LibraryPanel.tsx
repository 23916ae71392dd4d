/** The Library panel: add, resume and remove folders, re-scan, the indexing job and the files it skipped. */
import { useEffect, useState } from 'react';
import type { FolderInfo, LibraryStatus, SkippedFile } from '../../../shared/api';
import { describeError } from '../api/errors';
import { ErrorLine } from '../components/common';
import { plural } from '../format';
import { FolderList } from '../library/FolderList';
import { IndexingCard } from '../library/IndexingCard';
import { SkippedCard } from '../library/SkippedCard';
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
        <FolderList folders={list} indexing={indexing} confirmRemove={confirmRemove} onAskRemove={setConfirmRemove} onRemove={(f) => void remove(f)} onResume={(f) => void add(f, true)} />
        <div className="row end">
          <span className="muted">{status ? `${plural(status.images, 'photo')} · ${status.embedded.toLocaleString()} embedded with ${status.modelName} · ${status.text.withText.toLocaleString()} with text` : ''}</span>
          <button type="button" onClick={() => void rescan()} disabled={list.length === 0 || indexing}>
            Re-scan
          </button>
        </div>
      </div>

      <IndexingCard job={job} onCancel={(id) => void cancel(id)} onDismiss={(id) => store.dismiss(id)} />
      <SkippedCard skipped={skipped} />
    </div>
  );
}
