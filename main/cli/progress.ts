/** A progress bar on stderr for a job (cli-progress); plain lines when stderr is not a terminal. */
import cliProgress from 'cli-progress';
import type { JobInfo } from '../../shared/api';

function eta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '';
  if (s < 60) return `${Math.round(s)} s left`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s left`;
}

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private lastStage = '';
  private lastLine = 0;
  private readonly tty = !!process.stderr.isTTY;

  constructor(private readonly label: string) {}

  update(job: JobInfo): void {
    if (this.tty) {
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          { format: `${this.label} [{bar}] {value}/{total} {stage} {eta_text}`, stream: process.stderr, hideCursor: true, clearOnComplete: false },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(Math.max(job.total, 1), job.done, { stage: job.stage, eta_text: '' });
      }
      this.bar.setTotal(Math.max(job.total, job.done, 1));
      this.bar.update(job.done, { stage: job.stage, eta_text: eta(job.etaSeconds) });
      return;
    }
    // Not a terminal (CI, pipes): a line when the stage changes, else at most every 5 s.
    const now = Date.now();
    if (job.stage !== this.lastStage || now - this.lastLine > 5000 || job.state !== 'running') {
      this.lastStage = job.stage;
      this.lastLine = now;
      process.stderr.write(`${this.label}: ${job.stage}${job.total ? ` ${job.done}/${job.total}` : ''}${job.etaSeconds ? ` (${eta(job.etaSeconds)})` : ''}\n`);
    }
  }

  note(text: string): void {
    process.stderr.write(`\n${text}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
