/**
 * The training domain's service and its slice of the API table: inspect a captioned set, retrain the
 * active (or a named) model on it as a job, and measure a model on a set. The work itself is in train/.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ApiHandlers, CaptionSetInfo, EvalResult, JobInfo, SetEvalResult, TrainEpoch, TrainOptions, TrainResult } from '../../shared/api';
import { AppError } from './errors';
import { openModel } from './catalog/open-model';
import { userPath } from './paths';
import type { BackendState } from './state';
import { storeFeatureCache } from './train/features';
import { evaluateModelOnSet, runTrainingInWorker } from './train/job';
import { readCaptionSet } from './train/readers';

export type TrainingHandlers = Pick<ApiHandlers, 'inspectCaptionSet' | 'startTraining' | 'evaluate'>;

export class TrainingService {
  constructor(private readonly s: BackendState) {}

  handlers(): TrainingHandlers {
    return {
      inspectCaptionSet: (p) => this.inspectCaptionSet(userPath(p.path, 'captioned set')),
      startTraining: async (p) => this.startTraining({ ...p, set: userPath(p.set, 'captioned set') }).info,
      evaluate: (p) => this.evaluate(userPath(p.set, 'captioned set'), p.model),
    };
  }

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

  /** A model is addressed by its name (`models use NAME`), so names are unique; without one, "BASE (retrained)", numbered. */
  private newModelName(asked: string | undefined, baseName: string): string {
    const taken = new Set(this.s.registry.list().flatMap((m) => [m.manifest.name.toLowerCase(), m.id.toLowerCase()]));
    const name = asked?.trim();
    if (name && taken.has(name.toLowerCase())) {
      throw new AppError('invalid_input', `A model named "${name}" already exists. Choose another name, or remove it first with \`photo-search models remove ${name}\`.`);
    }
    if (name) return name;
    const stem = `${baseName} (retrained)`;
    let numbered = stem;
    for (let n = 2; taken.has(numbered.toLowerCase()); n++) numbered = `${stem} ${n}`;
    return numbered;
  }

  startTraining(opts: TrainOptions, onEpoch?: (e: TrainEpoch) => void): { info: JobInfo; done: Promise<TrainResult> } {
    const base = this.s.registry.get(opts.base ?? this.s.active.id());
    const setDir = path.resolve(opts.set);
    if (!existsSync(setDir)) throw new AppError('not_found', `Captioned set ${setDir} not found. Check the path.`);
    const name = this.newModelName(opts.name, base.manifest.name);
    let jobId = '';
    const job = this.s.jobs.start('train', 'Reading the captioned set', async (ctx) => {
      await this.s.compaction.until(ctx);
      const result = await runTrainingInWorker({
        dataDir: this.s.dataDir,
        baseModelDir: base.dir,
        modelsDir: this.s.modelsDir,
        set: setDir,
        name,
        epochs: opts.epochs,
        loss: opts.loss ?? 'default',
        seed: opts.seed,
        signal: ctx.signal,
        onProgress: (p: { stage?: string; done?: number; total?: number; etaSeconds?: number | null }) => ctx.progress(p),
        onEpoch: (epoch: TrainEpoch) => {
          onEpoch?.(epoch);
          this.s.emit({ type: 'train-epoch', jobId, epoch });
        },
        onBaseline: (before: EvalResult) => this.s.emit({ type: 'train-baseline', jobId, before }),
      });
      this.s.active.changed();
      return { ...result, name };
    });
    jobId = job.info.id;
    return job;
  }

  /** Recall of a model (the active one by default) on a captioned set. */
  async evaluate(setDir: string, modelIdOrName?: string): Promise<SetEvalResult> {
    const active = this.s.active.id();
    const id = modelIdOrName ? this.s.registry.get(modelIdOrName).id : active;
    const model = id === active ? await this.s.active.load() : await openModel(this.s.registry.get(id).dir);
    try {
      return await evaluateModelOnSet(model, path.resolve(setDir), storeFeatureCache(this.s.store));
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError('bad_dataset', (e as Error).message);
    } finally {
      if (model !== (await this.s.active.loaded())) await model.dispose();
    }
  }
}
