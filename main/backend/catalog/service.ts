/**
 * The catalog domain's service and its slice of the API table: which models exist (built-in, trained,
 * imported), importing one, removing one. Switching the active model re-embeds the library, so it is the
 * library's (library/model-switch.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ApiHandlers, JobInfo, ModelInfo } from '../../../shared/api';
import { AppError } from '../errors';
import type { BackendState } from '../state';
import { importModel } from './import';
import type { RegisteredModel } from './registry';

export type CatalogHandlers = Pick<ApiHandlers, 'models' | 'importModel' | 'removeModel'>;

export class CatalogService {
  constructor(
    private readonly s: BackendState,
    /** An import source as the user typed it → an absolute path or `hf:OWNER/NAME` (see userSource). */
    private readonly source: (typed: string) => string,
    /** What retraining `m` would run (the training domain decides: train/recipe.ts). */
    private readonly recipe: (m: RegisteredModel) => ModelInfo['recipe'],
  ) {}

  handlers(): CatalogHandlers {
    return {
      models: async () => this.models(),
      importModel: async (p) => this.startImport(this.source(p.source)).info,
      removeModel: (p) => this.removeModel(p.id),
    };
  }

  models(): ModelInfo[] {
    const active = this.s.active.id();
    return this.s.registry.list().map((m) => ({ ...this.s.registry.info(m, active), recipe: this.recipe(m) }));
  }

  /**
   * Delete a trained or imported model: its folder and its embeddings. Never the active model (search
   * needs it) and never one shipped with the app or given with --model-dir (not ours to delete).
   */
  async removeModel(idOrName: string): Promise<{ removed: string }> {
    this.s.compaction.refuse('remove a model');
    const m = this.s.registry.get(idOrName);
    if (m.builtin) throw new AppError('invalid_input', `"${m.manifest.name}" is the built-in model; it cannot be removed.`);
    if (m.id === this.s.active.id()) {
      throw new AppError('invalid_input', `"${m.manifest.name}" is the active model. Switch to another first (\`photo-search models use builtin\`), then remove it.`);
    }
    if (this.s.active.pending()?.id === m.id) {
      throw new AppError('invalid_input', `"${m.manifest.name}" is being switched to. Finish or cancel that switch first, then remove it.`);
    }
    const dir = path.resolve(m.dir);
    if (path.dirname(dir) !== path.resolve(this.s.modelsDir)) {
      throw new AppError('invalid_input', `"${m.manifest.name}" lives in ${dir}, outside the data folder's models; it was not added here, so it is not removed.`);
    }
    for (const j of this.s.jobs.list()) {
      if (j.state === 'running' && (j.kind === 'train' || j.kind === 'reembed')) {
        throw new AppError('busy', `A ${j.kind === 'train' ? 'training' : 're-embedding'} job is running (${j.stage}). Wait for it, then remove the model.`);
      }
    }
    // Rename first so a half-deleted folder never looks like a model (the registry skips dot-folders).
    const trash = path.join(this.s.modelsDir, `.removing-${m.id}`);
    await fs.rename(dir, trash);
    this.s.store.deleteEmbeddingsOfModel(m.id);
    await fs.rm(trash, { recursive: true, force: true });
    this.s.active.changed();
    return { removed: m.id };
  }

  /** Import a model folder or download `hf:OWNER/NAME`, as a job. */
  startImport(source: string): { info: JobInfo; done: Promise<ModelInfo> } {
    return this.s.jobs.start('import', `Importing ${source}`, async (ctx) => {
      const r = await importModel({
        source,
        modelsDir: this.s.modelsDir,
        signal: ctx.signal,
        onProgress: (p: { stage?: string; done: number; total: number }) => ctx.progress(p),
      });
      this.s.active.changed();
      return this.models().find((m) => m.id === r.id) as ModelInfo;
    });
  }
}
