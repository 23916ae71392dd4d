/** A progress bar on stderr for a job (cli-progress); plain lines when stderr is not a terminal. */
import cliProgress from 'cli-progress';
import type { JobInfo } from '../../shared/api';
import { shown } from './terminal';

function eta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '';
  if (s < 60) return `${Math.round(s)} s left`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s left`;
}

function rate(r: number | null | undefined): string {
  if (!r || !Number.isFinite(r)) return '';
  return `${r >= 10 ? Math.round(r) : r.toFixed(1)}/s`;
}

/** "12.5/s, 40 s left" (either part may be missing). */
function speed(job: JobInfo): string {
  return [rate(job.rate), eta(job.etaSeconds)].filter(Boolean).join(', ');
}

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private lastKey = '';
  private lastLine = 0;
  private readonly tty = !!process.stderr.isTTY;

  constructor(private readonly label: string) {}

  update(info: JobInfo): void {
    // Stages can name a file or folder the user chose ("Importing <source>").
    const job = { ...info, stage: shown(info.stage) };
    if (this.tty) {
      // While counting (total 0) there is no bar yet: the stage says how many were found so far.
      if (!this.bar && job.total === 0) {
        process.stderr.write(`\r${this.label}: ${job.stage}`);
        return;
      }
      if (!this.bar) {
        process.stderr.write('\n');
        this.bar = new cliProgress.SingleBar(
          { format: `${this.label} [{bar}] {value}/{total} {stage} {speed}`, stream: process.stderr, hideCursor: true, clearOnComplete: false },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(Math.max(job.total, 1), job.done, { stage: job.stage, speed: '' });
      }
      this.bar.setTotal(Math.max(job.total, job.done, 1));
      this.bar.update(job.done, { stage: job.stage, speed: job.state === 'running' ? speed(job) : '' });
      return;
    }
    // Not a terminal (CI, pipes): a line when the stage or the state changes, else at most every 5 s. The
    // last progress event and the job's end both say "Done": one line for both.
    const stage = job.stage.replace(/ \([\d,]+ found\)$/, '');
    const key = `${stage}|${job.state === 'running' || job.state === 'done' ? 'on' : job.state}`;
    const now = Date.now();
    if (key !== this.lastKey || (now - this.lastLine > 5000 && job.state === 'running')) {
      this.lastKey = key;
      this.lastLine = now;
      const s = job.state === 'running' ? speed(job) : '';
      process.stderr.write(`${this.label}: ${job.stage}${job.total ? ` ${job.done}/${job.total}` : ''}${s ? ` (${s})` : ''}\n`);
    }
  }

  note(text: string): void {
    process.stderr.write(`\n${shown(text)}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
