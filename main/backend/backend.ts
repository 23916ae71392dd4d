/**
 * Start-up: open the shared state and the domain services over it, and merge their slices of the API table
 * (handlers.ts). No object here knows every method: each domain's work and handlers live in its folder, and
 * the fronts call the handlers.
 */
import type { ApiEvent, ApiHandlers, PhotoFileSize } from '../../shared/api';
import { CatalogService } from './catalog/service';
import { headsKind } from './catalog/registry';
import { mergeHandlers } from './handlers';
import { CompactionService } from './library/compaction';
import { LiveFolders, type WatchOptions } from './library/live-folders';
import { ModelSwitch } from './library/model-switch';
import { LibraryService } from './library/service';
import { userSource } from './paths';
import { SearchService } from './search/service';
import { BackendState, type BackendOptions } from './state';
import { TrainingService } from './training';
import { baseRecipe, FINE_TUNE, fineTunes } from './train/recipe';

export type { BackendOptions };

/**
 * What a front gets from start-up: the API table's handlers (the only way in), events, the confined photo
 * files, a job's result, and the storage failure of an error in words.
 */
export interface RunningBackend {
  readonly handlers: ApiHandlers;
  onEvent(listener: (e: ApiEvent) => void): () => void;
  photoFile(id: number, size: PhotoFileSize): Promise<string | null>;
  /** What a job the handlers started resolves to (IndexSummary, ModelInfo, TrainResult), or its error. */
  jobResult(id: string): Promise<unknown>;
  /** A full disk or a damaged library file as one line naming the file; else `e` as an Error. */
  explain(e: unknown): Error;
  /** Folders photos may be served from besides the library's: the thumbnail cache. */
  readonly thumbnailsDir: string;
  startUp(opts?: { watch?: boolean; watchOptions?: WatchOptions }): Promise<void>;
  close(): Promise<void>;
}

/** The running backend: the shared state, each domain's service, and the merged handlers the fronts call. */
export interface Backend extends RunningBackend {
  readonly state: BackendState;
  readonly library: LibraryService;
  readonly compaction: CompactionService;
  readonly modelSwitch: ModelSwitch;
  readonly liveFolders: LiveFolders;
  readonly catalog: CatalogService;
  readonly search: SearchService;
  readonly training: TrainingService;
  /** The API table's methods, one slice per domain. */
  readonly handlers: ApiHandlers;
}

/** The fronts' start-up: the running backend as they may see it (the handlers, not the services). */
export function startBackend(options: BackendOptions): Promise<RunningBackend> {
  return openBackend(options);
}

export async function openBackend(options: BackendOptions): Promise<Backend> {
  const state = await BackendState.open(options);
  let liveFolders: LiveFolders | null = null;
  const library = new LibraryService(state, () => liveFolders?.rewatch());
  liveFolders = new LiveFolders(state, (roots) => library.startIndex(roots));
  const live = liveFolders;
  const compaction = new CompactionService(state);
  const modelSwitch = new ModelSwitch(state, (ctx, id, onJob) => library.indexFor(ctx, id, onJob));
  const catalog = new CatalogService(state, userSource, (m) => {
    const r = baseRecipe(m.manifest);
    // Heads that already work are fine-tuned with a step chosen on held-out photos (train/cross-validate.ts), whatever trained them.
    if (fineTunes(m.manifest, () => headsKind(m))) return { epochs: Math.max(...FINE_TUNE.steps.map((s) => s.epochs)), schedule: 'chosen' as const };
    return { epochs: r.epochs, schedule: r.schedule };
  });
  const search = new SearchService(state);
  const training = new TrainingService(state);
  const handlers = mergeHandlers(state, { library, compaction, modelSwitch, catalog, search, training });
  return {
    state,
    library,
    compaction,
    modelSwitch,
    liveFolders: live,
    catalog,
    search,
    training,
    handlers,
    onEvent: (listener) => state.onEvent(listener),
    photoFile: (id, size) => library.photoFile(id, size),
    jobResult: (id) => state.jobs.result(id),
    explain: (e) => state.store.explain(e),
    thumbnailsDir: state.thumbnailsDir,
    // A long-running front (the desktop app, `serve`) at start: finish a model switch a crash interrupted (in
    // the background; search uses the old model meanwhile), embed the library again when an upgrade changed
    // the active model, start loading the search index so the first search does not wait for it, and watch
    // the library's folders.
    async startUp(opts = {}) {
      await modelSwitch.resume().catch(() => null);
      await library.reembedOutdated().catch(() => null);
      search.warmUp();
      if (opts.watch ?? true) await live.watch(opts.watchOptions);
    },
    async close() {
      await live.close();
      await state.close();
    },
  };
}
