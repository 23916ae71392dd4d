/**
 * What a command's body gets: the API table's methods (each request checked by the same `acceptCall` as IPC
 * and browser mode, then run by the same handlers), the backend's events, and following a job to its result.
 */
import { acceptCall, API_METHODS, type ApiEvent, type ApiMethod, type ApiRequest, type ApiResult, type JobInfo } from '../../shared/api';
import { AppError, type RunningBackend } from '../backend';
import { Progress } from './progress';

export interface GlobalOpts {
  data?: string;
  modelDir?: string;
}

type Args<M extends ApiMethod> = undefined extends ApiRequest<M> ? [request?: ApiRequest<M>] : [request: ApiRequest<M>];
/** The API table as the CLI calls it: a refused request or a failed call throws (one line, see main). */
export type CliApi = { [M in ApiMethod]: (...request: Args<M>) => Promise<ApiResult<M>> };

export interface Cli {
  api: CliApi;
  onEvent(listener: (e: ApiEvent) => void): () => void;
  /** Follow a job with a progress bar until it ends (Ctrl-C cancels it); resolve to its result. */
  follow<T>(job: JobInfo, label: string): Promise<T>;
  /** The running backend, for `serve` (its port) and start-up. */
  backend: RunningBackend;
}

export function cliApi(b: RunningBackend): CliApi {
  const api: Record<string, (request?: unknown) => Promise<unknown>> = {};
  for (const method of API_METHODS) {
    api[method] = async (request) => {
      const checked = acceptCall(method, request);
      if (!checked.ok) throw new AppError(checked.code, checked.message);
      const run = b.handlers[checked.call.method] as (params: unknown) => Promise<unknown>;
      return run(checked.call.params);
    };
  }
  return api as CliApi;
}

export function cliFor(b: RunningBackend): Cli {
  const api = cliApi(b);
  return {
    api,
    backend: b,
    onEvent: (listener) => b.onEvent(listener),
    async follow<T>(job: JobInfo, label: string): Promise<T> {
      const bar = new Progress(label);
      const off = b.onEvent((e) => {
        if (e.type === 'job' && e.job.id === job.id) bar.update(e.job);
      });
      const onSigint = () => {
        bar.note('Cancelling (finishing the batch in flight)...');
        void api.cancelJob({ id: job.id }).catch(() => undefined);
      };
      process.once('SIGINT', onSigint);
      try {
        return (await b.jobResult(job.id)) as T;
      } finally {
        process.off('SIGINT', onSigint);
        off();
        bar.stop();
      }
    },
  };
}

/** A command's body. */
export type CommandBody = (cli: Cli, g: GlobalOpts) => Promise<void>;
/** Runs a body: with a started backend (`needsBackend`, the default), one line on failure, the exit code. */
export type Runner = (fn: CommandBody, needsBackend?: boolean) => Promise<void>;
