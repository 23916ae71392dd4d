/** The library's folders with their photo counts; Resume for one whose indexing stopped, Remove after a confirmation. */
import type { FolderInfo } from '../../../shared/api';
import { Confirm } from '../components/common';
import { plural } from '../format';

interface Props {
  folders: FolderInfo[];
  /** Indexing runs: Resume and Remove wait. */
  indexing: boolean;
  /** The folder whose Remove is being confirmed. */
  confirmRemove: string | null;
  onAskRemove(path: string | null): void;
  onRemove(path: string): void;
  onResume(path: string): void;
}

export function FolderList({ folders, indexing, confirmRemove, onAskRemove, onRemove, onResume }: Props) {
  if (folders.length === 0) return <p className="empty-inline">No folders yet. Add the folder where you keep your photos.</p>;
  return (
    <ul className="folder-list" aria-label="Library folders">
      {folders.map((f) => (
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
              <button type="button" className="small" onClick={() => onResume(f.path)} disabled={indexing} aria-label={`Resume ${f.path}`}>
                Resume
              </button>
            )}
            <button type="button" className="small" onClick={() => onAskRemove(f.path)} disabled={indexing} aria-label={`Remove ${f.path}`}>
              Remove
            </button>
          </div>
          {confirmRemove === f.path && (
            <Confirm
              text={`Remove ${f.path} from the library? Its ${plural(f.photos, 'photo')} leave search, with their cached data and thumbnails. The files on disk are not touched.`}
              confirmLabel="Remove folder"
              onConfirm={() => onRemove(f.path)}
              onCancel={() => onAskRemove(null)}
            />
          )}
        </li>
      ))}
    </ul>
  );
}
