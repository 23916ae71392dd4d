/**
 * The one relay between a job and the worker thread that runs it (indexing, training), both sides:
 *  - main side, `runInWorker`: starts the worker, forwards its events, sends `cancel` when the job's signal
 *    aborts, and settles once: with the result, a Cancelled (with what was done), or an AppError with the
 *    code the worker's error had;
 *  - worker side, `serveInWorker`: runs the task with an abort signal that `cancel` trips, and posts how it
 *    ended. Messages: worker → main event / done / cancelled / error; main → worker cancel.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ErrorCode } from '../../shared/api';
import { AppError, Cancelled, errorResult } from './errors';
import { startWorker } from './worker-path';
import { oneLine } from '../../shared/format';

type ToWorker = { type: 'cancel' };
type FromWorker<R, E> =
  | { type: 'event'; event: E }
  | { type: 'done'; result: R }
  | { type: 'cancelled'; partial: unknown }
  | { type: 'error'; code: ErrorCode; message: string };

export interface RunInWorkerOptions<E> {
  /** The worker module: `name`.js (or .ts under the test runner) in `dir`. */
  dir: string;
  name: string;
  /** The task's input, as the worker's workerData. */
  input: unknown;
  signal?: AbortSignal;
  onEvent?: (event: E) => void;
  /** What a cancel says (the Cancelled message), whoever noticed it first. */
  cancelMessage: string;
  /** The error when the worker dies (out of memory, a crash) before it answers. */
  crashed: (e: Error & { code?: string }) => Error;
  /** The error when the worker exits before it answers. */
  exited: (code: number) => Error;
  /** Terminate a worker still running this long after a cancel (one stuck in a long native call). */
  killAfterCancelMs?: number;
}

export function runInWorker<R, E = never>(opts: RunInWorkerOptions<E>): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const { signal } = opts;
    if (signal?.aborted) return reject(new Cancelled(opts.cancelMessage));
    const worker = startWorker(opts.dir, opts.name, { workerData: opts.input });
    let settled = false;
    let killTimer: NodeJS.Timeout | null = null;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      fn();
      // The worker has posted its answer after its own clean-up (serveInWorker), so nothing is cut short.
      void worker.terminate();
    };
    const onAbort = () => {
      worker.postMessage({ type: 'cancel' } satisfies ToWorker);
      if (opts.killAfterCancelMs !== undefined) {
        killTimer = setTimeout(() => finish(() => reject(new Cancelled(opts.cancelMessage))), opts.killAfterCancelMs);
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    worker.on('message', (m: FromWorker<R, E>) => {
      if (m.type === 'event') opts.onEvent?.(m.event);
      else if (m.type === 'done') finish(() => resolve(m.result));
      else if (m.type === 'cancelled') finish(() => reject(new Cancelled(opts.cancelMessage, m.partial)));
      else if (m.type === 'error') finish(() => reject(new AppError(m.code, m.message)));
    });
    worker.on('error', (e: Error & { code?: string }) => finish(() => reject(opts.crashed(e))));
    worker.on('exit', (code) => finish(() => reject(signal?.aborted ? new Cancelled(opts.cancelMessage) : opts.exited(code))));
  });
}

export interface WorkerContext<E> {
  signal: AbortSignal;
  send(event: E): void;
}

/**
 * Worker side: run `task` on this worker's input and post how it ended. The task cleans up (closes its
 * store, disposes its model) before it settles: the main side terminates the worker once it has the answer.
 */
export function serveInWorker<I, R, E = never>(task: (input: I, ctx: WorkerContext<E>) => Promise<R>): void {
  const port = parentPort;
  if (!port) throw new Error('serveInWorker must run in a worker thread.');
  const controller = new AbortController();
  const post = (m: FromWorker<R, E>) => port.postMessage(m);
  port.on('message', (m: ToWorker) => {
    if (m?.type === 'cancel') controller.abort();
  });
  task(workerData as I, { signal: controller.signal, send: (event) => post({ type: 'event', event }) })
    .then(
      (result) => post({ type: 'done', result }),
      (e: unknown) => {
        if (e instanceof Cancelled || controller.signal.aborted) return post({ type: 'cancelled', partial: e instanceof Cancelled ? e.partial : undefined });
        const r = errorResult(e);
        post({ type: 'error', code: r.code, message: oneLine(r.message) });
      },
    )
    .finally(() => port.close()); // lets the worker's event loop end
}
