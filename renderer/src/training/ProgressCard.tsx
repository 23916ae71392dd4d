/** The run's progress: the job bar, the per-epoch chart and what its lines are measured on. */
import type { EvalResult, JobInfo, TrainEpoch } from '../../../shared/api';
import { JobProgress } from '../components/common';
import { pct } from '../format';
import { EpochChart } from './EpochChart';

interface Props {
  job: JobInfo | null;
  history: TrainEpoch[];
  baseline: EvalResult | null;
  /** The run has finished (the chart shows the chosen step). */
  finished: boolean;
  onDismiss(id: string): void;
}

/** Cross-validation: each epoch's held-out figures are pooled over the folds that have reached it; say how many. */
function foldsNote(history: TrainEpoch[], finished: boolean): string {
  const folds = history.reduce<TrainEpoch['folds']>((least, e) => (e.folds && (!least || e.folds.done < least.done) ? e.folds : least), undefined);
  if (!folds) return '';
  const pooled = folds.done === folds.of ? 'all of them' : `${folds.done} of them so far`;
  const step = history[0]?.step ? ` These are the ${history[0].step} step's epochs${finished ? ' (the one chosen)' : ''}.` : '';
  return ` Every photo is held out once over ${folds.of} folds; the lines pool ${pooled}. The blue line is the fine-tuned heads alone, before they are blended with the starting ones.${step}`;
}

export function ProgressCard({ job, history, baseline, finished, onDismiss }: Props) {
  return (
    <div className="card">
      <h2>Progress</h2>
      {job ? <JobProgress job={job} label="Training" onDismiss={() => onDismiss(job.id)} /> : <p className="muted">No training yet. Inspect a captioned set, then start.</p>}
      <div className="chart" aria-label="Loss and validation recall per epoch" role="img" data-x-max={history[0]?.epochs ?? ''}>
        {history.length > 0 ? <EpochChart history={history} baseline={baseline} /> : <p className="muted chart-empty">The chart fills in after each epoch.</p>}
      </div>
      {baseline && (
        <p className="muted small-text" data-testid="baseline">
          Dashed grey line: the starting model, R@5 {pct(baseline.textToImage.r5)} on the same held-out photos.
          {foldsNote(history, finished)}
        </p>
      )}
    </div>
  );
}
