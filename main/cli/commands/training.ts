/** `train` and `eval`: retrain on a captioned set, and measure a model on one. */
import { Option, type Command } from 'commander';
import { MAX_EPOCHS, MIN_EPOCHS, type TrainResult } from '../../../shared/api';
import { describeHeldOutGain, trainedOnWarning } from '../../../shared/format';
import type { Runner } from '../context';
import { out, pct, problemLines, recallTable, shellName } from '../format';
import { cliPath, intIn, modelName } from '../options';
import { shown } from '../terminal';

interface TrainFlags {
  name?: string;
  base?: string;
  epochs?: number;
  loss: 'default' | 'tutorial';
  seed?: number;
  json?: boolean;
}

export function registerTraining(program: Command, run: Runner): void {
  program
    .command('train')
    .description('retrain the heads on a captioned set (Images/ + captions.txt, Flickr8k.token.txt or results.csv)')
    .argument('<set>', 'folder of the captioned set')
    .option('--name <name>', 'name of the new model', modelName('--name'))
    .option('--base <model>', 'model to start from (default: the active one)')
    .option('--epochs <n>', `epochs (${MIN_EPOCHS} to ${MAX_EPOCHS}; at most, when early stopping: the epoch with the best held-out recall is kept)`, intIn('--epochs', MIN_EPOCHS, MAX_EPOCHS))
    .addOption(new Option('--loss <loss>', 'contrastive loss').choices(['default', 'tutorial']).default('default'))
    .option('--seed <n>', 'random seed (a whole number)', intIn('--seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER))
    .option('--json', 'print {model, epochs, trainSeconds, val, problems} as JSON')
    .action((set: string, o: TrainFlags) =>
      run(async ({ api, follow, onEvent }) => {
        let jobId: string | null = null;
        const off = onEvent((ev) => {
          if (ev.type !== 'train-epoch' || ev.jobId !== jobId || (o.json && !process.stderr.isTTY)) return;
          const e = ev.epoch;
          const v = e.val ? `  val R@1/5/10 ${pct(e.val.textToImage.r1)}/${pct(e.val.textToImage.r5)}/${pct(e.val.textToImage.r10)}` : '';
          const folds = e.folds ? `  (pooled over ${e.folds.done} of ${e.folds.of} folds)` : '';
          process.stderr.write(`epoch ${e.epoch}/${e.epochs}  loss ${e.loss.toFixed(4)}${v}${folds}\n`);
        });
        let r: TrainResult;
        try {
          const job = await api.startTraining({ set: cliPath(set), name: o.name, base: o.base, epochs: o.epochs, loss: o.loss, seed: o.seed });
          jobId = job.id;
          r = await follow<TrainResult>(job, 'Training');
        } finally {
          off();
        }
        const name = r.name ?? r.model;
        const gain = r.heldOut ? r.heldOut.gainR5.mean : r.before ? r.val.textToImage.r5 - r.before.textToImage.r5 : null;
        const heldOut = describeHeldOutGain(r);
        out(!!o.json, { model: r.model, name, epochs: r.epochs, bestEpoch: r.bestEpoch, blend: r.blend, gainR5: gain, heldOut: r.heldOut ?? null, trainSeconds: r.trainSeconds, val: { textToImage: r.val.textToImage, imageToText: r.val.imageToText }, before: r.before, problems: r.problems }, () =>
          [
            ...problemLines(r.problems),
            `New model "${shown(name)}" (${shown(r.model)}; ${r.epochs} epochs, ${r.trainSeconds.toFixed(1)} s).`,
            ...(r.bestEpoch === 0 && !r.heldOut ? ['No epoch did better than the starting model on the held-out photos: the new version keeps its heads.'] : []),
            ...(heldOut ? [heldOut] : []),
            ...(r.before ? ['Before (held-out photos):', recallTable(r.before, r.heldOut?.folds)] : []),
            'After:',
            recallTable(r.val, r.heldOut?.folds),
            `Activate it with \`photo-search models use ${shown(shellName(name))}\`.`,
          ].join('\n'),
        );
      }),
    );

  program
    .command('eval')
    .description('recall of a model on a captioned set')
    .argument('<set>')
    .option('--model <model>', 'model to evaluate, by name or id (default: the active one)')
    .option('--json', 'print {textToImage, imageToText, images, captions, problems} as JSON')
    .action((set: string, o: { model?: string; json?: boolean }) =>
      run(async ({ api }) => {
        const r = await api.evaluate({ set: cliPath(set), ...(o.model ? { model: o.model } : {}) });
        // Recall on photos the model (or one it was trained from) has seen is flattered: say so.
        const models = await api.models();
        const model = models.find((m) => m.id === o.model || m.name === o.model) ?? models.find((m) => m.active);
        const warning = model ? trainedOnWarning(models, model.id, cliPath(set)) : null;
        if (warning) process.stderr.write(`${shown(warning)}\n`);
        out(!!o.json, { ...r, ...(warning ? { warning } : {}) }, () => [...problemLines(r.problems), recallTable(r)].join('\n'));
      }),
    );
}
