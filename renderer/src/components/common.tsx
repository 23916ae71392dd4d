import type { JobInfo } from '../../../shared/api';
import { formatEta } from '../format';

export function ErrorLine({ text }: { text: string | null }) {
  if (!text) return null;
  return (
    <p className="error" role="alert">
      {text}
    </p>
  );
}

export function JobProgress({ job, label, onCancel }: { job: JobInfo; label: string; onCancel?: () => void }) {
  const running = job.state === 'running' || job.state === 'queued';
  const counts = job.total > 0 ? `${job.done.toLocaleString()} of ${job.total.toLocaleString()}` : '';
  const eta = running ? formatEta(job.etaSeconds) : '';
  return (
    <div className={`job job-${job.state}`}>
      <div className="job-head">
        <strong>{label}</strong>
        <span className="muted">{job.stage}</span>
        {running && onCancel && (
          <button type="button" className="small" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      <progress
        aria-label={`${label} progress`}
        max={job.total > 0 ? job.total : 1}
        value={job.state === 'done' ? (job.total > 0 ? job.total : 1) : job.total > 0 ? job.done : undefined}
      />
      <div className="job-foot muted">
        <span data-testid="job-counts">{counts}</span>
        <span>{eta}</span>
        {job.state === 'failed' && <span className="error-text">{job.message ?? 'Failed.'}</span>}
        {job.state === 'cancelled' && <span>Cancelled.</span>}
      </div>
    </div>
  );
}
