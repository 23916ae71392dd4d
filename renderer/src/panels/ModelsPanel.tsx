import { useEffect, useState } from 'react';
import type { ModelFigures, ModelInfo } from '../../../shared/api';
import { describeFigures, gainVerdict, NO_MEASURABLE_GAIN } from '../../../shared/format';
import { describeError } from '../api/errors';
import { Confirm, ErrorLine, JobProgress } from '../components/common';
import { formatDate } from '../format';
import { latestJob, useApi, useEvents } from '../state';

export function ModelsPanel() {
  const { api, store } = useApi();
  const { jobs, modelsVersion, dismissed } = useEvents();
  const [models, setModels] = useState<ModelInfo[] | null>(null);
  const [source, setSource] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [importError, setImportError] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);
  const [importId, setImportId] = useState<string | null>(null);
  const importJob = latestJob(jobs, ['import'], dismissed);
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

  // The typed source stays until its import succeeds: a failed import can be fixed and retried.
  const tracked = importId ? jobs[importId] : undefined;
  useEffect(() => {
    if (tracked?.state === 'done') {
      setSource('');
      setImportId(null);
    } else if (tracked?.state === 'failed' || tracked?.state === 'cancelled') {
      setImportId(null);
    }
  }, [tracked?.state]);

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

  const doImport = async () => {
    const s = source.trim();
    if (!s) return setImportError('Type a model folder path or hf:OWNER/NAME.');
    const r = await api.importModel({ source: s });
    if (!r.ok) return setImportError(describeError(r));
    setImportError(null);
    setImportId(r.value.id);
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
                    <Provenance m={m} names={models} />
                  </div>
                  <div className="model-actions">
                    {!m.active && (
                      <button type="button" onClick={() => void activate(m.id)} aria-label={`Use ${m.name}`}>
                        Use this model
                      </button>
                    )}
                    {!m.active && !m.builtin && (
                      <button type="button" onClick={() => setConfirmDelete(m.id)} aria-label={`Delete ${m.name}`}>
                        Delete
                      </button>
                    )}
                  </div>
                </div>
                {confirmDelete === m.id && (
                  <Confirm
                    text={`Delete the model “${m.name}”? Its files and its embeddings of your photos are removed; your photos are not touched.`}
                    confirmLabel="Delete model"
                    onConfirm={() => void remove(m)}
                    onCancel={() => setConfirmDelete(null)}
                  />
                )}
              </li>
            ))}
          </ul>
        )}
        {reembedJob && <JobProgress job={reembedJob} label="Updating embeddings" onDismiss={() => store.dismiss(reembedJob.id)} />}
      </div>
      <div className="card wide">
        <h2>Import a model</h2>
        <p className="muted">One of:</p>
        <ul className="layouts muted small-text" aria-label="Model layouts">
          <li>
            A Hugging Face / transformers.js CLIP export: <code>onnx/vision_model.onnx</code>, <code>onnx/text_model.onnx</code>,{' '}
            <code>tokenizer.json</code> (and <code>preprocessor_config.json</code>).
          </li>
          <li>
            An immich CLIP folder: <code>visual/model.onnx</code>, <code>textual/model.onnx</code>, <code>textual/tokenizer.json</code>,{' '}
            <code>config.json</code>.
          </li>
          <li>
            An encoder pair: <code>image_encoder.onnx</code>, <code>text_encoder.onnx</code>, <code>tokenizer.json</code> (optionally{' '}
            <code>encoders.json</code>); its heads start untrained, so train it on a captioned set.
          </li>
          <li>
            A Photo Search model folder with a <code>model.json</code>.
          </li>
          <li>
            <code>hf:OWNER/NAME</code> to download a CLIP export from Hugging Face.
          </li>
        </ul>
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
        <ErrorLine text={importError} />
        {importJob && (
          <JobProgress job={importJob} label="Importing" onCancel={() => void api.cancelJob({ id: importJob.id })} onDismiss={() => store.dismiss(importJob.id)} />
        )}
      </div>
    </div>
  );
}

function sentence(s: string): string {
  const t = s.trim();
  return t ? `${t[0].toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}` : '';
}

/** Where a model came from, as sentences: trained from what on what, imported from where, built how. */
function Provenance({ m, names }: { m: ModelInfo; names: ModelInfo[] }) {
  const parts: string[] = [];
  const parent = m.parent ? (names.find((n) => n.id === m.parent)?.name ?? m.parent) : null;
  if (m.dataset) parts.push(sentence(parent ? `trained from ${parent} on ${m.dataset}` : `trained on ${m.dataset}`));
  else if (parent) parts.push(sentence(`trained from ${parent}`));
  if (m.source) parts.push(sentence(m.builtin || /^built /.test(m.source) ? m.source : `imported from ${m.source}`));
  const metrics = m.figures ? describeModelFigures(m.figures) : summarizeMetrics(m.metrics);
  return (
    <div className="provenance small-text">
      {parts.length > 0 && <span>{parts.join(' ')}</span>}
      {metrics && (
        <span className="metrics" data-testid="model-recall">
          {metrics}
        </span>
      )}
    </div>
  );
}

/** Recall with how it was measured (comparable only when measured the same way), and a fine-tune's gain verdict. */
function describeModelFigures(f: ModelFigures): string {
  const t = f.textToImage;
  const recall = `Text → photo R@1 ${t.r1.toFixed(1)}% · R@5 ${t.r5.toFixed(1)}% · R@10 ${t.r10.toFixed(1)}% (${describeFigures(f)})`;
  const g = f.gainR5;
  if (!g) return recall;
  const change = `held-out R@5 ${g.mean >= 0 ? '+' : '−'}${Math.abs(g.mean).toFixed(1)} ± ${g.se.toFixed(1)} points`;
  const verdict = gainVerdict(g);
  return `${recall} · ${change}${verdict === 'none' ? `: ${NO_MEASURABLE_GAIN}` : verdict === 'loss' ? ': worse than the model it came from' : ''}`;
}

function recallLine(label: string, v: unknown): string | null {
  const t2i = (v as { textToImage?: Record<string, unknown> } | undefined)?.textToImage;
  if (!t2i || typeof t2i.r5 !== 'number') return null;
  return `${label}: R@1 ${Number(t2i.r1).toFixed(1)}% · R@5 ${t2i.r5.toFixed(1)}% · R@10 ${Number(t2i.r10).toFixed(1)}%`;
}

/** The recall figures the metrics carry (trained: held-out photos; built-in: Flickr8k dev), else key=value. */
function summarizeMetrics(metrics: Record<string, unknown> | null): string {
  if (!metrics) return '';
  const out: string[] = [];
  const held = recallLine('Held-out text → photo', metrics.after ?? metrics.val);
  if (held) {
    out.push(held);
    const before = (metrics.before as Record<string, Record<string, number>> | undefined)?.textToImage;
    if (before && typeof before.r5 === 'number') out.push(`before training R@5 ${before.r5.toFixed(1)}%`);
    return out.join(' · ');
  }
  // The built-in model records the figure its documentation quotes: Flickr8k dev photos it never saw.
  const dev = recallLine('Flickr8k dev text → photo', metrics.flickr8kDev) ?? recallLine('Held-out text → photo', metrics.heldOut) ?? recallLine('Text → photo', metrics);
  if (dev) return dev;
  for (const [k, v] of Object.entries(metrics)) {
    if (typeof v === 'number') out.push(`${k} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
    if (out.length >= 4) break;
  }
  return out.join(' · ');
}
