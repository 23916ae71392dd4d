/**
 * The live search index of the active model: loaded in full once (at start-up, or after a model switch),
 * then kept current in place from the store's embedding change log. Every writer (this process's index
 * worker, a removal, another process such as the CLI indexing while the app runs) leaves its changes in
 * that log, so one mechanism covers them all: `refresh()` after each committed batch or removal, and a
 * catch-up before each search.
 */
import { isSoundEmbedding, type Store } from '../store';
import { VectorIndex, type IndexRow } from './vector-index';

interface Holder {
  modelId: string;
  promise: Promise<VectorIndex>;
  /** Set once the load finished: what `refresh()` updates synchronously. */
  idx: VectorIndex | null;
  /** Last change-log sequence number applied. */
  seq: number;
}

export interface LiveIndexOptions {
  store: Store;
  /** Embedding size of the active model (loads it when needed). */
  embedDim: () => Promise<number>;
  /** Called when logged changes were applied (the library's photos changed). */
  onChanged?: () => void;
}

/** More changes than this (or half the index) are read back in one full load rather than row by row. */
const MAX_ROW_UPDATES = 10_000;

export class LiveIndex {
  private holder: Holder | null = null;
  private damaged: { modelId: string; ids: number[] } | null = null;
  /** Full loads from the store so far (start-up, model switch, or a change log that no longer reaches back). */
  loads = 0;

  constructor(private readonly options: LiveIndexOptions) {}

  /**
   * The index of `modelId`, current with every committed change. A writer that keeps outrunning fresh
   * loads gets the latest loaded state rather than a loop.
   */
  async get(modelId: string): Promise<VectorIndex> {
    for (let attempt = 0; ; attempt++) {
      const holder = this.load(modelId);
      const idx = await holder.promise;
      if (this.holder !== holder || this.applyChanges(holder, idx) || attempt >= 2) return idx;
      this.drop(); // too far behind (the log was trimmed, or most rows changed): load afresh
    }
  }

  /**
   * Apply committed changes to the loaded index now (after an index batch commits, after a removal).
   * Nothing to do when no index is loaded yet: the next `get` loads the current rows.
   */
  refresh(): void {
    const h = this.holder;
    if (!h?.idx) return;
    if (!this.applyChanges(h, h.idx)) this.drop();
  }

  /** Forget the loaded vectors (model switch, close); frees the old index's worker and buffers. */
  drop(): void {
    const old = this.holder;
    this.holder = null;
    if (old) void old.promise.then((idx) => idx.dispose()).catch(() => undefined);
  }

  /** The loaded index as it is now, without catching up (null while none is loaded). */
  peek(): VectorIndex | null {
    return this.holder?.idx ?? null;
  }

  /** Start loading now (app start-up) without waiting for it. */
  warmUp(modelId: string): void {
    void this.get(modelId).catch(() => undefined);
  }

  /**
   * Photos of `modelId` whose stored embedding was rejected (garbage values: non-finite, or far from unit
   * length): left out of search until `photo-search repair` or a re-index rewrites them.
   */
  damagedCount(modelId: string): number {
    const d = this.damaged;
    return d && d.modelId === modelId ? d.ids.length : 0;
  }

  /** Synchronous, so two callers never interleave their updates. False when a full load is needed. */
  private applyChanges(holder: Holder, idx: VectorIndex): boolean {
    const { store } = this.options;
    const changes = store.embeddingChangesSince(holder.seq, holder.modelId);
    if (changes.upTo === holder.seq) return true;
    if (!changes.complete || changes.photoIds.length > Math.max(MAX_ROW_UPDATES, idx.size / 2)) return false;
    const damaged = new Set(this.damaged?.modelId === holder.modelId ? this.damaged.ids : []);
    const upsertIds: number[] = [];
    const upserts: Float32Array[] = [];
    const removals: number[] = [];
    for (const id of changes.photoIds) {
      const v = store.embeddingFor(id, holder.modelId);
      damaged.delete(id);
      if (v && isSoundEmbedding(v, idx.dim)) {
        upsertIds.push(id);
        upserts.push(v);
      } else {
        removals.push(id);
        if (v) damaged.add(id);
      }
    }
    if (upsertIds.length) idx.add(upsertIds, upserts);
    if (removals.length) idx.remove(removals);
    holder.seq = changes.upTo;
    this.damaged = { modelId: holder.modelId, ids: [...damaged] };
    if (changes.photoIds.length) this.options.onChanged?.();
    return true;
  }

  private load(modelId: string): Holder {
    if (this.holder && this.holder.modelId === modelId) return this.holder;
    this.drop();
    const { store } = this.options;
    // Read before loading: changes made while it loads are applied again on top (idempotent).
    const seq = store.lastEmbeddingChange();
    const holder: Holder = { modelId, promise: null as unknown as Promise<VectorIndex>, idx: null, seq };
    holder.promise = (async () => {
      const dim = await this.options.embedDim();
      const idx = new VectorIndex(dim);
      const damaged: number[] = [];
      this.loads++;
      await idx.load(soundRows(store.iterateEmbeddings(modelId), dim, damaged), { expectedCount: store.countEmbeddings(modelId) });
      if (this.holder === holder) this.damaged = { modelId, ids: damaged };
      holder.idx = idx;
      return idx;
    })();
    holder.promise.catch(() => {
      if (this.holder === holder) this.holder = null;
    });
    this.holder = holder;
    return holder;
  }
}

function* soundRows(rows: Iterable<IndexRow>, dim: number, damaged: number[]): Generator<IndexRow> {
  for (const r of rows) {
    if (isSoundEmbedding(r.vector, dim)) yield r;
    else damaged.push(r.id);
  }
}
