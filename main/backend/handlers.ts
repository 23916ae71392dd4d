/**
 * The backend's side of the API table (shared/api.ts): one typed handler per method, and the port the
 * transports (IPC in main, the browser-mode server) run validated calls through. The transports validated
 * each request already (acceptCall), so a handler receives typed params and returns a typed value; the
 * compiler fails here when the table gains, loses or retypes a method.
 */
import type { ApiHandlers, ApiMethod, ApiParams, ApiResult, BackendPort, Result } from '../../shared/api';
import { AppError, toResult } from './errors';
import { userPath, userSource, type Backend } from './service';

const desktopOnly = (): Promise<never> => Promise.reject(new AppError('unsupported', 'This needs the desktop app; in the browser, copy the path instead.'));

export function apiHandlers(b: Backend): ApiHandlers {
  return {
    status: () => b.status(),
    search: ({ query, top, ...opts }) => b.search(query, top, opts),
    searchLike: ({ id, top, ...opts }) => b.searchLike(id, top, opts),
    searchImage: ({ image, ...opts }) => b.searchImage(Buffer.from(image, 'base64'), opts),
    duplicates: (p) => b.duplicates(p.threshold),
    folders: async () => b.folders(),
    addFolder: (p) => b.addFolder(p.path),
    removeFolder: (p) => b.removeFolder(p.path),
    rescan: async () => b.startIndex().info,
    skipped: async (p) => b.skipped(p.limit, p.offset),
    jobs: async () => b.jobList(),
    cancelJob: async (p) => b.cancelJob(p.id),
    inspectCaptionSet: (p) => b.inspectCaptionSet(userPath(p.path, 'captioned set')),
    startTraining: async (p) => b.startTraining({ ...p, set: userPath(p.set, 'captioned set') }).info,
    models: async () => b.models(),
    activateModel: async (p) => (await b.activateModel(p.id))?.info ?? null,
    importModel: async (p) => b.startImport(userSource(p.source)).info,
    removeModel: (p) => b.removeModel(p.id),
    librarySize: () => b.librarySize(),
    compact: (p) => b.compact({ dryRun: p?.dryRun }),
    openPhoto: desktopOnly,
    showInFolder: desktopOnly,
    pickFolder: desktopOnly,
  };
}

/** The backend as the transports see it: handler errors (a full disk, a damaged library file in words) as Results. */
export function backendPort(b: Backend, handlers: ApiHandlers = apiHandlers(b)): BackendPort {
  return {
    call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<Result<ApiResult<M>>> {
      return toResult(async () => {
        try {
          return await handlers[method](params);
        } catch (e) {
          throw b.store.explain(e);
        }
      });
    },
    photoFile: (id, size) => b.photoFile(id, size),
    onEvent: (listener) => b.onEvent(listener),
  };
}
