/**
 * Which model is active, and the active model loaded once (its towers load lazily inside). The choice is a
 * setting of the library file, so a switch made by another process (the CLI while the app runs) is seen at
 * once; a switch whose photos are still being embedded is remembered as pending.
 */
import type { Store } from '../store';
import { openModel } from './open-model';
import type { EmbeddingModel } from '../model/types';
import type { ModelRegistry, RegisteredModel } from './registry';

const ACTIVE_MODEL = 'activeModel';
/** The model a switch is embedding the library for; it becomes ACTIVE_MODEL when that is done. */
const PENDING_MODEL = 'pendingModel';

export class ActiveModel {
  private model: { id: string; promise: Promise<EmbeddingModel> } | null = null;
  /** id()'s answer for the setting's value `chosen`. */
  private resolved: { chosen: string | null; id: string } | null = null;

  constructor(
    private readonly store: Store,
    private readonly registry: ModelRegistry,
    /** Told whenever the installed models or the active one change (the fronts list them again). */
    private readonly onModelsChanged: () => void,
  ) {}

  /**
   * The active model's id. Resolving it reads every model.json (the registry's listing) and a search asks on
   * every keystroke, so the answer is kept per value of the setting: the setting is still read each time (a
   * prepared SELECT). Forgotten whenever the models change here (switch, import, training, removal).
   */
  id(): string {
    const chosen = this.store.getSetting(ACTIVE_MODEL);
    if (this.resolved && this.resolved.chosen === chosen) return this.resolved.id;
    const id = chosen && this.registry.list().some((m) => m.id === chosen) ? chosen : this.registry.defaultId();
    this.resolved = { chosen, id };
    return id;
  }

  /** The active model's registry entry. */
  entry(): RegisteredModel {
    return this.registry.get(this.id());
  }

  /** The active model's folder (benchmarks load its towers themselves). */
  dir(): string {
    return this.entry().dir;
  }

  /** The active model, loaded once. */
  load(): Promise<EmbeddingModel> {
    const id = this.id();
    if (!this.model || this.model.id !== id) {
      const old = this.model;
      const promise = openModel(this.registry.get(id).dir);
      promise.catch(() => {
        if (this.model?.promise === promise) this.model = null;
      });
      this.model = { id, promise };
      if (old) void old.promise.then((m) => m.dispose()).catch(() => undefined);
    }
    return this.model.promise;
  }

  /** The loaded active model, or null when none is loaded (or it failed to load). */
  async loaded(): Promise<EmbeddingModel | null> {
    return (await this.model?.promise.catch(() => null)) ?? null;
  }

  /** A model switch that has not finished (its photos are still being embedded), or null. */
  pending(): { id: string; embedded: number; total: number } | null {
    const id = this.store.getSetting(PENDING_MODEL);
    if (!id || id === this.id() || !this.registry.list().some((m) => m.id === id)) return null;
    return { id, embedded: this.store.countEmbeddings(id), total: this.store.countPhotos() };
  }

  /** Remember that the library is being embedded for `id` (it becomes active when that is done). */
  markPending(id: string): void {
    this.store.setSetting(PENDING_MODEL, id);
    this.changed();
  }

  /** Make `id` the active model and forget any unfinished switch, in one transaction. */
  makeActive(id: string): void {
    this.store.transaction(() => {
      this.store.setSetting(ACTIVE_MODEL, id);
      this.store.setSetting(PENDING_MODEL, null);
    });
    this.changed();
  }

  /** The installed models or the active one changed: forget the resolved id and tell the fronts. */
  changed(): void {
    this.resolved = null;
    this.onModelsChanged();
  }

  async dispose(): Promise<void> {
    if (this.model) await (await this.model.promise.catch(() => null))?.dispose();
  }
}
