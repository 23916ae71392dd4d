/** One model in the list: name, badges, id, vector size and date, provenance and recall; Use, and Delete after a confirmation. */
import type { ModelInfo } from '../../../shared/api';
import { Confirm } from '../components/common';
import { formatDate } from '../format';
import { Provenance } from './Provenance';

interface Props {
  m: ModelInfo;
  /** Every model, to name a trained model's parent. */
  all: ModelInfo[];
  confirming: boolean;
  onActivate(id: string): void;
  onAskDelete(id: string | null): void;
  onDelete(m: ModelInfo): void;
}

export function ModelItem({ m, all, confirming, onActivate, onAskDelete, onDelete }: Props) {
  return (
    <li className={m.active ? 'active' : undefined} aria-label={m.name}>
      <div className="model-row">
        <div className="model-main">
          <div className="model-title">
            <strong>{m.name}</strong>
            {m.active && <span className="badge active">Active</span>}
            {m.builtin && <span className="badge">Built-in</span>}
          </div>
          <div className="muted small-text">
            <code>{m.id}</code> · {m.embedDim}-d{formatDate(m.createdAt) ? ` · ${formatDate(m.createdAt)}` : ''}
          </div>
          <Provenance m={m} names={all} />
        </div>
        <div className="model-actions">
          {!m.active && (
            <button type="button" onClick={() => onActivate(m.id)} aria-label={`Use ${m.name}`}>
              Use this model
            </button>
          )}
          {!m.active && !m.builtin && (
            <button type="button" onClick={() => onAskDelete(m.id)} aria-label={`Delete ${m.name}`}>
              Delete
            </button>
          )}
        </div>
      </div>
      {confirming && (
        <Confirm
          text={`Delete the model “${m.name}”? Its files and its embeddings of your photos are removed; your photos are not touched.`}
          confirmLabel="Delete model"
          onConfirm={() => onDelete(m)}
          onCancel={() => onAskDelete(null)}
        />
      )}
    </li>
  );
}
