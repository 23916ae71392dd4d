/**
 * The backend's side of the API table (shared/api.ts): each domain's service declares its slice of the
 * handlers next to its code (library/service.ts, search/service.ts, …); this file merges them, adds the
 * job runner's and the desktop-only methods, and is the port the transports run validated calls through.
 * The transports validated each request already (acceptCall), so a handler receives typed params and
 * returns a typed value; the compiler fails here when the table gains, loses or retypes a method.
 */
import type { ApiEvent, ApiHandlers, ApiMethod, ApiParams, ApiResult, BackendPort, PhotoFileSize, Result } from '../../shared/api';
import { AppError, toResult } from './errors';
import type { CatalogHandlers } from './catalog/service';
import type { CompactionHandlers } from './library/compaction';
import type { ModelSwitchHandlers } from './library/model-switch';
import type { LibraryHandlers } from './library/service';
import type { SearchHandlers } from './search/service';
import type { BackendState } from './state';
import type { TrainingHandlers } from './training';

const desktopOnly = (): Promise<never> => Promise.reject(new AppError('unsupported', 'This needs the desktop app; in the browser, copy the path instead.'));

/** Each domain's service, as the merge sees it: its slice of the handlers. */
export interface Slices {
  library: { handlers(): LibraryHandlers };
  compaction: { handlers(): CompactionHandlers };
  modelSwitch: { handlers(): ModelSwitchHandlers };
  catalog: { handlers(): CatalogHandlers };
  search: { handlers(): SearchHandlers };
  training: { handlers(): TrainingHandlers };
}

/** Every slice's handlers in one table, plus the job runner's and the desktop-only methods. */
export function mergeHandlers(state: BackendState, s: Slices): ApiHandlers {
  return {
    ...s.library.handlers(),
    ...s.compaction.handlers(),
    ...s.modelSwitch.handlers(),
    ...s.catalog.handlers(),
    ...s.search.handlers(),
    ...s.training.handlers(),
    jobs: async () => state.jobs.list(),
    cancelJob: async (p) => state.jobs.cancel(p.id),
    openPhoto: desktopOnly,
    showInFolder: desktopOnly,
    pickFolder: desktopOnly,
  };
}

/** What the transports need of a running backend. */
export interface PortSource {
  readonly handlers: ApiHandlers;
  photoFile(id: number, size: PhotoFileSize): Promise<string | null>;
  onEvent(listener: (e: ApiEvent) => void): () => void;
  explain(e: unknown): Error;
}

/** The backend as the transports see it: handler errors (a full disk, a damaged library file in words) as Results. */
export function backendPort(b: PortSource, handlers: ApiHandlers = b.handlers): BackendPort {
  return {
    call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<Result<ApiResult<M>>> {
      return toResult(async () => {
        try {
          return await handlers[method](params);
        } catch (e) {
          throw b.explain(e);
        }
      });
    },
    photoFile: (id, size) => b.photoFile(id, size),
    onEvent: (listener) => b.onEvent(listener),
  };
}
