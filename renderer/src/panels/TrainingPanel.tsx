import { useEffect, useMemo, useState } from 'react';
import { Chart as ChartJS, Legend, LinearScale, LineElement, PointElement, Tooltip } from 'chart.js';
import { Line } from 'react-chartjs-2';
import { MAX_EPOCHS, MIN_EPOCHS, type CaptionSetInfo, type EvalResult, type ModelInfo, type TrainEpoch, type TrainResult } from '../../../shared/api';
import { describeHeldOutGain } from '../../../shared/format';
import { describeError } from '../api/errors';
import { ErrorLine, JobProgress } from '../components/common';
import { pct, plural } from '../format';
import { isActive, latestJob, useApi, useEvents } from '../state';

ChartJS.register(LinearScale, PointElement, LineElement, Legend, Tooltip);

export function TrainingPanel() {
  const { api, store } = useApi();
  const { jobs, epochs, baselines, modelsVersion, dismissed } = useEvents();
  const [setPath, setSetPath] = useState('');
  const [info, setInfo] = useState<CaptionSetInfo | null>(null);
  /** The last Inspect's verdict for a path: Start waits for a set that Inspect did not reject. */
  const [inspected, setInspected] = useState<{ path: string; ok: boolean } | null>(null);
  const [name, setName] = useState('');
  /** The Epochs field as typed; null until the user edits it (then the base model's recipe decides). */
  const [epochText, setEpochText] = useState<string | null>(null);
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

  const job = (jobId && jobs[jobId] && !dismissed[jobId] ? jobs[jobId] : null) || latestJob(jobs, ['train'], dismissed);
  const result = job?.state === 'done' ? (job.result as TrainResult | null) : null;
  // When done, the chosen step's epochs (a fine-tune measures two sizes of step; the live lines follow the last one).
  const history: TrainEpoch[] = (result?.history.length ? result.history : null) || (job && epochs[job.id]) || [];
  const baseline: EvalResult | null = (job && baselines[job.id]) || result?.before || null;
  const active = models.find((m) => m.active) ?? null;
  const recipe = active?.recipe ?? null;
  const epochsNote = recipe
    ? recipe.schedule === 'chosen'
      ? `${active?.name} is fine-tuned: how far to move from it (step size, up to ${recipe.epochs} epochs, share of the new heads) is chosen on the set's held-out photos. Giving epochs fixes the most it trains.`
      : recipe.schedule === 'cosine'
      ? `${active?.name} retrains on a fixed ${recipe.epochs}-epoch schedule.`
      : `At most ${recipe.epochs} for ${active?.name}: training stops early when held-out recall stops improving.`
    : '';
  const epochValue = epochText ?? (recipe ? String(recipe.epochs) : '');
  const epochNumber = Number(epochValue);
  const epochsValid = epochText === null || (/^\d+$/.test(epochText.trim()) && epochNumber >= MIN_EPOCHS && epochNumber <= MAX_EPOCHS);
  const path = setPath.trim();
  const rejected = inspected !== null && inspected.path === path && !inspected.ok;

  const inspect = async () => {
    setInspecting(true);
    const r = await api.inspectCaptionSet({ path });
    setInspecting(false);
    setInspected({ path, ok: r.ok });
    if (!r.ok) {
      setInfo(null);
      return setError(describeError(r));
    }
    setError(null);
    setInfo(r.value);
  };

  const start = async () => {
    const r = await api.startTraining({
      set: path,
      name: name.trim() || undefined,
      // Untouched, the field shows the recipe's own number and the backend uses the recipe.
      epochs: epochText === null ? undefined : epochNumber,
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
  const gainText = result ? describeHeldOutGain(result) : null;
  // Cross-validation: each epoch's held-out figures are pooled over the folds that have reached it.
  const folds = history.reduce<TrainEpoch['folds']>((least, e) => (e.folds && (!least || e.folds.done < least.done) ? e.folds : least), undefined);
  const foldsNote = folds ? ` Every photo is held out once over ${folds.of} folds; the lines pool ${folds.done === folds.of ? 'all of them' : `${folds.done} of them so far`}. The blue line is the fine-tuned heads alone, before they are blended with the starting ones.${history[0]?.step ? ` These are the ${history[0].step} step's epochs${result ? ' (the one chosen)' : ''}.` : ''}` : '';
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
            <input
              type="text"
              inputMode="numeric"
              value={epochValue}
              onChange={(e) => setEpochText(e.target.value)}
              aria-invalid={!epochsValid}
              aria-describedby="epochs-note"
            />
          </label>
          <label>
            <span className="label">Loss</span>
            <select value={loss} onChange={(e) => setLoss(e.target.value as 'default' | 'tutorial')}>
              <option value="default">Default</option>
              <option value="tutorial">Tutorial</option>
            </select>
          </label>
        </fieldset>
        <p id="epochs-note" className={epochsValid ? 'muted small-text' : 'error-text small-text'} data-testid="epochs-note">
          {epochsValid ? epochsNote : `Epochs must be a whole number from ${MIN_EPOCHS} to ${MAX_EPOCHS}.`}
        </p>
        {rejected && <p className="muted small-text">Fix the problem Inspect found (or choose another folder) to start training.</p>}
        <div className="row">
          <button type="button" className="primary" onClick={() => void start()} disabled={running || !path || rejected || !epochsValid}>
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
        {job ? (
          <JobProgress job={job} label="Training" onDismiss={() => store.dismiss(job.id)} />
        ) : (
          <p className="muted">No training yet. Inspect a captioned set, then start.</p>
        )}
        <div className="chart" aria-label="Loss and validation recall per epoch" role="img" data-x-max={history[0]?.epochs ?? ''}>
          {history.length > 0 ? <EpochChart history={history} baseline={baseline} /> : <p className="muted chart-empty">The chart fills in after each epoch.</p>}
        </div>
        {baseline && (
          <p className="muted small-text" data-testid="baseline">
            Dashed grey line: the starting model, R@5 {pct(baseline.textToImage.r5)} on the same held-out photos.
            {foldsNote}
          </p>
        )}
      </div>

      {result && (
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
              <button type="button" className="primary" onClick={() => void activate(result.model)}>
                Use this model
              </button>
            )}
            {trained?.active && <span className="badge active">Active</span>}
            {trained?.active && rollbackTo && rollbackTo !== result.model && (
              <button type="button" onClick={() => void activate(rollbackTo)}>
                Roll back to {models.find((m) => m.id === rollbackTo)?.name ?? rollbackTo}
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

function EpochChart({ history, baseline }: { history: TrainEpoch[]; baseline: EvalResult | null }) {
  const dark = prefersDark();
  const text = dark ? '#c9cdd4' : '#4a4f57';
  const grid = dark ? 'rgba(255,255,255,0.08)' : 'rgba(0,0,0,0.07)';
  // The run's planned epochs fix the x-axis, so it does not rescale as each epoch arrives.
  const planned = Math.max(1, ...history.map((h) => h.epochs));
  const data = useMemo(
    () => ({
      datasets: [
        {
          label: 'Training loss',
          data: history.map((h) => ({ x: h.epoch, y: h.loss })),
          borderColor: '#e0803a',
          backgroundColor: '#e0803a',
          yAxisID: 'loss',
          tension: 0.25,
        },
        {
          label: 'Validation loss',
          data: history.map((h) => ({ x: h.epoch, y: h.valLoss })),
          borderColor: '#c2a06b',
          backgroundColor: '#c2a06b',
          borderDash: [4, 4],
          yAxisID: 'loss',
          tension: 0.25,
        },
        {
          label: 'Validation R@5 (%)',
          data: history.map((h) => ({ x: h.epoch, y: h.val?.textToImage.r5 ?? null })),
          borderColor: '#3a7be0',
          backgroundColor: '#3a7be0',
          yAxisID: 'recall',
          tension: 0.25,
        },
        ...(baseline
          ? [
              {
                label: 'Starting model R@5',
                data: [
                  { x: 1, y: baseline.textToImage.r5 },
                  { x: planned, y: baseline.textToImage.r5 },
                ],
                borderColor: '#8a919c',
                backgroundColor: '#8a919c',
                borderDash: [6, 4],
                pointRadius: 0,
                yAxisID: 'recall',
              },
            ]
          : []),
      ],
    }),
    [history, baseline, planned],
  );
  const options = useMemo(
    () => ({
      responsive: true,
      maintainAspectRatio: false,
      animation: false as const,
      interaction: { mode: 'nearest' as const, axis: 'x' as const, intersect: false },
      plugins: { legend: { labels: { color: text, usePointStyle: true, boxWidth: 8, boxHeight: 8 } } },
      scales: {
        x: {
          type: 'linear' as const,
          min: 1,
          max: planned,
          title: { display: true, text: 'Epoch', color: text },
          ticks: { color: text, precision: 0, stepSize: planned <= 20 ? 1 : undefined },
          grid: { color: grid },
        },
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
    [text, grid, planned],
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
