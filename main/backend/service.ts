/**
 * The backend service: one object that the Electron app, the browser-mode server and the CLI all construct.
 * It owns the store, the model registry, the active model (loaded lazily: search needs only the text tower),
 * the in-memory vector index and the long jobs (which run in workers).
 */
import { EventEmitter } from 'node:events';
import { existsSync, promises as fs, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type {
  ApiEvent,
  ApiMethod,
  BackendPort,
  CaptionSetInfo,
  IndexSummary,
  JobInfo,
  LibraryStatus,
  ModelInfo,
  Result,
  SearchHit,
  SetEvalResult,
  SkippedFile,
  TrainOptions,
  TrainResult,
} from '../../shared/api';
import { validateRequest } from '../../shared/schemas';
import { AppError, toResult } from './errors';
import { JobManager, type JobContext } from './jobs';
import { runIndexInWorker } from './library/index-worker';
import { reembedFromCache } from './library/indexer';
import { thumbnailFor } from './library/thumbnails';
import { loadModel } from './model/model';
import { ModelRegistry } from './model/registry';
import type { EmbeddingModel } from './model/types';
import { VectorIndex } from './search/vector-index';
import { Store } from './store';
import { readCaptionSet } from './train/readers';
import { runTrainingInWorker, evaluateModelOnSet } from './train/trainer';
import { storeFeatureCache } from './train/features';
import { importModel } from './model/import';
import { removeStaleTempFolders } from './model/temp-folders';

export interface BackendOptions {
  dataDir: string;
  /** An extra model folder that becomes the default (tests, power users). */
  modelDir?: string | null;
}

const ACTIVE_MODEL = 'activeModel';
/** The model a switch is embedding the library for; it becomes ACTIVE_MODEL when that is done. */
const PENDING_MODEL = 'pendingModel';

function cancelledSwitch(id: string, left: number): AppError {
  return new AppError(
    'cancelled',
    `Switching to model ${id} was cancelled with ${left} photos still to embed; the previous model stays active. Run \`photo-search models use ${id}\` again to finish (the work done is kept).`,
  );
}

export class Backend implements BackendPort {
  readonly store: Store;
  readonly registry: ModelRegistry;
  readonly jobs = new JobManager();
  private readonly events = new EventEmitter();
  private model: { id: string; promise: Promise<EmbeddingModel> } | null = null;
  private index: { modelId: string; promise: Promise<VectorIndex> } | null = null;
  readonly thumbnailsDir: string;
  readonly modelsDir: string;

  private constructor(readonly options: BackendOptions) {
    const dataDir = options.dataDir;
    this.store = new Store(path.join(dataDir, 'library.db'));
    this.modelsDir = path.join(dataDir, 'models');
    this.thumbnailsDir = path.join(dataDir, 'thumbnails');
    this.registry = new ModelRegistry(this.modelsDir, options.modelDir ? path.resolve(options.modelDir) : null);
    this.jobs.events.on('job', (job: JobInfo) => this.emit({ type: 'job', job }));
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
    await this.jobs.cancelAll();
    this.dropIndex();
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

  // ---- transport entry -----------------------------------------------------------------------------

  /** Validate with the shared schema, dispatch, and never throw. */
  async call(method: ApiMethod, request: unknown): Promise<Result<unknown>> {
    const v = validateRequest(method, request);
    if (!v.ok) return { ok: false, code: 'invalid_input', message: v.message };
    const req = (v.value ?? {}) as never;
    return toResult(async () => {
      try {
        return await this.dispatch(method, req);
      } catch (e) {
        throw this.store.explain(e); // a full disk or a damaged library file, in words
      }
    });
  }

  private dispatch(method: ApiMethod, req: Record<string, never>): Promise<unknown> {
    const r = req as Record<string, unknown>;
    switch (method) {
      case 'status':
        return this.status();
      case 'search':
        return this.search(r.query as string, r.top as number | undefined);
      case 'searchLike':
        return this.searchLike(r.id as number, r.top as number | undefined);
      case 'addFolder':
        return this.addFolder(r.path as string);
      case 'removeFolder':
        return this.removeFolder(r.path as string);
      case 'rescan':
        return Promise.resolve(this.startIndex().info);
      case 'skipped':
        return Promise.resolve(this.skipped(r.limit as number | undefined, r.offset as number | undefined));
      case 'jobs':
        return Promise.resolve(this.jobs.list());
      case 'cancelJob':
        return Promise.resolve(this.jobs.cancel(r.id as string));
      case 'inspectCaptionSet':
        return this.inspectCaptionSet(r.path as string);
      case 'startTraining':
        return Promise.resolve(this.startTraining(r as unknown as TrainOptions).info);
      case 'models':
        return Promise.resolve(this.models());
      case 'activateModel':
        return this.activateModel(r.id as string).then((j) => j?.info ?? null);
      case 'importModel':
        return Promise.resolve(this.startImport(r.source as string).info);
      case 'openPhoto':
      case 'showInFolder':
      case 'pickFolder':
        return Promise.reject(new AppError('unsupported', 'This needs the desktop app; in the browser, copy the path instead.'));
      default:
        return Promise.reject(new AppError('invalid_input', `Unknown method ${String(method)}.`));
    }
  }

  // ---- models --------------------------------------------------------------------------------------

  activeModelId(): string {
    const chosen = this.store.getSetting(ACTIVE_MODEL);
    if (chosen && this.registry.list().some((m) => m.id === chosen)) return chosen;
    return this.registry.defaultId();
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
    return this.registry.list().map((m) => this.registry.info(m, active));
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
    this.dropIndex();
    this.emit({ type: 'models-changed' });
    this.emit({ type: 'library-changed' });
  }

  /**
   * Switch the active model. The library is embedded with the new model FIRST (from cached tower features:
   * heads only; photos without cached features are indexed), and the model becomes active only once that is
   * done, so a kill or a cancel midway leaves the old model active with every photo searchable. The switch
   * is remembered as pending: `resumeModelSwitch` (app and server start) or the same command again finishes
   * it, and the embeddings already written are kept.
   */
  async activateModel(id: string): Promise<{ info: JobInfo; done: Promise<unknown> } | null> {
    const reg = this.registry.get(id); // throws unknown_model
    if (this.store.countPhotos() === 0 || this.store.countMissingEmbedding(id) === 0) {
      this.switchTo(id);
      return null;
    }
    const switching = id !== this.activeModelId();
    const job = this.jobs.start('reembed', 'Re-embedding photos with the new model', async (ctx) => {
      const model = switching ? await loadModel(reg.dir) : await this.activeModel();
      let r;
      try {
        r = await reembedFromCache({
          store: this.store,
          model,
          signal: ctx.signal,
          onProgress: (p: { done: number; total: number }) => ctx.progress({ done: p.done, total: p.total }),
        });
      } finally {
        if (switching) await model.dispose();
      }
      if (ctx.signal.aborted) throw cancelledSwitch(id, this.store.countMissingEmbedding(id));
      // Photos whose tower features are not cached need a real re-index (decode + tower) with the new model.
      if (r.missing > 0 && this.store.listRoots().length) {
        ctx.progress({ stage: `Indexing ${r.missing} photos without cached features` });
        await this.runIndex(ctx, this.store.listRoots(), id);
      }
      // Photos of an unavailable folder cannot be embedded now: the switch still happens, and search says
      // how many photos the new model does not cover yet.
      this.switchTo(id);
      return r;
    });
    if (switching) {
      this.store.setSetting(PENDING_MODEL, id);
      this.emit({ type: 'models-changed' });
    }
    return job;
  }

  /** Finish a model switch a crash or a cancel interrupted (app and server start); null when there is none. */
  async resumeModelSwitch(): Promise<{ info: JobInfo; done: Promise<unknown> } | null> {
    const pending = this.pendingModel();
    return pending ? this.activateModel(pending.id) : null;
  }

  startImport(source: string): { info: JobInfo; done: Promise<ModelInfo> } {
    return this.jobs.start('import', `Importing ${source}`, async (ctx) => {
      const r = await importModel({
        source,
        modelsDir: this.modelsDir,
        signal: ctx.signal,
        onProgress: (p: { stage?: string; done: number; total: number }) => ctx.progress(p),
      });
      this.emit({ type: 'models-changed' });
      return this.models().find((m) => m.id === r.id) as ModelInfo;
    });
  }

  // ---- library -------------------------------------------------------------------------------------

  async status(): Promise<LibraryStatus> {
    let model: string;
    try {
      model = this.activeModelId();
    } catch {
      model = 'none';
    }
    return {
      images: this.store.countPhotos(),
      skipped: this.store.countSkipped(),
      model,
      roots: this.store.listRoots(),
      embedded: model === 'none' ? 0 : this.store.countEmbeddings(model),
      pendingModel: model === 'none' ? null : this.pendingModel(),
    };
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

  /** Add folders to the library and index them in one job. */
  addFolders(paths: string[]): { roots: string[]; info: JobInfo; done: Promise<IndexSummary> } {
    const roots = paths.map((p) => this.checkFolder(p));
    for (const root of roots) this.store.addRoot(root);
    this.emit({ type: 'library-changed' });
    const job = this.startIndex(roots);
    return { roots: this.store.listRoots(), ...job };
  }

  async addFolder(p: string): Promise<{ roots: string[]; job: JobInfo }> {
    const r = this.addFolders([p]);
    return { roots: r.roots, job: r.info };
  }

  async removeFolder(p: string): Promise<{ roots: string[] }> {
    const abs = path.resolve(p);
    const roots = this.store.listRoots();
    const root = roots.find((r) => r === abs || (existsSync(abs) && r === realpathSync(abs)));
    if (!root) throw new AppError('not_found', `${abs} is not a library folder. Library folders: ${roots.join(', ') || 'none'}.`);
    this.store.removeRoot(root);
    this.dropIndex();
    this.emit({ type: 'library-changed' });
    return { roots: this.store.listRoots() };
  }

  skipped(limit = 100, offset = 0): { total: number; items: SkippedFile[] } {
    return { total: this.store.countSkipped(), items: this.store.listSkipped(limit, offset) };
  }

  /** Index the given roots (default: all library folders) in a worker. */
  startIndex(roots?: string[]): { info: JobInfo; done: Promise<IndexSummary> } {
    const targets = roots ?? this.store.listRoots();
    if (!targets.length) throw new AppError('empty_library', 'No folders in the library yet. Add one with `photo-search index FOLDER`.');
    return this.jobs.start('index', 'Scanning folders', (ctx) => this.runIndex(ctx, targets));
  }

  private async runIndex(ctx: JobContext, roots: string[], modelId = this.activeModelId()): Promise<IndexSummary> {
    const id = modelId;
    const reg = this.registry.get(id);
    try {
      return await runIndexInWorker({
        dataDir: this.options.dataDir,
        modelDir: reg.dir,
        roots,
        signal: ctx.signal,
        onProgress: (p: { stage?: string; done: number; total: number; etaSeconds?: number | null }) => ctx.progress(p),
      });
    } finally {
      // Committed batches are visible even when the run was cancelled or failed.
      this.dropIndex();
      this.emit({ type: 'library-changed' });
    }
  }

  // ---- search --------------------------------------------------------------------------------------

  private vectorIndex(modelId: string): Promise<VectorIndex> {
    if (!this.index || this.index.modelId !== modelId) {
      const promise = (async () => {
        const model = await this.activeModel();
        const idx = new VectorIndex(model.embedDim);
        await idx.load(this.store.iterateEmbeddings(modelId));
        return idx;
      })();
      promise.catch(() => {
        if (this.index?.promise === promise) this.index = null;
      });
      this.index = { modelId, promise };
    }
    return this.index.promise;
  }

  /** Forget the loaded vectors (they changed); frees the old index's worker and int8 snapshot. */
  private dropIndex(): void {
    const old = this.index;
    this.index = null;
    if (old) void old.promise.then((idx) => idx.dispose()).catch(() => undefined);
  }

  /** Start loading the embeddings now (app start-up) without waiting for it. */
  warmUp(): void {
    try {
      void this.vectorIndex(this.activeModelId()).catch(() => undefined);
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

  async search(query: string, top = 20): Promise<SearchHit[]> {
    const text = query.trim();
    if (!text) throw new AppError('invalid_input', 'Type something to search for.');
    this.ensureNotEmpty();
    const modelId = this.activeModelId();
    const [model, index] = await Promise.all([this.activeModel(), this.vectorIndex(modelId)]);
    this.ensureEmbedded(modelId, index);
    const [q] = await model.embedTexts([text]);
    return this.hits(await index.search(q, top));
  }

  async searchLike(id: number, top = 20): Promise<SearchHit[]> {
    this.ensureNotEmpty();
    const modelId = this.activeModelId();
    const vec = this.store.embeddingFor(id, modelId);
    if (!vec) throw new AppError('not_found', `Photo ${id} is not in the library (or not embedded yet).`);
    const index = await this.vectorIndex(modelId);
    return this.hits((await index.search(vec, top + 1)).filter((h) => h.id !== id).slice(0, top));
  }

  /** "More like this" for a file on disk (CLI --like): embeds the image with the active model. */
  async searchLikeFile(file: string, top = 20): Promise<SearchHit[]> {
    this.ensureNotEmpty();
    const abs = path.resolve(file);
    if (!existsSync(abs)) throw new AppError('not_found', `Image ${abs} not found. Check the path.`);
    const known = this.store.photoByPath(abs);
    if (known) return this.searchLike(known.id, top);
    const modelId = this.activeModelId();
    const [model, index] = await Promise.all([this.activeModel(), this.vectorIndex(modelId)]);
    let prepared;
    try {
      prepared = await model.prepareImage(abs);
    } catch (e) {
      throw new AppError('invalid_input', (e as Error).message);
    }
    const [features] = await model.imageFeatures([prepared]);
    const [vec] = await model.embedImageFeatures([features]);
    return this.hits(await index.search(vec, top));
  }

  private hits(found: { id: number; score: number }[]): SearchHit[] {
    const rows = this.store.photosByIds(found.map((f) => f.id));
    const byId = new Map(rows.map((r) => [r.id, r]));
    const out: SearchHit[] = [];
    for (const f of found) {
      const r = byId.get(f.id);
      if (!r) continue; // removed since the index loaded
      out.push({ id: f.id, path: r.path, score: f.score, width: r.width ?? null, height: r.height ?? null, takenAt: r.takenAt ?? null });
    }
    return out;
  }

  async photoFile(id: number, size: 'thumb' | 'full'): Promise<string | null> {
    const row = this.store.photosByIds([id])[0];
    if (!row) return null;
    if (size === 'full') return row.path;
    try {
      return await thumbnailFor(row, this.thumbnailsDir);
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
    const baseId = opts.base ?? this.activeModelId();
    const base = this.registry.get(baseId);
    const setDir = path.resolve(opts.set);
    if (!existsSync(setDir)) throw new AppError('not_found', `Captioned set ${setDir} not found. Check the path.`);
    let jobId = '';
    const job = this.jobs.start('train', 'Reading the captioned set', async (ctx) => {
      const result = await runTrainingInWorker({
        dataDir: this.options.dataDir,
        baseModelDir: base.dir,
        modelsDir: this.modelsDir,
        set: setDir,
        name: opts.name,
        epochs: opts.epochs,
        loss: opts.loss ?? 'default',
        seed: opts.seed,
        signal: ctx.signal,
        onProgress: (p: { stage?: string; done?: number; total?: number; etaSeconds?: number | null }) => ctx.progress(p),
        onEpoch: (epoch: import('../../shared/api').TrainEpoch) => {
          onEpoch?.(epoch);
          this.emit({ type: 'train-epoch', jobId, epoch });
        },
      });
      this.emit({ type: 'models-changed' });
      return result;
    });
    jobId = job.info.id;
    return job;
  }

  async evaluate(setDir: string, modelId?: string): Promise<SetEvalResult> {
    const id = modelId ?? this.activeModelId();
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

export async function createBackend(options: BackendOptions): Promise<Backend> {
  return Backend.create(options);
}

