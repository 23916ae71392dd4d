/**
 * Long jobs (indexing, training, imports, re-embedding): each reports progress as events and takes a cancel
 * signal; one job of a kind at a time. Indexing and training run in worker threads; imports and re-embedding
 * run asynchronously on this thread.
 */
import { EventEmitter } from 'node:events';
import type { JobInfo, JobKind } from '../../shared/api';
import { AppError, errorResult } from './errors';

export interface JobContext {
  signal: AbortSignal;
  progress(update: { stage?: string; done?: number; total?: number; etaSeconds?: number | null; rate?: number | null }): void;
}

interface Job {
  info: JobInfo;
  controller: AbortController;
  promise: Promise<unknown>;
}

/** Finished jobs kept for the job list and their results (the most recent ones). */
export const KEEP_FINISHED = 100;

export class JobManager {
  private jobs = new Map<string, Job>();
  private counter = 0;
  readonly events = new EventEmitter();

  list(): JobInfo[] {
    return [...this.jobs.values()].map((j) => ({ ...j.info }));
  }

  running(kind: JobKind): JobInfo | null {
    for (const j of this.jobs.values()) if (j.info.kind === kind && j.info.state === 'running') return { ...j.info };
    return null;
  }

  /** Resolves once no job of `kind` is running (at once when none is). */
  async idle(kind: JobKind): Promise<void> {
    for (const j of [...this.jobs.values()]) {
      if (j.info.kind === kind && j.info.state === 'running') await j.promise.catch(() => undefined);
    }
  }

  /** Start a job; `run` resolves to the job's result. Returns immediately. */
  start<T>(kind: JobKind, stage: string, run: (ctx: JobContext) => Promise<T>): { info: JobInfo; done: Promise<T> } {
    const busy = this.running(kind);
    if (busy) throw new AppError('busy', `${/^[aeiou]/.test(kind) ? 'An' : 'A'} ${kind} job is already running (${busy.stage}). Wait for it or cancel it.`);
    this.counter += 1;
    const id = `${kind}-${Date.now().toString(36)}-${this.counter}`;
    const controller = new AbortController();
    const info: JobInfo = {
      id,
      kind,
      state: 'running',
      stage,
      done: 0,
      total: 0,
      etaSeconds: null,
      rate: null,
      startedAt: new Date().toISOString(),
      message: null,
      result: null,
    };
    let lastEmit = 0;
    const ctx: JobContext = {
      signal: controller.signal,
      progress: (u) => {
        if (u.stage !== undefined) info.stage = u.stage;
        if (u.done !== undefined) info.done = u.done;
        if (u.total !== undefined) info.total = u.total;
        if (u.etaSeconds !== undefined) info.etaSeconds = u.etaSeconds;
        if (u.rate !== undefined) info.rate = u.rate;
        // Throttle events: a UI needs ~10 updates a second, not one per photo.
        const now = Date.now();
        if (now - lastEmit >= 100 || info.done === info.total) {
          lastEmit = now;
          this.emit(info);
        }
      },
    };
    const promise = (async () => {
      try {
        const result = await run(ctx);
        info.state = 'done';
        info.result = result;
        info.etaSeconds = 0;
        info.stage = 'Done';
        // A job that counted nothing (an empty folder) is still complete: 0 of 0 reads as done.
        if (info.total > 0 && info.done < info.total) info.done = info.total;
        return result;
      } catch (e) {
        const r = errorResult(e);
        info.state = controller.signal.aborted || r.code === 'cancelled' ? 'cancelled' : 'failed';
        info.message = info.state === 'cancelled' ? 'Cancelled.' : r.message;
        // The stage said what was happening; a finished job says how it ended (the fraction stays true).
        info.stage = info.state === 'cancelled' ? 'Cancelled' : 'Failed';
        info.etaSeconds = null;
        throw e;
      } finally {
        this.emit(info);
        this.prune();
      }
    })();
    promise.catch(() => undefined); // observed through events / done
    this.jobs.set(id, { info, controller, promise });
    this.emit(info);
    return { info: { ...info }, done: promise };
  }

  /** What job `id` resolves to (its kind's result), or its error. */
  result(id: string): Promise<unknown> {
    const job = this.jobs.get(id);
    if (!job) return Promise.reject(new AppError('not_found', `No job "${id}".`));
    return job.promise;
  }

  /** Forget the oldest finished jobs past KEEP_FINISHED: a server that runs for days starts thousands. */
  private prune(): void {
    let finished = 0;
    for (const j of this.jobs.values()) if (j.info.state !== 'running') finished++;
    for (const [id, j] of this.jobs) {
      if (finished <= KEEP_FINISHED) break;
      if (j.info.state === 'running') continue;
      this.jobs.delete(id);
      finished--;
    }
  }

  cancel(id: string): JobInfo {
    const job = this.jobs.get(id);
    if (!job) throw new AppError('not_found', `No job "${id}".`);
    job.controller.abort();
    return { ...job.info };
  }

  async cancelAll(): Promise<void> {
    const pending = [...this.jobs.values()].filter((j) => j.info.state === 'running');
    for (const j of pending) j.controller.abort();
    await Promise.allSettled(pending.map((j) => j.promise));
  }

  private emit(info: JobInfo): void {
    this.events.emit('job', { ...info });
  }
}
