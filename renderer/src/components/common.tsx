import type { ReactNode } from 'react';
import type { JobInfo } from '../../../shared/api';
import { formatEta, formatRate } from '../format';

export function ErrorLine({ text }: { text: string | null }) {
  if (!text) return null;
  return (
    <p className="error" role="alert">
      {text}
    </p>
  );
}

const ENDED: Record<'done' | 'cancelled' | 'failed', string> = { done: 'Done', cancelled: 'Cancelled', failed: 'Failed' };

/**
 * A job's progress while it runs (indeterminate bar while its total is unknown, counts, rate, time left),
 * and how it ended once it has: Done, Cancelled (with how far it got) or Failed (with why), dismissible.
 */
export function JobProgress({
  job,
  label,
  onCancel,
  onDismiss,
  children,
}: {
  job: JobInfo;
  label: string;
  onCancel?: () => void;
  onDismiss?: () => void;
  children?: ReactNode;
}) {
  const running = job.state === 'running';
  const ended = running ? null : ENDED[job.state as keyof typeof ENDED];
  const counts = job.total > 0 ? `${job.done.toLocaleString()} of ${job.total.toLocaleString()}` : '';
  const speed = running && job.total > 0 ? [formatRate(job.rate ?? null), formatEta(job.etaSeconds)].filter(Boolean).join(' · ') : '';
  // Done fills the bar; cancelled and failed show how far they got (an unknown total shows none).
  const value = job.state === 'done' ? Math.max(job.total, 1) : job.total > 0 ? job.done : running ? undefined : 0;
  return (
    <div className={`job job-${job.state}`} data-testid={`job-${job.kind}`}>
      <div className="job-head">
        <strong>{label}</strong>
        {ended ? (
          <span className={`badge state state-${job.state}`} data-testid="job-state">
            {ended}
          </span>
        ) : (
          <span className="muted stage">{job.stage}</span>
        )}
        <span className="spacer" />
        {running && onCancel && (
          <button type="button" className="small" onClick={onCancel}>
            Cancel
          </button>
        )}
        {!running && onDismiss && (
          <button type="button" className="small" onClick={onDismiss} aria-label={`Dismiss ${label.toLowerCase()} ${ended?.toLowerCase() ?? ''}`.trim()}>
            Dismiss
          </button>
        )}
      </div>
      <progress aria-label={`${label} progress`} max={job.total > 0 ? job.total : 1} value={value} />
      <div className="job-foot muted">
        <span data-testid="job-counts">{counts}</span>
        <span>{speed}</span>
      </div>
      {job.state === 'failed' && <p className="error-text job-message">{job.message ?? 'Failed.'}</p>}
      {children}
    </div>
  );
}

/** An inline "are you sure?" with the consequences spelled out, instead of a browser dialog. */
export function Confirm({ text, confirmLabel, onConfirm, onCancel }: { text: string; confirmLabel: string; onConfirm(): void; onCancel(): void }) {
  return (
    <div className="confirm" role="alertdialog" aria-label={confirmLabel}>
      <p>{text}</p>
      <div className="row">
        <button type="button" className="danger" onClick={onConfirm}>
          {confirmLabel}
        </button>
        <button type="button" onClick={onCancel} autoFocus>
          Cancel
        </button>
      </div>
    </div>
  );
}
