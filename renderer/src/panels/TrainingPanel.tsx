import { useEffect, useMemo, useState } from 'react';
import { CategoryScale, Chart as ChartJS, Legend, LinearScale, LineElement, PointElement, Tooltip } from 'chart.js';
import { Line } from 'react-chartjs-2';
import type { CaptionSetInfo, EvalResult, ModelInfo, TrainEpoch, TrainResult } from '../../../shared/api';
import { describeError } from '../api/errors';
import { ErrorLine, JobProgress } from '../components/common';
import { pct, plural } from '../format';
import { isActive, latestJob, useApi, useEvents } from '../state';

ChartJS.register(CategoryScale, LinearScale, PointElement, LineElement, Legend, Tooltip);

export function TrainingPanel() {
  const { api, store } = useApi();
  const { jobs, epochs, modelsVersion } = useEvents();
  const [setPath, setSetPath] = useState('');
  const [info, setInfo] = useState<CaptionSetInfo | null>(null);
  const [name, setName] = useState('');
  const [epochCount, setEpochCount] = useState(5);
  const [loss, setLoss] = useState<'default' | 'tutorial'>('default');
  const [error, setError] = useState<string | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [previousModel, setPreviousModel] = useState<string | null>(null);
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [inspecting, setInspecting] = useState(false);

  useEffect(() => {
    let live = true;
    void api.models().then((r) => {
      if (live && r.ok) setModels(r.value);
    });
    return () => {
      live = false;
    };
  }, [api, modelsVersion]);

  const job = (jobId && jobs[jobId]) || latestJob(jobs, ['train']);
  const history: TrainEpoch[] = (job && epochs[job.id]) || (job?.state === 'done' ? ((job.result as TrainResult | null)?.history ?? []) : []);
  const result = job?.state === 'done' ? (job.result as TrainResult | null) : null;
  const active = models.find((m) => m.active) ?? null;

  const inspect = async () => {
    setInspecting(true);
    const r = await api.inspectCaptionSet({ path: setPath.trim() });
    setInspecting(false);
    if (!r.ok) {
      setInfo(null);
      return setError(describeError(r));
    }
    setError(null);
    setInfo(r.value);
  };

  const start = async () => {
    const r = await api.startTraining({
      set: setPath.trim(),
      name: name.trim() || undefined,
      epochs: epochCount,
      loss,
    });
    if (!r.ok) return setError(describeError(r));
    setError(null);
    setPreviousModel(active?.id ?? null);
    setJobId(r.value.id);
    store.noteJob(r.value);
  };

  const cancel = async () => {
    if (!job) return;
    const r = await api.cancelJob({ id: job.id });
    if (!r.ok) setError(describeError(r));
  };

  const activate = async (id: string) => {
    const r = await api.activateModel({ id });
    if (!r.ok) return setError(describeError(r));
    setError(null);
    if (r.value) store.noteJob(r.value);
  };

  const running = isActive(job);
  const trained = result ? models.find((m) => m.id === result.model) : undefined;
  const rollbackTo = previousModel ?? trained?.parent ?? null;

  return (
    <div className="panel-grid">
      <div className="card">
        <h2>Captioned photos</h2>
        <p className="muted">
          A folder with photos and a captions file (<code>captions.txt</code>, <code>Flickr8k.token.txt</code> or <code>results.csv</code>).
        </p>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void inspect();
          }}
        >
          <label className="grow">
            <span className="label">Captioned set folder</span>
            <input type="text" value={setPath} onChange={(e) => setSetPath(e.target.value)} placeholder="/home/me/captioned-photos" spellCheck={false} />
          </label>
          <button type="submit" disabled={!setPath.trim() || inspecting}>
            Inspect
          </button>
        </form>
        {info && (
          <div className="inspect" data-testid="set-info">
            <p>
              <strong>{plural(info.images, 'photo')}</strong>, <strong>{plural(info.captions, 'caption')}</strong>{' '}
              <span className="muted">({info.layout})</span>
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
        )}
        <fieldset className="options" disabled={running}>
          <legend>Options</legend>
          <label>
            <span className="label">Model name</span>
            <input type="text" value={name} onChange={(e) => setName(e.target.value)} placeholder="my-photos" />
          </label>
          <label>
            <span className="label">Epochs</span>
            <input type="number" min={1} max={200} value={epochCount} onChange={(e) => setEpochCount(Math.max(1, Math.min(200, Number(e.target.value) || 1)))} />
          </label>
          <label>
            <span className="label">Loss</span>
            <select value={loss} onChange={(e) => setLoss(e.target.value as 'default' | 'tutorial')}>
              <option value="default">Default</option>
              <option value="tutorial">Tutorial</option>
            </select>
          </label>
        </fieldset>
        <div className="row">
          <button type="button" className="primary" onClick={() => void start()} disabled={running || !setPath.trim()}>
            Start training
          </button>
          {running && (
            <button type="button" onClick={() => void cancel()}>
              Cancel training
            </button>
          )}
        </div>
        <ErrorLine text={error} />
      </div>

      <div className="card">
        <h2>Progress</h2>
        {job ? <JobProgress job={job} label="Training" /> : <p className="muted">No training yet. Inspect a captioned set, then start.</p>}
        <div className="chart" aria-label="Loss and validation recall per epoch" role="img">
          {history.length > 0 ? <EpochChart history={history} /> : <p className="muted chart-empty">The chart fills in after each epoch.</p>}
        </div>
      </div>

      {result && (
        <div className="card wide" data-testid="train-result">
          <h2>Result: {result.model}</h2>
          <p className="muted">
            {result.epochs} epochs in {result.trainSeconds.toFixed(1)} s. Recall on held-out photos, before and after training.
          </p>
          {result.bestEpoch === 0 && (
            <p className="muted" data-testid="no-improvement">
              No epoch did better than the starting model on the held-out photos, so the new version keeps its heads. More photos, more
              epochs or a different base model may help.
            </p>
          )}
          {result.before && (
            <p data-testid="train-gain">
              Held-out text→image R@5: {result.before.textToImage.r5.toFixed(1)} → {result.val.textToImage.r5.toFixed(1)} (
              {formatGain(result.val.textToImage.r5 - result.before.textToImage.r5)} points)
              {result.blend > 0 && result.blend < 1 ? `, ${Math.round(result.blend * 100)}% trained heads blended with the starting ones` : ''}.
            </p>
          )}
          <RecallTable before={result.before} after={result.val} />
          <div className="row">
            {trained && !trained.active && (
              <button type="button" className="primary" onClick={() => void activate(result.model)}>
                Use this model
              </button>
            )}
            {trained?.active && <span className="badge active">Active</span>}
            {trained?.active && rollbackTo && rollbackTo !== result.model && (
              <button type="button" onClick={() => void activate(rollbackTo)}>
                Roll back to {rollbackTo}
              </button>
            )}
          </div>
        </div>
      )}
    </div>
  );
}

function prefersDark(): boolean {
  return typeof window.matchMedia === 'function' && window.matchMedia('(prefers-color-scheme: dark)').matches;
}

function EpochChart({ history }: { history: TrainEpoch[] }) {
  const dark = prefersDark();
  const text = dark ? '#c9cdd4' : '#4a4f57';
  const grid = dark ? 'rgba(255,255,255,0.08)' : 'rgba(0,0,0,0.07)';
  const data = useMemo(
    () => ({
      labels: history.map((h) => String(h.epoch)),
      datasets: [
        { label: 'Training loss', data: history.map((h) => h.loss), borderColor: '#e0803a', backgroundColor: '#e0803a', yAxisID: 'loss', tension: 0.25 },
        {
          label: 'Validation loss',
          data: history.map((h) => h.valLoss),
          borderColor: '#c2a06b',
          backgroundColor: '#c2a06b',
          borderDash: [4, 4],
          yAxisID: 'loss',
          tension: 0.25,
        },
        {
          label: 'Validation R@5 (%)',
          data: history.map((h) => h.val?.textToImage.r5 ?? null),
          borderColor: '#3a7be0',
          backgroundColor: '#3a7be0',
          yAxisID: 'recall',
          tension: 0.25,
        },
      ],
    }),
    [history],
  );
  const options = useMemo(
    () => ({
      responsive: true,
      maintainAspectRatio: false,
      animation: false as const,
      interaction: { mode: 'index' as const, intersect: false },
      plugins: { legend: { labels: { color: text, usePointStyle: true, boxWidth: 8, boxHeight: 8 } } },
      scales: {
        x: { title: { display: true, text: 'Epoch', color: text }, ticks: { color: text }, grid: { color: grid } },
        loss: { type: 'linear' as const, position: 'left' as const, title: { display: true, text: 'Loss', color: text }, ticks: { color: text }, grid: { color: grid } },
        recall: {
          type: 'linear' as const,
          position: 'right' as const,
          min: 0,
          max: 100,
          title: { display: true, text: 'R@5 %', color: text },
          ticks: { color: text },
          grid: { drawOnChartArea: false },
        },
      },
    }),
    [text, grid],
  );
  return <Line data={data} options={options} />;
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

function formatGain(points: number): string {
  return `${points >= 0 ? '+' : '−'}${Math.abs(points).toFixed(1)}`;
}
