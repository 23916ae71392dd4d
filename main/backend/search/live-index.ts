/**
 * The live search index of the active model: loaded in full once (at start-up, or after a model switch),
 * then kept current in place from the store's embedding change log. Every writer (this process's index
 * worker, a removal, another process such as the CLI indexing while the app runs) leaves its changes in
 * that log, so one mechanism covers them all: `refresh()` after each committed batch or removal, and a
 * catch-up before each search.
 *
 * The index keeps only int8 rows in memory; its exact re-rank reads the candidates' float vectors from
 * the store. With a sidecar folder, start-up reads the int8 rows from the sidecar file (sidecar.ts) and
 * catches up from the change log; a sidecar that is missing, damaged, from another library or too far
 * behind is rebuilt from the store. The sidecar is rewritten after a full load and, a little after the
 * last change, whenever changes were applied (and at close), so it rarely lags by much.
 */
import { randomBytes } from 'node:crypto';
import { isSoundEmbedding, type Store } from '../store';
import { pruneSidecars, readSidecar, sidecarFile, writeSidecar } from './sidecar';
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
  /** Folder of the sidecar file (none: every start-up loads from the store). */
  sidecarDir?: string;
  /** Delay between the last applied change and the sidecar rewrite (default 10 s). */
  saveDelayMs?: number;
}

/** How the index was last loaded in full: from the sidecar, or from the store (with why). */
export interface LoadReport {
  from: 'sidecar' | 'database';
  /** Why the sidecar was not used (missing, damaged, stale…); absent when it was, or when there is none. */
  reason?: string;
  ms: number;
  rows: number;
}

/** Settings key of the library's random id: a sidecar names the database it was derived from. */
const LIBRARY_ID = 'libraryId';

/** More changes than this (or half the index) are read back in one full load rather than row by row. */
const MAX_ROW_UPDATES = 10_000;

export class LiveIndex {
  private holder: Holder | null = null;
  private damaged: { modelId: string; ids: number[] } | null = null;
  /** Full loads from the store so far (start-up without a usable sidecar, model switch, a log that no longer reaches back). */
  loads = 0;
  /** The last full load (start-up, model switch). */
  lastLoad: LoadReport | null = null;
  /** Whether the loaded rows differ from the sidecar on disk. */
  private unsaved = false;
  private saveTimer: NodeJS.Timeout | null = null;
  private saving: Promise<void> | null = null;

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

  /** Forget the loaded vectors (model switch); frees the old index's workers and buffers. */
  drop(): void {
    const old = this.holder;
    this.holder = null;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    this.unsaved = false;
    if (old) void old.promise.then((idx) => idx.dispose()).catch(() => undefined);
  }

  /** Write the sidecar now if the loaded rows changed since it was written (tests, close). */
  async flush(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    while (this.saving) await this.saving;
    if (this.unsaved && this.holder?.idx) await this.save(this.holder);
  }

  /** Save what changed, then drop the index. */
  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    this.drop();
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
    if (changes.photoIds.length) {
      this.unsaved = true;
      this.scheduleSave(holder);
      this.options.onChanged?.();
    }
    return true;
  }

  private scheduleSave(holder: Holder): void {
    if (!this.options.sidecarDir || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      if (this.holder === holder) void this.save(holder);
    }, this.options.saveDelayMs ?? 10_000);
    this.saveTimer.unref();
  }

  /** Rewrite the sidecar from the loaded rows; a failure only means the next start-up rebuilds it. */
  private save(holder: Holder): Promise<void> {
    const dir = this.options.sidecarDir;
    const idx = holder.idx;
    if (!dir || !idx || this.saving) return this.saving ?? Promise.resolve();
    const libraryId = this.libraryId();
    if (!libraryId) return Promise.resolve();
    this.unsaved = false;
    const file = sidecarFile(dir, holder.modelId);
    const damaged = this.damaged?.modelId === holder.modelId ? this.damaged.ids : [];
    this.saving = writeSidecar(file, idx, { libraryId, modelId: holder.modelId, dim: idx.dim, seq: holder.seq, damaged })
      .then((written) => {
        if (!written) {
          // Rows changed while writing: try again after the next quiet period.
          this.unsaved = true;
          if (this.holder === holder) this.scheduleSave(holder);
        }
      })
      .catch(() => {
        this.unsaved = true;
      })
      .finally(() => {
        this.saving = null;
      });
    return this.saving;
  }

  /** The library database's random id (made once); null when the database cannot be written. */
  private libraryId(): string | null {
    const { store } = this.options;
    try {
      let id = store.getSetting(LIBRARY_ID);
      if (!id) {
        id = randomBytes(16).toString('hex');
        store.setSetting(LIBRARY_ID, id);
      }
      return id;
    } catch {
      return null;
    }
  }

  private load(modelId: string): Holder {
    if (this.holder && this.holder.modelId === modelId) return this.holder;
    this.drop();
    const holder: Holder = { modelId, promise: null as unknown as Promise<VectorIndex>, idx: null, seq: 0 };
    holder.promise = this.loadRows(holder);
    holder.promise.catch(() => {
      if (this.holder === holder) this.holder = null;
    });
    this.holder = holder;
    return holder;
  }

  /** From the sidecar when it matches the database, else from the store (and the sidecar is rewritten). */
  private async loadRows(holder: Holder): Promise<VectorIndex> {
    const t0 = performance.now();
    const { store, sidecarDir } = this.options;
    const { modelId } = holder;
    // Read before loading: changes made while it loads are applied again on top (idempotent).
    const seq = store.lastEmbeddingChange();
    const dim = await this.options.embedDim();
    const exact = (ids: readonly number[]) => {
      const found = store.embeddingsFor(ids, modelId);
      return ids.map((id) => {
        const v = found.get(id);
        return v && isSoundEmbedding(v, dim) ? v : null;
      });
    };
    let reason: string | undefined;
    const libraryId = sidecarDir ? this.libraryId() : null;
    if (sidecarDir && libraryId) {
      const file = sidecarFile(sidecarDir, modelId);
      await pruneSidecars(sidecarDir, file); // other models' sidecars, temp files of interrupted writes
      const idx = new VectorIndex(dim, { exact });
      try {
        // The row count is read while other threads read the rows (this one would only wait); it is read
        // again below only if the database changed since.
        let counted: { count: number; seq: number } | null = null;
        const saved = await readSidecar(file, idx, { libraryId, modelId, dim }, { meanwhile: () => (counted = store.countEmbeddingsAt(modelId)) });
        if (saved.seq > store.lastEmbeddingChange()) throw new Error('newer than the database (the database was replaced)');
        holder.seq = saved.seq;
        this.damaged = { modelId, ids: saved.damaged };
        if (!this.applyChanges(holder, idx)) throw new Error('too far behind the database');
        const snapshot = counted as { count: number; seq: number } | null;
        const stored = snapshot && snapshot.seq === holder.seq ? snapshot.count : store.countEmbeddings(modelId);
        if (idx.size + this.damaged.ids.length !== stored) throw new Error(`${idx.size} rows, the database has ${stored}`);
        holder.idx = idx;
        this.lastLoad = { from: 'sidecar', ms: performance.now() - t0, rows: idx.size };
        return idx;
      } catch (e) {
        reason = e instanceof Error ? e.message : String(e);
        await idx.dispose();
      }
    }
    holder.seq = seq;
    const idx = new VectorIndex(dim, { exact });
    const damaged: number[] = [];
    this.loads++;
    await idx.load(soundRows(store.iterateEmbeddings(modelId), dim, damaged), { expectedCount: store.countEmbeddings(modelId) });
    if (this.holder === holder) this.damaged = { modelId, ids: damaged };
    holder.idx = idx;
    this.lastLoad = { from: 'database', reason, ms: performance.now() - t0, rows: idx.size };
    if (sidecarDir && this.holder === holder) void this.save(holder);
    return idx;
  }
}

function* soundRows(rows: Iterable<IndexRow>, dim: number, damaged: number[]): Generator<IndexRow> {
  for (const r of rows) {
    if (isSoundEmbedding(r.vector, dim)) yield r;
    else damaged.push(r.id);
  }
}
