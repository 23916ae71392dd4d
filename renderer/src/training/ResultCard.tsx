/** A finished run: what was measured and how, recall before and after, and activate or roll back. */
import type { EvalResult, ModelInfo, TrainResult } from '../../../shared/api';
import { describeHeldOutGain } from '../../../shared/format';
import { pct } from '../format';

interface Props {
  result: TrainResult;
  models: ModelInfo[];
  /** The model active before this run started here (else the trained model's parent) is offered to roll back to. */
  previousModel: string | null;
  onActivate(id: string): void;
}

export function ResultCard({ result, models, previousModel, onActivate }: Props) {
  const gainText = describeHeldOutGain(result);
  const trained = models.find((m) => m.id === result.model);
  const rollbackTo = previousModel ?? trained?.parent ?? null;
  return (
    <div className="card wide" data-testid="train-result">
      <h2>Result: {result.name ?? trained?.name ?? result.model}</h2>
      <p className="muted">
        {result.epochs} epochs in {result.trainSeconds.toFixed(1)} s. Recall on held-out photos
        {result.heldOut && result.heldOut.folds > 1 ? ` (${result.heldOut.folds}-fold cross-validation)` : ''}, before and after training.
        {/* Recall depends on how many photos each caption competes with: say it, so these are not read against another set's figures. */}
        {` Each caption is ranked among ${
          result.heldOut && result.heldOut.folds > 1 ? `its fold's ~${Math.round(result.val.images / result.heldOut.folds).toLocaleString()}` : `the ${result.val.images.toLocaleString()}`
        } held-out photos.`}
      </p>
      {result.bestEpoch === 0 && !result.heldOut && (
        <p className="muted" data-testid="no-improvement">
          No epoch did better than the starting model on the held-out photos, so the new version keeps its heads. More photos, more
          epochs or a different base model may help.
        </p>
      )}
      {gainText && <p data-testid="train-gain">{gainText}</p>}
      <RecallTable before={result.before} after={result.val} />
      <div className="row">
        {trained && !trained.active && (
          <button type="button" className="primary" onClick={() => onActivate(result.model)}>
            Use this model
          </button>
        )}
        {trained?.active && <span className="badge active">Active</span>}
        {trained?.active && rollbackTo && rollbackTo !== result.model && (
          <button type="button" onClick={() => onActivate(rollbackTo)}>
            Roll back to {models.find((m) => m.id === rollbackTo)?.name ?? rollbackTo}
          </button>
        )}
      </div>
    </div>
  );
}

function RecallTable({ before, after }: { before: EvalResult | null; after: EvalResult }) {
  const rows: { label: string; b: number | undefined; a: number }[] = [];
  for (const dir of ['textToImage', 'imageToText'] as const) {
    for (const k of ['r1', 'r5', 'r10'] as const) {
      rows.push({ label: `${dir === 'textToImage' ? 'Text → photo' : 'Photo → text'} R@${k.slice(1)}`, b: before?.[dir][k], a: after[dir][k] });
    }
  }
  return (
    <table className="table recall" aria-label="Recall before and after">
      <thead>
        <tr>
          <th>Measure</th>
          <th>Before</th>
          <th>After</th>
          <th>Change</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => {
          const d = typeof r.b === 'number' ? r.a - r.b : null;
          return (
            <tr key={r.label}>
              <td>{r.label}</td>
              <td>{pct(r.b)}</td>
              <td>{pct(r.a)}</td>
              <td className={d === null ? '' : d > 0 ? 'up' : d < 0 ? 'down' : ''}>{d === null ? '—' : `${d > 0 ? '+' : ''}${d.toFixed(1)}`}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
