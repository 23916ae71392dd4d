/** Importing a model: the layouts it reads, a folder or hf:OWNER/NAME, and the import job. The typed source stays until its import succeeds. */
import { useEffect, useState } from 'react';
import { describeError } from '../api/errors';
import { ErrorLine, JobProgress } from '../components/common';
import { latestJob, useApi, useEvents } from '../state';

export function ImportCard() {
  const { api, store } = useApi();
  const { jobs, dismissed } = useEvents();
  const [source, setSource] = useState('');
  const [importError, setImportError] = useState<string | null>(null);
  const [importId, setImportId] = useState<string | null>(null);
  const importJob = latestJob(jobs, ['import'], dismissed);

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
  );
}
