/** Errors a person can act on: a code the fronts map to words, and one line naming the problem and the fix. */
import type { ErrorCode, Result } from '../../shared/api';
import { oneLine } from '../../shared/format';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
  }
}

/**
 * A job stopped because it was asked to (index, training, import, download, model switch): one error for
 * every kind, so every front reports it the same way (the CLI exits 130). The message says what was kept;
 * `partial` carries what was done before it stopped (an index run's summary).
 */
export class Cancelled<T = undefined> extends AppError {
  constructor(
    message = 'Cancelled.',
    readonly partial?: T,
  ) {
    super('cancelled', message);
    this.name = 'Cancelled';
  }
}

export function toResult<T>(fn: () => Promise<T>): Promise<Result<T>> {
  // Run inside a promise chain: a method that throws before returning its promise (a busy job, an unknown
  // model) must still become a Result with its own code, not escape to the transport as 'internal'.
  return Promise.resolve()
    .then(fn)
    .then(
      (value) => ({ ok: true as const, value }),
      (e: unknown) => errorResult(e),
    );
}

export function errorResult(e: unknown): { ok: false; code: ErrorCode; message: string } {
  if (e instanceof AppError) return { ok: false, code: e.code, message: e.message };
  // A library's own abort (fetch, timers) aborted by one of our signals.
  if (e instanceof Error && e.name === 'AbortError') return { ok: false, code: 'cancelled', message: 'Cancelled.' };
  // Unknown errors keep their message (one line) but never a stack trace.
  return { ok: false, code: 'internal', message: oneLine(e) };
}
