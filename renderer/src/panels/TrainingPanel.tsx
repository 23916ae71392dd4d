/**
 * The Training panel: pick and inspect a captioned set, set the run's options and start it; its progress and
 * chart; the result with activate and roll back. The parts are in renderer/src/training/.
 */
import { useEffect, useState } from 'react';
import { MAX_EPOCHS, MIN_EPOCHS, type CaptionSetInfo, type EvalResult, type ModelInfo, type TrainEpoch, type TrainResult } from '../../../shared/api';
import { describeError } from '../api/errors';
import { ErrorLine } from '../components/common';
import { isActive, latestJob, useApi, useEvents } from '../state';
import { ProgressCard } from '../training/ProgressCard';
import { ResultCard } from '../training/ResultCard';
import { SetInfo } from '../training/SetInfo';
import { TrainOptions, type Loss } from '../training/TrainOptions';

/** The models (for the active one's recipe, the trained one and the one to roll back to), reloaded when they change. */
function useModels(): ModelInfo[] {
  const { api } = useApi();
  const { modelsVersion } = useEvents();
  const [models, setModels] = useState<ModelInfo[]>([]);
  useEffect(() => {
    let live = true;
    void api.models().then((r) => {
      if (live && r.ok) setModels(r.value);
    });
    return () => {
      live = false;
    };
  }, [api, modelsVersion]);
  return models;
}

export function TrainingPanel() {
  const { api, store } = useApi();
  const { jobs, epochs, baselines, dismissed } = useEvents();
  const [setPath, setSetPath] = useState('');
  const [info, setInfo] = useState<CaptionSetInfo | null>(null);
  /** The last Inspect's verdict for a path: Start waits for a set that Inspect did not reject. */
  const [inspected, setInspected] = useState<{ path: string; ok: boolean } | null>(null);
  const [name, setName] = useState('');
  /** The Epochs field as typed; null until the user edits it (then the base model's recipe decides). */
  const [epochText, setEpochText] = useState<string | null>(null);
  const [loss, setLoss] = useState<Loss>('default');
  const [error, setError] = useState<string | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [previousModel, setPreviousModel] = useState<string | null>(null);
  const models = useModels();
  const [inspecting, setInspecting] = useState(false);

  const job = (jobId && jobs[jobId] && !dismissed[jobId] ? jobs[jobId] : null) || latestJob(jobs, ['train'], dismissed);
  const result = job?.state === 'done' ? (job.result as TrainResult | null) : null;
  // When done, the chosen step's epochs (a fine-tune measures two sizes of step; the live lines follow the last one).
  const history: TrainEpoch[] = (result?.history.length ? result.history : null) || (job && epochs[job.id]) || [];
  const baseline: EvalResult | null = (job && baselines[job.id]) || result?.before || null;
  const active = models.find((m) => m.active) ?? null;
  const recipe = active?.recipe ?? null;
  const epochValue = epochText ?? (recipe ? String(recipe.epochs) : '');
  const epochNumber = Number(epochValue);
  const epochsValid = epochText === null || (/^\d+$/.test(epochText.trim()) && epochNumber >= MIN_EPOCHS && epochNumber <= MAX_EPOCHS);
  const path = setPath.trim();
  const rejected = inspected !== null && inspected.path === path && !inspected.ok;
  const running = isActive(job);

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
        {info && <SetInfo info={info} />}
        <TrainOptions disabled={running} name={name} onName={setName} epochValue={epochValue} epochsValid={epochsValid} onEpochs={setEpochText} loss={loss} onLoss={setLoss} active={active} />
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
      <ProgressCard job={job} history={history} baseline={baseline} finished={!!result} onDismiss={(id) => store.dismiss(id)} />
      {result && <ResultCard result={result} models={models} previousModel={previousModel} onActivate={(id) => void activate(id)} />}
    </div>
  );
}
