/**
 * What the domain services share, passed into each: the library file, the model registry and the active
 * model, the job runner, the live search index, the compaction gate, and the events the fronts listen to.
 * It holds state, not behaviour: each domain's work lives in its own service (library/, catalog/, search/,
 * training.ts).
 */
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ApiEvent, JobInfo } from '../../shared/api';
import { ActiveModel } from './catalog/active-model';
import { ModelRegistry } from './catalog/registry';
import { removeStaleTempFolders } from './catalog/temp-folders';
import { AppError } from './errors';
import { JobManager, type JobContext } from './jobs';
import { dataPaths } from './paths';
import { LiveIndex } from './search/live-index';
import { Store } from './store';

export interface BackendOptions {
  dataDir: string;
  /** An extra model folder that becomes the default (tests, power users). */
  modelDir?: string | null;
  /** Size limit of the thumbnail cache (default 1 GiB); the least recently shown go first. */
  thumbnailCacheBytes?: number;
}

/**
 * A `compact` in progress holds the library file for a while: what writes it at once on this thread is
 * refused (the write would wait, freezing the thread), and jobs started meanwhile wait for it.
 */
export class CompactionGate {
  private running: Promise<unknown> | null = null;

  get busy(): boolean {
    return this.running !== null;
  }

  refuse(action: string): void {
    if (this.running) throw new AppError('busy', `The library is being compacted. Wait for it to finish, then ${action}.`);
  }

  async until(ctx: JobContext): Promise<void> {
    if (!this.running) return;
    ctx.progress({ stage: 'Waiting for the library to be compacted' });
    await this.running.catch(() => undefined);
  }

  /** Hold the gate while `run` runs (set before the first await: a job started from here on waits for it). */
  async hold<T>(run: Promise<T>): Promise<T> {
    this.running = run;
    try {
      return await run;
    } finally {
      this.running = null;
    }
  }
}

export class BackendState {
  readonly dataDir: string;
  readonly store: Store;
  readonly registry: ModelRegistry;
  readonly active: ActiveModel;
  readonly jobs = new JobManager();
  /** The active model's search index, kept current in place (search/live-index.ts). */
  readonly searchIndex: LiveIndex;
  readonly compaction = new CompactionGate();
  readonly thumbnailsDir: string;
  readonly modelsDir: string;
  private readonly events = new EventEmitter();

  private constructor(readonly options: BackendOptions) {
    this.dataDir = options.dataDir;
    this.store = new Store(dataPaths(this.dataDir).db);
    this.modelsDir = path.join(this.dataDir, 'models');
    this.thumbnailsDir = path.join(this.dataDir, 'thumbnails');
    this.registry = new ModelRegistry(this.modelsDir, options.modelDir ? path.resolve(options.modelDir) : null);
    this.active = new ActiveModel(this.store, this.registry, () => this.emit({ type: 'models-changed' }));
    this.jobs.events.on('job', (job: JobInfo) => this.emit({ type: 'job', job }));
    this.searchIndex = new LiveIndex({
      store: this.store,
      embedDim: async () => (await this.active.load()).embedDim,
      onChanged: () => this.emit({ type: 'library-changed' }),
      sidecarDir: dataPaths(this.dataDir).searchIndex,
    });
  }

  static async open(options: BackendOptions): Promise<BackendState> {
    try {
      await fs.mkdir(options.dataDir, { recursive: true });
    } catch (e) {
      throw new AppError('invalid_input', `Cannot create the data folder ${options.dataDir}: ${(e as Error).message}. Choose another with --data.`);
    }
    const state = new BackendState(options);
    // Model saves and imports interrupted by a crash or kill leave hidden temp folders: remove them.
    await removeStaleTempFolders(state.modelsDir);
    return state;
  }

  onEvent(listener: (e: ApiEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  emit(e: ApiEvent): void {
    this.events.emit('event', e);
  }

  async close(): Promise<void> {
    await this.jobs.cancelAll();
    await this.searchIndex.close();
    await this.active.dispose();
    this.store.close();
  }
}
