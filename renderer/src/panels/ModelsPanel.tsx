import { useEffect, useState } from 'react';
import type { ModelInfo } from '../../../shared/api';
import { describeError } from '../api/errors';
import { ErrorLine, JobProgress } from '../components/common';
import { formatDate } from '../format';
import { latestJob, useApi, useEvents } from '../state';

export function ModelsPanel() {
  const { api, store } = useApi();
  const { jobs, modelsVersion } = useEvents();
  const [models, setModels] = useState<ModelInfo[] | null>(null);
  const [source, setSource] = useState('');
  const [error, setError] = useState<string | null>(null);
  const importJob = latestJob(jobs, ['import']);
  const reembedJob = latestJob(jobs, ['reembed']);

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
    const m = await api.models();
    if (m.ok) setModels(m.value);
  };

  const doImport = async () => {
    const s = source.trim();
    if (!s) return setError('Type a model folder path or hf:OWNER/NAME.');
    const r = await api.importModel({ source: s });
    if (!r.ok) return setError(describeError(r));
    setError(null);
    setSource('');
    store.noteJob(r.value);
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
              <li key={m.id} className={m.active ? 'active' : undefined} aria-label={m.name}>
                <div className="model-main">
                  <div className="model-title">
                    <strong>{m.name}</strong>
                    {m.active && <span className="badge active">Active</span>}
                    {m.builtin && <span className="badge">Built-in</span>}
                  </div>
                  <div className="muted small-text">
                    <code>{m.id}</code> · {m.embedDim}-d{formatDate(m.createdAt) ? ` · ${formatDate(m.createdAt)}` : ''}
                  </div>
                  <Provenance m={m} />
                </div>
                <div>
                  {!m.active && (
                    <button type="button" onClick={() => void activate(m.id)} aria-label={`Use ${m.name}`}>
                      Use this model
                    </button>
                  )}
                </div>
              </li>
            ))}
          </ul>
        )}
        {reembedJob && <JobProgress job={reembedJob} label="Updating embeddings" />}
      </div>
      <div className="card wide">
        <h2>Import a model</h2>
        <p className="muted">
          A folder with a <code>model.json</code> or a CLIP export (<code>onnx/vision_model.onnx</code>, <code>onnx/text_model.onnx</code>,{' '}
          <code>tokenizer.json</code>), or <code>hf:OWNER/NAME</code> to download from Hugging Face.
        </p>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void doImport();
          }}
        >
          <label className="grow">
            <span className="label">Folder or hf:OWNER/NAME</span>
            <input type="text" value={source} onChange={(e) => setSource(e.target.value)} placeholder="hf:Xenova/clip-vit-base-patch32" spellCheck={false} />
          </label>
          <button type="submit" className="primary">
            Import
          </button>
        </form>
        {importJob && <JobProgress job={importJob} label="Importing" onCancel={() => void api.cancelJob({ id: importJob.id })} />}
      </div>
    </div>
  );
}

function Provenance({ m }: { m: ModelInfo }) {
  const parts: string[] = [];
  if (m.parent) parts.push(`trained from ${m.parent}`);
  if (m.dataset) parts.push(`on ${m.dataset}`);
  if (m.source) parts.push(`from ${m.source}`);
  const metrics = summarizeMetrics(m.metrics);
  return (
    <div className="provenance small-text">
      {parts.length > 0 && <span>{parts.join(' ')}</span>}
      {metrics && <span className="metrics">{metrics}</span>}
    </div>
  );
}

/** Show the recall figures when the metrics carry them; other keys as key=value. */
function summarizeMetrics(metrics: Record<string, unknown> | null): string {
  if (!metrics) return '';
  const out: string[] = [];
  const val = (metrics.after ?? metrics.val ?? metrics) as Record<string, unknown>;
  const t2i = val.textToImage as Record<string, unknown> | undefined;
  if (t2i && typeof t2i.r5 === 'number') {
    out.push(`Held-out text → photo: R@1 ${Number(t2i.r1).toFixed(1)}% · R@5 ${t2i.r5.toFixed(1)}% · R@10 ${Number(t2i.r10).toFixed(1)}%`);
    const before = (metrics.before as Record<string, Record<string, number>> | undefined)?.textToImage;
    if (before && typeof before.r5 === 'number') out.push(`before training R@5 ${before.r5.toFixed(1)}%`);
  } else {
    for (const [k, v] of Object.entries(metrics)) {
      if (typeof v === 'number') out.push(`${k} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
      if (out.length >= 4) break;
    }
  }
  return out.join(' · ');
}
