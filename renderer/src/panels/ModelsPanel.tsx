/** The Models panel: every model with where it came from and how well it does; use, delete, and import one. */
import { useEffect, useState } from 'react';
import type { ModelInfo } from '../../../shared/api';
import { describeError } from '../api/errors';
import { ErrorLine, JobProgress } from '../components/common';
import { ImportCard } from '../models/ImportCard';
import { ModelItem } from '../models/ModelItem';
import { latestJob, useApi, useEvents } from '../state';

export function ModelsPanel() {
  const { api, store } = useApi();
  const { jobs, modelsVersion, dismissed } = useEvents();
  const [models, setModels] = useState<ModelInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);
  const reembedJob = latestJob(jobs, ['reembed'], dismissed);

  const refresh = async () => {
    const r = await api.models();
    if (r.ok) setModels(r.value);
    else setError(describeError(r));
  };

  useEffect(() => {
    let live = true;
    void api.models().then((r) => {
      if (!live) return;
      if (r.ok) setModels(r.value);
      else setError(describeError(r));
    });
    return () => {
      live = false;
    };
  }, [api, modelsVersion]);

  const activate = async (id: string) => {
    const r = await api.activateModel({ id });
    if (!r.ok) return setError(describeError(r));
    setError(null);
    if (r.value) store.noteJob(r.value);
    // Refresh now; the models-changed event may come later.
    await refresh();
  };

  const remove = async (m: ModelInfo) => {
    setConfirmDelete(null);
    const r = await api.removeModel({ id: m.id });
    if (!r.ok) return setError(describeError(r));
    setError(null);
    await refresh();
  };

  return (
    <div className="panel-grid">
      <div className="card wide">
        <h2>Models</h2>
        <ErrorLine text={error} />
        {models === null ? (
          <p className="muted">Loading…</p>
        ) : (
          <ul className="model-list" aria-label="Models">
            {models.map((m) => (
              <ModelItem key={m.id} m={m} all={models} confirming={confirmDelete === m.id} onActivate={(id) => void activate(id)} onAskDelete={setConfirmDelete} onDelete={(x) => void remove(x)} />
            ))}
          </ul>
        )}
        {reembedJob && <JobProgress job={reembedJob} label="Updating embeddings" onDismiss={() => store.dismiss(reembedJob.id)} />}
      </div>
      <ImportCard />
    </div>
  );
}
