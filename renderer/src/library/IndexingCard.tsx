/** The latest indexing (or re-embedding) job: progress, cancel, and what a finished run did. */
import type { IndexSummary, JobInfo } from '../../../shared/api';
import { JobProgress } from '../components/common';

export function IndexingCard({ job, onCancel, onDismiss }: { job: JobInfo | null; onCancel(id: string): void; onDismiss(id: string): void }) {
  const summary = job?.state === 'done' && job.kind === 'index' ? (job.result as IndexSummary | null) : null;
  return (
    <div className="card">
      <h2>Indexing</h2>
      {job ? (
        <JobProgress job={job} label={job.kind === 'index' ? 'Indexing' : 'Updating embeddings'} onCancel={() => onCancel(job.id)} onDismiss={() => onDismiss(job.id)}>
          {summary && (
            <p className="summary" data-testid="index-summary">
              Done: {summary.added} added, {summary.updated} updated, {summary.removed} removed, {summary.unchanged} unchanged,{' '}
              {summary.skipped} skipped in {summary.seconds.toFixed(1)} s.
            </p>
          )}
          {job.state === 'cancelled' && job.kind === 'index' && <p className="muted small-text">Photos indexed before the cancel are kept. Resume the folder to finish.</p>}
        </JobProgress>
      ) : (
        <p className="muted">Nothing running. Adding a folder or re-scanning starts indexing.</p>
      )}
    </div>
  );
}
