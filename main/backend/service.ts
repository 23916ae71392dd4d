/**
 * The backend service: one object that the Electron app, the browser-mode server and the CLI all construct.
 * It owns the store, the model registry, the active model (loaded lazily: search needs only the text tower),
 * the in-memory vector index and the long jobs (which run in workers).
 */
import { EventEmitter } from 'node:events';
import { existsSync, promises as fs, realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {
  AddFolderResult,
  ApiEvent,
  CaptionSetInfo,
  EvalResult,
  FolderInfo,
  IndexSummary,
  JobInfo,
  LibraryStatus,
  ModelInfo,
  RemoveFolderResult,
  SearchHit,
  SetEvalResult,
  SkippedFile,
  TrainOptions,
  TrainResult,
  DuplicateGroup,
  SearchOptions,
  CompactResult,
  LibrarySize,
} from '../../shared/api';
import { MAX_SEARCH_IMAGE_BYTES } from '../../shared/api';
import { AppError, Cancelled } from './errors';
import { resolveAllowedFile, resolveLibraryFile } from './fs/confine';
import { JobManager, type JobContext } from './jobs';
import { acquireIndexLock } from './library/index-lock';
import { runIndexInWorker } from './library/index-worker';
import { reembedFromCache } from './library/indexer';
import { compactInWorker, librarySizeInWorker } from './library/compact-worker';
import { pruneThumbnails, thumbnailFor, thumbnailPath, touchThumbnail } from './library/thumbnails';
import { isPhotoName, normalizeRoots, walkPhotos } from './library/walk';
import { FolderWatcher, type FolderWatcherOptions } from './library/watch';
import { loadModel } from './model/model';
import { headsKind, ModelRegistry } from './catalog/registry';
import type { EmbeddingModel } from './model/types';
import { findDuplicates } from './search/duplicates';
import { LiveIndex } from './search/live-index';
import { requestParts, runSearch, toSearchHits, type SearchRequest } from './search/searcher';
import type { VectorIndex } from './search/vector-index';
import { Store } from './store';
import { readCaptionSet } from './train/readers';
import { runTrainingInWorker, evaluateModelOnSet } from './train/job';
import { baseRecipe, FINE_TUNE, fineTunes } from './train/recipe';
import { storeFeatureCache } from './train/features';
import { importModel } from './catalog/import';
import { removeStaleTempFolders } from './catalog/temp-folders';
import { dataPaths, expandHome } from './paths';

export { expandHome };

export interface BackendOptions {
  dataDir: string;
  /** An extra model folder that becomes the default (tests, power users). */
  modelDir?: string | null;
  /** Size limit of the thumbnail cache (default 1 GiB); the least recently shown go first. */
  thumbnailCacheBytes?: number;
}

const ACTIVE_MODEL = 'activeModel';
/** The model a switch is embedding the library for; it becomes ACTIVE_MODEL when that is done. */
const PENDING_MODEL = 'pendingModel';
/** What search says when the model knows none of the query's words (see model/known-words.ts). */

function cancelledSwitch(id: string, left: number): Cancelled {
  return new Cancelled(
    `Switching to model ${id} was cancelled with ${left} photos still to embed; the previous model stays active. Run \`photo-search models use ${id}\` again to finish (the work done is kept).`,
  );
}

export class Backend {
  readonly store: Store;
  readonly registry: ModelRegistry;
  private readonly jobs = new JobManager();
  private watcher: FolderWatcher | null = null;
  /** Folders the watcher reported changed that are not indexed yet. */
  private readonly changedRoots = new Set<string>();
  private indexingChanges = false;
  /** A `compact` in progress: jobs that read or write the library wait for it (see untilCompacted). */
  private compacting: Promise<unknown> | null = null;
  private readonly events = new EventEmitter();
  private model: { id: string; promise: Promise<EmbeddingModel> } | null = null;
  /** The active model's search index, kept current in place (search/live-index.ts). */
  readonly searchIndex: LiveIndex;
  /** activeModelId's answer for the setting's value `chosen`. */
  private activeId: { chosen: string | null; id: string } | null = null;
  readonly thumbnailsDir: string;
  readonly modelsDir: string;

  private constructor(readonly options: BackendOptions) {
    const dataDir = options.dataDir;
    this.store = new Store(dataPaths(dataDir).db);
    this.modelsDir = path.join(dataDir, 'models');
    this.thumbnailsDir = path.join(dataDir, 'thumbnails');
    this.registry = new ModelRegistry(this.modelsDir, options.modelDir ? path.resolve(options.modelDir) : null);
    this.jobs.events.on('job', (job: JobInfo) => this.emit({ type: 'job', job }));
    this.searchIndex = new LiveIndex({
      store: this.store,
      embedDim: async () => (await this.activeModel()).embedDim,
      onChanged: () => this.emit({ type: 'library-changed' }),
      sidecarDir: dataPaths(dataDir).searchIndex,
    });
  }

  static async create(options: BackendOptions): Promise<Backend> {
    try {
      await fs.mkdir(options.dataDir, { recursive: true });
    } catch (e) {
      throw new AppError('invalid_input', `Cannot create the data folder ${options.dataDir}: ${(e as Error).message}. Choose another with --data.`);
    }
    const backend = new Backend(options);
    // Model saves and imports interrupted by a crash or kill leave hidden temp folders: remove them.
    await removeStaleTempFolders(backend.modelsDir);
    return backend;
  }

  async close(): Promise<void> {
    const watcher = this.watcher;
    this.watcher = null;
    await watcher?.close();
    await this.jobs.cancelAll();
    await this.searchIndex.close();
    if (this.model) await (await this.model.promise.catch(() => null))?.dispose();
    this.store.close();
  }

  // ---- events --------------------------------------------------------------------------------------

  onEvent(listener: (e: ApiEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  private emit(e: ApiEvent): void {
    this.events.emit('event', e);
  }

  // ---- jobs --------------------------------------------------------------------------------------

  jobList(): JobInfo[] {
    return this.jobs.list();
  }

  cancelJob(id: string): JobInfo {
    return this.jobs.cancel(id);
  }

  // ---- models --------------------------------------------------------------------------------------

  /**
   * The active model's id. Resolving it reads every model.json (the registry's listing) and a search asks on
   * every keystroke, so the answer is kept per value of the setting: the setting is still read each time (a
   * prepared SELECT), so a switch made by another process (the CLI while the app runs) is seen at once.
   * Forgotten whenever the models change here (switch, import, training, removal).
   */
  activeModelId(): string {
    const chosen = this.store.getSetting(ACTIVE_MODEL);
    if (this.activeId && this.activeId.chosen === chosen) return this.activeId.id;
    const id = chosen && this.registry.list().some((m) => m.id === chosen) ? chosen : this.registry.defaultId();
    this.activeId = { chosen, id };
    return id;
  }

  /** The installed models or the active one changed: forget the resolved id and tell the fronts. */
  private modelsChanged(): void {
    this.activeId = null;
    this.emit({ type: 'models-changed' });
  }

  /** The active model's folder (benchmarks load its towers themselves). */
  activeModelDir(): string {
    return this.registry.get(this.activeModelId()).dir;
  }

  /** The active model, loaded once (towers load lazily inside). */
  activeModel(): Promise<EmbeddingModel> {
    const id = this.activeModelId();
    if (!this.model || this.model.id !== id) {
      const old = this.model;
      const reg = this.registry.get(id);
      const promise = loadModel(reg.dir);
      promise.catch(() => {
        if (this.model?.promise === promise) this.model = null;
      });
      this.model = { id, promise };
      if (old) void old.promise.then((m) => m.dispose()).catch(() => undefined);
    }
    return this.model.promise;
  }

  models(): ModelInfo[] {
    const active = this.activeModelId();
    return this.registry.list().map((m) => {
      const r = baseRecipe(m.manifest);
      // Heads that already work are fine-tuned on FINE_TUNE's fixed schedule (train/job.ts), whatever trained them.
      return { ...this.registry.info(m, active), recipe: { epochs: r.epochs, schedule: fineTunes(m.manifest, () => headsKind(m)) ? FINE_TUNE.schedule : r.schedule } };
    });
  }

  /** A model switch that has not finished (its photos are still being embedded), or null. */
  pendingModel(): { id: string; embedded: number; total: number } | null {
    const id = this.store.getSetting(PENDING_MODEL);
    if (!id || id === this.activeModelId() || !this.registry.list().some((m) => m.id === id)) return null;
    return { id, embedded: this.store.countEmbeddings(id), total: this.store.countPhotos() };
  }

  /** Make `id` the active model and forget any unfinished switch, in one transaction. */
  private switchTo(id: string): void {
    this.store.transaction(() => {
      this.store.setSetting(ACTIVE_MODEL, id);
      this.store.setSetting(PENDING_MODEL, null);
    });
    this.searchIndex.drop(); // another model's vectors: loaded in full
    this.modelsChanged();
    this.emit({ type: 'library-changed' });
  }

  /**
   * Switch the active model. The library is embedded with the new model FIRST (from cached tower features:
   * heads only; photos without cached features are indexed), and the model becomes active only once that is
   * done, so a kill or a cancel midway leaves the old model active with every photo searchable. The switch
   * is remembered as pending: `resumeModelSwitch` (app and server start) or the same command again finishes
   * it, and the embeddings already written are kept.
   */
  async activateModel(idOrName: string): Promise<{ info: JobInfo; done: Promise<unknown> } | null> {
    this.refuseWhileCompacting('switch models');
    const reg = this.registry.get(idOrName); // a name resolves to its model; throws unknown_model
    const id = reg.id;
    if (this.store.countPhotos() === 0 || this.store.countMissingEmbedding(id) === 0) {
      this.switchTo(id);
      return null;
    }
    const switching = id !== this.activeModelId();
    const job = this.jobs.start('reembed', 'Re-embedding photos with the new model', async (ctx) => {
      await this.untilCompacted(ctx);
      const model = switching ? await loadModel(reg.dir) : await this.activeModel();
      // The bar counts photos embedded with the new model, so it follows the work: those with cached features
      // first (heads only, fast), then those without (decoded and run through the tower by an index job).
      const total = this.store.countMissingEmbedding(id);
      const before = this.store.countEmbeddings(id);
      let r;
      try {
        r = await reembedFromCache({
          store: this.store,
          model,
          signal: ctx.signal,
          onProgress: (p) => ctx.progress({ stage: 'Re-embedding photos from cached features', done: p.embedded, total, etaSeconds: null }),
        });
      } finally {
        if (switching) await model.dispose();
      }
      if (ctx.signal.aborted) throw cancelledSwitch(id, this.store.countMissingEmbedding(id));
      // Photos whose tower features are not cached need a real re-index (decode + tower) with the new model.
      if (r.missing > 0 && this.store.listRoots().length) {
        const stage = `Indexing ${r.missing} photos without cached features`;
        ctx.progress({ stage, done: r.embedded, total });
        let shownAt = 0;
        const follow = (inner: JobInfo) => {
          const now = Date.now();
          if (inner.state === 'running' && now - shownAt < 250) return;
          shownAt = now;
          const done = Math.max(0, Math.min(total, this.store.countEmbeddings(id) - before));
          ctx.progress({ stage, done, total, etaSeconds: inner.etaSeconds, rate: inner.rate });
        };
        try {
          await this.indexFor(ctx, id, follow);
        } catch (e) {
          if (!ctx.signal.aborted) throw e;
        }
        // A cancel that came too late to stop the last batch still leaves the switch pending, as asked.
        if (ctx.signal.aborted) throw cancelledSwitch(id, this.store.countMissingEmbedding(id));
      }
      // Photos of an unavailable folder cannot be embedded now: the switch still happens, and search says
      // how many photos the new model does not cover yet.
      this.switchTo(id);
      return r;
    });
    if (switching) {
      this.store.setSetting(PENDING_MODEL, id);
      this.modelsChanged();
    }
    return job;
  }

  /**
   * What a long-running front (the desktop app, `serve`) does at start: finish a model switch a crash
   * interrupted (in the background; search uses the old model meanwhile), then start loading the search
   * index, so the first search does not wait for it.
   */
  async startUp(opts: { watch?: boolean; watchOptions?: Omit<FolderWatcherOptions, 'onChange' | 'onProblem'> } = {}): Promise<void> {
    await this.resumeModelSwitch().catch(() => null);
    this.warmUp();
    if (opts.watch ?? true) await this.watchFolders(opts.watchOptions);
  }

  /**
   * Live folders: photos added, changed, moved or deleted under the library folders are picked up while the
   * app or `serve` runs. The watcher reports which folders changed (debounced); they go into the normal
   * incremental index job, one at a time (a report that arrives while one runs is indexed right after it).
   */
  async watchFolders(options: Omit<FolderWatcherOptions, 'onChange' | 'onProblem'> = {}): Promise<void> {
    if (this.watcher) return;
    this.watcher = new FolderWatcher({
      ...options,
      onChange: (roots) => {
        for (const r of roots) this.changedRoots.add(r);
        void this.indexChangedRoots();
      },
      onProblem: (_root, message) => this.emit({ type: 'notice', message }),
    });
    await this.watcher.setRoots(this.store.listRoots());
  }

  private async indexChangedRoots(): Promise<void> {
    if (this.indexingChanges) return;
    this.indexingChanges = true;
    try {
      while (this.changedRoots.size && this.watcher) {
        await this.jobs.idle('index');
        const library = new Set(this.store.listRoots());
        const roots = [...this.changedRoots].filter((r) => library.has(r));
        this.changedRoots.clear();
        if (!roots.length) break;
        try {
          await this.startIndex(roots).done;
        } catch (e) {
          // Another index job started in between: try again after it. A failed or cancelled run is already
          // reported through its job; the next change tries again.
          if (e instanceof AppError && e.code === 'busy') for (const r of roots) this.changedRoots.add(r);
        }
      }
    } finally {
      this.indexingChanges = false;
    }
  }

  /** The watcher follows the library's folders. */
  private rewatch(): void {
    if (this.watcher) void this.watcher.setRoots(this.store.listRoots()).catch(() => undefined);
  }

  /** Finish a model switch a crash or a cancel interrupted (app and server start); null when there is none. */
  async resumeModelSwitch(): Promise<{ info: JobInfo; done: Promise<unknown> } | null> {
    const pending = this.pendingModel();
    return pending ? this.activateModel(pending.id) : null;
  }

  /**
   * Delete a trained or imported model: its folder and its embeddings. Never the active model (search
   * needs it) and never one shipped with the app or given with --model-dir (not ours to delete).
   */
  async removeModel(idOrName: string): Promise<{ removed: string }> {
    this.refuseWhileCompacting('remove a model');
    const m = this.registry.get(idOrName);
    if (m.builtin) throw new AppError('invalid_input', `"${m.manifest.name}" is the built-in model; it cannot be removed.`);
    if (m.id === this.activeModelId()) {
      throw new AppError('invalid_input', `"${m.manifest.name}" is the active model. Switch to another first (\`photo-search models use builtin\`), then remove it.`);
    }
    if (this.pendingModel()?.id === m.id) {
      throw new AppError('invalid_input', `"${m.manifest.name}" is being switched to. Finish or cancel that switch first, then remove it.`);
    }
    const dir = path.resolve(m.dir);
    if (path.dirname(dir) !== path.resolve(this.modelsDir)) {
      throw new AppError('invalid_input', `"${m.manifest.name}" lives in ${dir}, outside the data folder's models; it was not added here, so it is not removed.`);
    }
    for (const j of this.jobs.list()) {
      if (j.state === 'running' && (j.kind === 'train' || j.kind === 'reembed')) {
        throw new AppError('busy', `A ${j.kind === 'train' ? 'training' : 're-embedding'} job is running (${j.stage}). Wait for it, then remove the model.`);
      }
    }
    // Rename first so a half-deleted folder never looks like a model (the registry skips dot-folders).
    const trash = path.join(this.modelsDir, `.removing-${m.id}`);
    await fs.rename(dir, trash);
    this.store.deleteEmbeddingsOfModel(m.id);
    await fs.rm(trash, { recursive: true, force: true });
    this.modelsChanged();
    return { removed: m.id };
  }

  startImport(source: string): { info: JobInfo; done: Promise<ModelInfo> } {
    return this.jobs.start('import', `Importing ${source}`, async (ctx) => {
      const r = await importModel({
        source,
        modelsDir: this.modelsDir,
        signal: ctx.signal,
        onProgress: (p: { stage?: string; done: number; total: number }) => ctx.progress(p),
      });
      this.modelsChanged();
      return this.models().find((m) => m.id === r.id) as ModelInfo;
    });
  }

  // ---- library -------------------------------------------------------------------------------------

  async status(): Promise<LibraryStatus> {
    let model: string;
    let modelName: string;
    try {
      model = this.activeModelId();
      modelName = this.registry.get(model).manifest.name;
    } catch {
      model = 'none';
      modelName = 'none';
    }
    return {
      images: this.store.countPhotos(),
      skipped: this.store.countSkipped(),
      model,
      modelName,
      roots: this.store.listRoots(),
      incomplete: this.store.listIncomplete(),
      embedded: model === 'none' ? 0 : this.store.countEmbeddings(model),
      pendingModel: model === 'none' ? null : this.pendingModel(),
      damaged: this.damagedEmbeddings(),
    };
  }

  /** What the library takes on disk, part by part (measured in a worker: it reads the whole file). */
  librarySize(): Promise<LibrarySize> {
    return librarySizeInWorker(this.options.dataDir);
  }

  /**
   * Drop the cached tower features of photos embedded with the active model (and with the model an unfinished
   * switch is embedding for), then give the space back (library/compact.ts). Refused while a job that reads
   * or writes the library runs; jobs started meanwhile wait for it. The work runs in a worker thread.
   */
  async compact(opts: { dryRun?: boolean; tempDir?: string; onStage?: (stage: string) => void } = {}): Promise<CompactResult> {
    const what: Record<string, string> = { index: 'Indexing', train: 'Training', reembed: 'A model switch' };
    for (const kind of ['index', 'train', 'reembed'] as const) {
      const j = this.jobs.running(kind);
      if (j) throw new AppError('busy', `${what[kind]} is running (${j.stage}). Wait for it to finish or cancel it, then compact the library.`);
    }
    if (this.compacting) throw new AppError('busy', 'The library is already being compacted. Wait for it to finish.');
    const run = (async () => {
      const model = await this.activeModel();
      return compactInWorker({
        dataDir: this.options.dataDir,
        compaction: { towerKey: model.imageTowerKey, modelId: model.id, pendingModelId: this.pendingModel()?.id ?? null },
        dryRun: !!opts.dryRun,
        tempDir: opts.tempDir,
        onStage: opts.onStage,
      });
    })();
    if (opts.dryRun) return run;
    this.compacting = run; // set before the first await: a job started from here on waits for it
    try {
      return await run;
    } finally {
      this.compacting = null;
    }
  }

  /**
   * What writes the library at once on this thread (a folder added or removed, a model switched or removed) is
   * refused while `compact` holds the file: the write would wait for it, freezing this thread.
   */
  private refuseWhileCompacting(action: string): void {
    if (this.compacting) throw new AppError('busy', `The library is being compacted. Wait for it to finish, then ${action}.`);
  }

  /** A job that reads or writes the library starts once a running `compact` is done (it holds the file for a while). */
  private async untilCompacted(ctx: JobContext): Promise<void> {
    if (!this.compacting) return;
    ctx.progress({ stage: 'Waiting for the library to be compacted' });
    await this.compacting.catch(() => undefined);
  }

  folders(): FolderInfo[] {
    const incomplete = new Set(this.store.listIncomplete());
    return this.store.listRoots().map((p) => ({ path: p, photos: this.store.countPhotosUnder(p), incomplete: incomplete.has(p) }));
  }

  private checkFolder(p: string): string {
    const abs = path.resolve(p);
    let st;
    try {
      st = statSync(abs);
    } catch {
      throw new AppError('not_found', `Folder ${abs} not found. Check the path.`);
    }
    if (!st.isDirectory()) throw new AppError('invalid_input', `${abs} is not a folder. Give a folder of photos.`);
    return realpathSync(abs);
  }

  /**
   * Add folders to the library and index them in one job. A folder already in the library is re-scanned;
   * one inside a library folder re-scans that folder (its photos are never indexed twice); one containing
   * library folders takes them over (their photos are kept). Paths must be absolute (the CLI resolves
   * relative ones against its working folder first).
   */
  async addFolders(paths: string[]): Promise<{ roots: string[]; info: JobInfo; done: Promise<IndexSummary>; notices: string[] }> {
    this.refuseWhileCompacting('add a folder');
    const targets = paths.map((p) => this.checkFolder(userPath(p, 'folder')));
    const notices: string[] = [];
    const toIndex: string[] = [];
    for (const abs of targets) {
      const roots = this.store.listRoots();
      const outer = roots.find((r) => r !== abs && isUnderFolder(abs, r));
      if (roots.includes(abs)) {
        notices.push(`${abs} is already in the library — re-scanned.`);
        toIndex.push(abs);
      } else if (outer) {
        notices.push(`${abs} is inside ${outer}, which is already in the library — re-scanned ${outer}; no photo is indexed twice.`);
        toIndex.push(outer);
      } else {
        this.store.addRoot(abs);
        const inner = roots.filter((r) => isUnderFolder(r, abs));
        for (const r of inner) this.store.mergeRootInto(r, abs);
        if (inner.length) notices.push(`${abs} contains ${inner.join(', ')}, already in the library: their photos are kept, not indexed twice.`);
        if (!(await hasPhotos(abs))) {
          notices.push(`No photos found in ${abs} (looked for ${[...PHOTO_TYPES].join(', ')} files in it and its sub-folders). It stays in the library; add photos and re-scan.`);
        }
        toIndex.push(abs);
      }
    }
    this.emit({ type: 'library-changed' });
    const job = this.startIndex(normalizeRoots(toIndex));
    this.rewatch();
    return { roots: this.store.listRoots(), ...job, notices };
  }

  async addFolder(p: string): Promise<AddFolderResult> {
    const r = await this.addFolders([p]);
    return { roots: r.roots, job: r.info, notice: r.notices.length ? r.notices.join(' ') : null };
  }

  /**
   * Forget a library folder: its photos (unless another library folder holds them), their embeddings,
   * their cached tower features and thumbnails when no other photo has the same content. Files on disk
   * are never touched.
   */
  async removeFolder(p: string): Promise<RemoveFolderResult> {
    this.refuseWhileCompacting('remove a folder');
    const abs = path.resolve(expandHome(p));
    const roots = this.store.listRoots();
    const root = roots.find((r) => r === abs || (existsSync(abs) && r === realpathSync(abs)));
    if (!root) throw new AppError('not_found', `${abs} is not a library folder. Library folders: ${roots.join(', ') || 'none'}.`);
    const running = this.jobs.running('index');
    if (running) throw new AppError('busy', `Indexing is running (${running.stage}). Cancel it or wait, then remove the folder.`);
    const { removed, orphanHashes } = this.store.removeRootAndDerived(root);
    for (const h of orphanHashes) {
      await fs.rm(thumbnailPath(this.thumbnailsDir, h), { force: true }).catch(() => undefined);
    }
    this.searchIndex.refresh(); // the removed rows leave the live index
    this.rewatch();
    this.emit({ type: 'library-changed' });
    return { roots: this.store.listRoots(), removed };
  }

  /** Delete cached thumbnails of content no photo in the library has any more; returns how many. */
  pruneThumbnails(): Promise<number> {
    return pruneThumbnails(this.thumbnailsDir, (h) => this.store.hasContent(h));
  }

  skipped(limit = 100, offset = 0): { total: number; items: SkippedFile[] } {
    return { total: this.store.countSkipped(), items: this.store.listSkipped(limit, offset) };
  }

  /** Index the given roots (default: all library folders) in a worker. */
  startIndex(roots?: string[]): { info: JobInfo; done: Promise<IndexSummary> } {
    const targets = roots ?? this.store.listRoots();
    if (!targets.length) throw new AppError('empty_library', 'No folders in the library yet. Add one with `photo-search index FOLDER`.');
    return this.jobs.start('index', 'Counting photos', (ctx) => this.runIndex(ctx, targets));
  }

  /**
   * Index every library folder with `modelId` for a job that needs it (a model switch), as the one `index`
   * job: a re-scan meanwhile is refused as busy instead of starting a second worker on the same folders. An
   * index job already running is waited for first; cancelling `ctx` cancels this one.
   */
  private async indexFor(ctx: JobContext, modelId: string, onJob?: (job: JobInfo) => void): Promise<IndexSummary> {
    for (;;) {
      await this.jobs.idle('index');
      if (ctx.signal.aborted) throw new Cancelled();
      let job: { info: JobInfo; done: Promise<IndexSummary> };
      try {
        const roots = this.store.listRoots();
        job = this.jobs.start('index', 'Counting photos', (c) => this.runIndex(c, roots, modelId));
      } catch (e) {
        if (e instanceof AppError && e.code === 'busy') continue; // another one started in between: wait for it too
        throw e;
      }
      const cancel = () => this.jobs.cancel(job.info.id);
      ctx.signal.addEventListener('abort', cancel, { once: true });
      if (ctx.signal.aborted) cancel(); // cancelled while it started (a listener of its first event)
      const relay = (j: JobInfo) => {
        if (j.id === job.info.id) onJob?.(j);
      };
      this.jobs.events.on('job', relay);
      try {
        return await job.done;
      } finally {
        this.jobs.events.off('job', relay);
        ctx.signal.removeEventListener('abort', cancel);
      }
    }
  }

  private async runIndex(ctx: JobContext, roots: string[], modelId = this.activeModelId()): Promise<IndexSummary> {
    await this.untilCompacted(ctx);
    // Another process indexing this library (the CLI beside the app, a second `serve`): wait for it.
    const lock = await acquireIndexLock(this.options.dataDir, { signal: ctx.signal, onWait: (line) => ctx.progress({ stage: line }) });
    try {
      return await this.runIndexLocked(ctx, roots, modelId);
    } finally {
      await lock.release();
    }
  }

  private async runIndexLocked(ctx: JobContext, roots: string[], modelId: string): Promise<IndexSummary> {
    const id = modelId;
    const reg = this.registry.get(id);
    // Until it finishes, these folders count as incomplete (a cancel or a crash leaves them so: Resume).
    this.store.markIncomplete(roots);
    // The header's photo count follows committed batches: the first change at once, then at most every
    // 500 ms (the latest count is sent when the window ends), and the final count when the run ends.
    let sentImages: number | null = null;
    let latestImages: number | null = null;
    let lastSentAt = 0;
    let timer: NodeJS.Timeout | null = null;
    const sendCount = () => {
      timer = null;
      if (latestImages === null || latestImages === sentImages) return;
      sentImages = latestImages;
      lastSentAt = Date.now();
      this.emit({ type: 'library-count', images: latestImages });
    };
    try {
      const summary = await runIndexInWorker({
        dataDir: this.options.dataDir,
        modelDir: reg.dir,
        roots,
        signal: ctx.signal,
        onProgress: (p: { stage?: string; done: number; total: number; etaSeconds?: number | null; rate?: number | null; images?: number }) => {
          ctx.progress(p);
          if (p.images === undefined) return;
          this.searchIndex.refresh(); // each committed batch goes into the live index, in place
          if (sentImages === null) sentImages = p.images; // the count before this run: nothing to say yet
          latestImages = p.images;
          if (latestImages === sentImages || timer) return;
          const wait = 500 - (Date.now() - lastSentAt);
          if (wait <= 0) sendCount();
          else timer = setTimeout(sendCount, wait);
        },
      });
      this.store.clearIncomplete(...roots);
      if (summary.removed > 0) await this.pruneThumbnails().catch(() => 0);
      return summary;
    } finally {
      if (timer) clearTimeout(timer);
      sendCount();
      // Committed batches are visible even when the run was cancelled or failed.
      this.searchIndex.refresh();
      this.emit({ type: 'library-changed' });
    }
  }

  // ---- search --------------------------------------------------------------------------------------

  private vectorIndex(modelId: string): Promise<VectorIndex> {
    return this.searchIndex.get(modelId);
  }

  /** Photos whose stored embedding is garbage: left out of search (see LiveIndex.damagedCount). */
  damagedEmbeddings(): number {
    return this.searchIndex.damagedCount(this.activeModelId());
  }

  /** Start loading the embeddings now (app start-up) without waiting for it. */
  warmUp(): void {
    try {
      this.searchIndex.warmUp(this.activeModelId());
    } catch {
      // no model yet: nothing to warm
    }
  }

  /** Photos but no vectors of the active model: say why nothing can be found, instead of "No photos found". */
  private ensureEmbedded(modelId: string, index: VectorIndex): void {
    if (index.size > 0) return;
    const photos = this.store.countPhotos();
    if (photos === 0) return;
    throw new AppError(
      'empty_library',
      `None of the ${photos} photos is embedded with model ${modelId} yet. Run \`photo-search models use ${modelId}\` (or \`photo-search index\`) to embed them.`,
    );
  }

  private ensureNotEmpty(): void {
    if (this.store.countPhotos() === 0) {
      throw new AppError('empty_library', 'The library is empty. Add a folder first: `photo-search index FOLDER`.');
    }
  }

  /** Search by a query (text, or the algebra of shared/query.ts), with filters, paging and order. */
  async search(query: string, top = 20, opts: SearchOptions = {}): Promise<SearchHit[]> {
    return this.runSearch({ ...opts, query, top });
  }

  /** "More like this" for a library photo (the photo itself is not a result). */
  async searchLike(id: number, top = 20, opts: SearchOptions = {}): Promise<SearchHit[]> {
    return this.runSearch({ ...opts, likeIds: [id], top });
  }

  /** "More like this" for an image file, in the library or not (CLI --like). */
  async searchLikeFile(file: string | readonly string[], top = 20, opts: SearchOptions & { query?: string } = {}): Promise<SearchHit[]> {
    return this.runSearch({ ...opts, likeFiles: typeof file === 'string' ? [file] : file, top });
  }

  /** Search by an image's bytes (dropped or pasted in the search box; it need not be in the library). */
  async searchImage(image: Buffer, opts: SearchOptions = {}): Promise<SearchHit[]> {
    if (image.length === 0) throw new AppError('invalid_input', 'The image to search by is empty.');
    if (image.length > MAX_SEARCH_IMAGE_BYTES) throw new AppError('invalid_input', `An image to search by has at most ${MAX_SEARCH_IMAGE_BYTES / 1024 / 1024} MB.`);
    return this.runSearch({ ...opts, image });
  }

  private async runSearch(req: SearchRequest): Promise<SearchHit[]> {
    const parts = requestParts(req); // a malformed query is refused before anything loads
    this.ensureNotEmpty();
    const modelId = this.activeModelId();
    const [model, index] = await Promise.all([this.activeModel(), this.vectorIndex(modelId)]);
    this.ensureEmbedded(modelId, index);
    return runSearch({ store: this.store, modelId, model, index }, req, parts);
  }

  /** Groups of duplicate photos of the library (exact copies, then near-duplicates within `threshold`). */
  async duplicates(threshold = 0.95): Promise<DuplicateGroup[]> {
    this.ensureNotEmpty();
    const modelId = this.activeModelId();
    const { ids, vectors, dim, hashes } = this.store.embeddingsWithHashes(modelId);
    const groups = await findDuplicates({ ids, vectors, dim, hashes }, { threshold });
    const rowOf = new Map<number, number>();
    for (let r = 0; r < ids.length; r++) rowOf.set(ids[r]!, r);
    return groups.map((g) => {
      const first = rowOf.get(g.ids[0]!)!;
      const found = g.ids.map((id) => {
        const r = rowOf.get(id)!;
        let s = 0;
        for (let j = 0; j < dim; j++) s += vectors[first * dim + j]! * vectors[r * dim + j]!;
        return { id, score: g.kind === 'exact' ? 1 : s };
      });
      return { kind: g.kind, minScore: g.minScore, photos: toSearchHits(this.store, found) };
    });
  }

  /**
   * The file to serve for a photo, confined at serve time for every front (browser mode, the desktop
   * protocol and actions): the original's real path must lie inside a library folder, so a link swapped
   * after indexing cannot expose another file. A thumbnail already cached is ours (it outlives an unplugged
   * original); a missing one is made only from a confined original.
   */
  async photoFile(id: number, size: 'thumb' | 'full'): Promise<string | null> {
    const row = this.store.photosByIds([id])[0];
    if (!row) return null;
    if (size === 'thumb') {
      const cached = await resolveAllowedFile(thumbnailPath(this.thumbnailsDir, row.contentHash), [this.thumbnailsDir]);
      if (cached) {
        await touchThumbnail(cached);
        return cached;
      }
    }
    // The library folder itself is resolved too: one replaced by a link after indexing is not followed.
    const original = await resolveLibraryFile(row.path, this.store.listRoots());
    if (!original) return null;
    if (size === 'full') return original;
    try {
      return await resolveAllowedFile(await thumbnailFor({ path: original, contentHash: row.contentHash }, this.thumbnailsDir, this.options.thumbnailCacheBytes), [this.thumbnailsDir]);
    } catch {
      return null;
    }
  }

  // ---- training ------------------------------------------------------------------------------------

  async inspectCaptionSet(dir: string): Promise<CaptionSetInfo> {
    const abs = path.resolve(dir);
    try {
      const set = await readCaptionSet(abs);
      return {
        path: abs,
        layout: set.layout,
        images: set.images.length,
        captions: set.images.reduce((n, i) => n + i.captions.length, 0),
        problems: set.problems,
      };
    } catch (e) {
      throw new AppError('bad_dataset', (e as Error).message);
    }
  }

  startTraining(opts: TrainOptions, onEpoch?: (e: import('../../shared/api').TrainEpoch) => void): { info: JobInfo; done: Promise<TrainResult> } {
    const base = this.registry.get(opts.base ?? this.activeModelId());
    const setDir = path.resolve(opts.set);
    if (!existsSync(setDir)) throw new AppError('not_found', `Captioned set ${setDir} not found. Check the path.`);
    // A model is addressed by its name (`models use NAME`), so names are unique.
    const taken = new Set(this.registry.list().flatMap((m) => [m.manifest.name.toLowerCase(), m.id.toLowerCase()]));
    let name = opts.name?.trim();
    if (name && taken.has(name.toLowerCase())) {
      throw new AppError('invalid_input', `A model named "${name}" already exists. Choose another name, or remove it first with \`photo-search models remove ${name}\`.`);
    }
    if (!name) {
      const stem = `${base.manifest.name} (retrained)`;
      name = stem;
      for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${stem} ${n}`;
    }
    let jobId = '';
    const job = this.jobs.start('train', 'Reading the captioned set', async (ctx) => {
      await this.untilCompacted(ctx);
      const result = await runTrainingInWorker({
        dataDir: this.options.dataDir,
        baseModelDir: base.dir,
        modelsDir: this.modelsDir,
        set: setDir,
        name,
        epochs: opts.epochs,
        loss: opts.loss ?? 'default',
        seed: opts.seed,
        signal: ctx.signal,
        onProgress: (p: { stage?: string; done?: number; total?: number; etaSeconds?: number | null }) => ctx.progress(p),
        onEpoch: (epoch: import('../../shared/api').TrainEpoch) => {
          onEpoch?.(epoch);
          this.emit({ type: 'train-epoch', jobId, epoch });
        },
        onBaseline: (before: EvalResult) => this.emit({ type: 'train-baseline', jobId, before }),
      });
      this.modelsChanged();
      return { ...result, name };
    });
    jobId = job.info.id;
    return job;
  }

  async evaluate(setDir: string, modelIdOrName?: string): Promise<SetEvalResult> {
    const id = modelIdOrName ? this.registry.get(modelIdOrName).id : this.activeModelId();
    const reg = this.registry.get(id);
    const model = id === this.activeModelId() ? await this.activeModel() : await loadModel(reg.dir);
    try {
      return await evaluateModelOnSet(model, path.resolve(setDir), storeFeatureCache(this.store));
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError('bad_dataset', (e as Error).message);
    } finally {
      if (model !== (await this.model?.promise.catch(() => null))) await model.dispose();
    }
  }
}

const PHOTO_TYPES = new Set(['JPEG', 'PNG', 'WebP', 'GIF', 'TIFF', 'AVIF']);

/**
 * A path typed by a user into the app: `~` expanded; a relative path is refused (relative to what? the
 * server's working folder means nothing to the person typing).
 */
export function userPath(p: string, what: string): string {
  const expanded = expandHome(p);
  if (!path.isAbsolute(expanded)) {
    throw new AppError('invalid_input', `"${p}" is a relative path. Give the full path of the ${what}, for example ${path.join(os.homedir(), 'Pictures')}.`);
  }
  return path.normalize(expanded);
}

/** An import source: hf:OWNER/NAME as is, else a user path. */
export function userSource(s: string): string {
  return /^hf:/.test(s.trim()) ? s.trim() : userPath(s, 'model folder');
}

function isUnderFolder(p: string, folder: string): boolean {
  return p === folder || p.startsWith(folder.endsWith(path.sep) ? folder : folder + path.sep);
}

/** True as soon as the walk finds one photo file (the walk stops there). */
async function hasPhotos(root: string): Promise<boolean> {
  const stop = new AbortController();
  try {
    for await (const ev of walkPhotos([root], stop.signal)) {
      if (ev.kind === 'file' || (ev.kind === 'skip' && isPhotoName(ev.path))) return true;
    }
    return false;
  } finally {
    stop.abort();
  }
}

/** The rows of a model's embeddings that can be trusted; the ids of the others go to `damaged`. */
export async function createBackend(options: BackendOptions): Promise<Backend> {
  return Backend.create(options);
}

