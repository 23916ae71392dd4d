/**
 * Switching the active model (`models use`, the Models panel): the library is embedded with the new model
 * FIRST (from cached tower features: heads only; photos without cached features are indexed), and the model
 * becomes active only once that is done, so a kill or a cancel midway leaves the old model active with every
 * photo searchable. The switch is remembered as pending: `resume` (app and server start) or the same command
 * again finishes it, and the embeddings already written are kept.
 */
import type { ApiHandlers, IndexSummary, JobInfo } from '../../../shared/api';
import { Cancelled } from '../errors';
import type { JobContext } from '../jobs';
import { openModel } from '../catalog/open-model';
import type { BackendState } from '../state';
import { reembedFromCache } from './indexer';

export type ModelSwitchHandlers = Pick<ApiHandlers, 'activateModel'>;

function cancelledSwitch(id: string, left: number): Cancelled {
  return new Cancelled(
    `Switching to model ${id} was cancelled with ${left} photos still to embed; the previous model stays active. Run \`photo-search models use ${id}\` again to finish (the work done is kept).`,
  );
}

export class ModelSwitch {
  constructor(
    private readonly s: BackendState,
    /** Index every library folder with a model, as the one index job (LibraryService.indexFor); `onJob` follows it. */
    private readonly indexFor: (ctx: JobContext, modelId: string, onJob?: (job: JobInfo) => void) => Promise<IndexSummary>,
  ) {}

  handlers(): ModelSwitchHandlers {
    return { activateModel: async (p) => (await this.activateModel(p.id))?.info ?? null };
  }

  /** Make `id` active now (its photos are all embedded); another model's vectors are loaded in full. */
  private switchTo(id: string): void {
    this.s.active.makeActive(id);
    this.s.searchIndex.drop();
    this.s.emit({ type: 'library-changed' });
  }

  /** Switch to a model by id or name; null when nothing was left to embed (switched at once). */
  async activateModel(idOrName: string): Promise<{ info: JobInfo; done: Promise<unknown> } | null> {
    const { store, active } = this.s;
    this.s.compaction.refuse('switch models');
    const reg = this.s.registry.get(idOrName); // a name resolves to its model; throws unknown_model
    const id = reg.id;
    if (store.countPhotos() === 0 || store.countMissingEmbedding(id) === 0) {
      this.switchTo(id);
      return null;
    }
    const switching = id !== active.id();
    const job = this.s.jobs.start('reembed', 'Re-embedding photos with the new model', async (ctx) => {
      await this.s.compaction.until(ctx);
      const model = switching ? await openModel(reg.dir) : await active.load();
      // The bar counts photos embedded with the new model, so it follows the work: those with cached features
      // first (heads only, fast), then those without (decoded and run through the tower by an index job).
      const total = store.countMissingEmbedding(id);
      const before = store.countEmbeddings(id);
      let r;
      try {
        r = await reembedFromCache({
          store,
          model,
          signal: ctx.signal,
          onProgress: (p) => ctx.progress({ stage: 'Re-embedding photos from cached features', done: p.embedded, total, etaSeconds: null }),
        });
      } finally {
        if (switching) await model.dispose();
      }
      if (ctx.signal.aborted) throw cancelledSwitch(id, store.countMissingEmbedding(id));
      // Photos whose tower features are not cached need a real re-index (decode + tower) with the new model.
      if (r.missing > 0 && store.listRoots().length) {
        const stage = `Indexing ${r.missing} photos without cached features`;
        ctx.progress({ stage, done: r.embedded, total });
        // The index job's events come at most every 100 ms (JobManager), so this count runs as often at most.
        const follow = (inner: JobInfo) => {
          const done = Math.max(0, Math.min(total, store.countEmbeddings(id) - before));
          ctx.progress({ stage, done, total, etaSeconds: inner.etaSeconds, rate: inner.rate });
        };
        try {
          await this.indexFor(ctx, id, follow);
        } catch (e) {
          if (!ctx.signal.aborted) throw e;
        }
        // A cancel that came too late to stop the last batch still leaves the switch pending, as asked.
        if (ctx.signal.aborted) throw cancelledSwitch(id, store.countMissingEmbedding(id));
      }
      // Photos of an unavailable folder cannot be embedded now: the switch still happens, and search says
      // how many photos the new model does not cover yet.
      this.switchTo(id);
      return r;
    });
    if (switching) active.markPending(id);
    return job;
  }

  /** Finish a model switch a crash or a cancel interrupted (app and server start); null when there is none. */
  async resume(): Promise<{ info: JobInfo; done: Promise<unknown> } | null> {
    const pending = this.s.active.pending();
    return pending ? this.activateModel(pending.id) : null;
  }
}
