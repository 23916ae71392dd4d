/**
 * Train the built-in model's heads on a captioned set (Flickr8k train) with the app's own trainer, then
 * install them into models/builtin (heads.json/.bin + training provenance in model.json) and report recall
 * on a held-out set (Flickr8k dev).
 *
 *   npx tsx scripts/train-builtin.ts --train ../shared/datasets/flickr8k/train --dev ../shared/datasets/flickr8k/dev \
 *     [--epochs 30] [--loss default|tutorial] [--pool attention|mean] [--token-mlp 0|H] [--no-install] [--work DIR]
 *
 * The feature cache lives in the work folder (default scratch/builtin-train), so a second run decodes no photo.
 */
import { Command } from 'commander';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { initHeads } from '../main/backend/model/heads';
import { saveHeads, loadHeads, binPath, type HeadsSpec } from '../main/backend/model/heads-format';
import { loadModel } from '../main/backend/model/model';
import { builtinModelDir } from '../main/backend/model/registry';
import type { ModelManifest } from '../main/backend/model/types';
import { Store } from '../main/backend/store';
import { storeFeatureCache } from '../main/backend/train/features';
import { evaluateModelOnSet, trainModel } from '../main/backend/train/job';

async function main() {
  const o = new Command()
    .requiredOption('--train <dir>')
    .option('--dev <dir>')
    .option('--epochs <n>', 'max epochs', Number, 40)
    .option('--loss <kind>', 'default | tutorial', 'default')
    .option('--pool <kind>', 'attention | mean', 'mean')
    .option('--token-mlp <n>', 'hidden size of the residual token MLP (0 = none)', Number, 0)
    .option('--batch <n>', 'photos per step', Number, 128)
    .option('--captions-per-photo <n>', 'captions per photo per step', Number, 5)
    .option('--lr <x>', 'learning rate', Number, 2e-3)
    .option('--weight-decay <x>', 'AdamW weight decay', Number, 0.1)
    .option('--val-fraction <x>', 'photos held out for early stopping', Number, 0.1)
    .option('--patience <n>', 'early-stopping patience (epochs)', Number, 4)
    .option('--seed <n>', 'seed', Number, 42)
    .option('--work <dir>', 'work folder', path.join(__dirname, '..', 'scratch', 'builtin-train'))
    .option('--no-install', 'do not write the heads into models/builtin')
    .parse()
    .opts();

  const builtin = builtinModelDir();
  const manifest = JSON.parse(await fs.readFile(path.join(builtin, 'model.json'), 'utf8')) as ModelManifest;
  const work = path.resolve(o.work);
  const base = path.join(work, 'base');
  await fs.rm(base, { recursive: true, force: true });
  await fs.mkdir(base, { recursive: true });
  for (const f of [manifest.image.file, manifest.text.file, manifest.text.tokenizer]) {
    await fs.link(path.join(builtin, f), path.join(base, f)).catch(() => fs.copyFile(path.join(builtin, f), path.join(base, f)));
  }
  const spec: HeadsSpec = {
    kind: 'projection',
    embedDim: manifest.embedDim,
    dropout: 0.1,
    imageInDim: manifest.image.featureDim,
    textInDim: manifest.text.featureDim,
    textPool: o.pool,
    textPoolHidden: 64,
    textTokenMlp: o.tokenMlp > 0 ? { hidden: o.tokenMlp } : null,
    logitScale: Math.log(1 / 0.07),
  };
  await saveHeads(path.join(base, 'heads.json'), initHeads(spec, o.seed));
  await fs.writeFile(path.join(base, 'model.json'), JSON.stringify({ ...manifest, id: 'builtin-untrained', heads: 'heads.json', training: undefined }, null, 2));

  const dataDir = path.join(work, 'data');
  await fs.mkdir(dataDir, { recursive: true });
  const started = Date.now();
  const result = await trainModel({
    set: path.resolve(o.train),
    baseModelDir: base,
    modelsDir: path.join(work, 'models'),
    dataDir,
    name: 'Built-in (trained on Flickr8k train)',
    epochs: o.epochs,
    loss: o.loss,
    seed: o.seed,
    batchSize: o.batch,
    captionsPerPhoto: o.captionsPerPhoto,
    lr: o.lr,
    weightDecay: o.weightDecay,
    valFraction: o.valFraction,
    patience: o.patience,
    onProgress: (p) => process.stderr.write(`\r${p.stage} ${p.done}/${p.total}      `),
    onEpoch: (e) =>
      process.stderr.write(
        `\nepoch ${e.epoch}/${e.epochs} loss ${e.loss.toFixed(4)} val t2i R@1/5/10 ${e.val?.textToImage.r1.toFixed(1)}/${e.val?.textToImage.r5.toFixed(1)}/${e.val?.textToImage.r10.toFixed(1)} lr ${e.lr}\n`,
      ),
  });
  const wall = (Date.now() - started) / 1000;
  const trainedDir = path.join(work, 'models', result.model);
  console.log(JSON.stringify({ model: result.model, epochs: result.epochs, trainSeconds: result.trainSeconds, wallSeconds: wall, before: result.before, val: result.val }, null, 2));

  let dev = null;
  if (o.dev) {
    const model = await loadModel(trainedDir);
    const store = new Store(path.join(dataDir, 'library.db'));
    dev = await evaluateModelOnSet(model, path.resolve(o.dev), storeFeatureCache(store));
    store.close();
    await model.dispose();
    console.log(JSON.stringify({ dev }, null, 2));
  }

  if (o.install) {
    const trainedManifest = JSON.parse(await fs.readFile(path.join(trainedDir, 'model.json'), 'utf8')) as ModelManifest;
    const heads = await loadHeads(path.join(trainedDir, trainedManifest.heads));
    await saveHeads(path.join(builtin, 'heads.json'), heads);
    const installed: ModelManifest = {
      ...manifest,
      heads: 'heads.json',
      training: {
        dataset: 'Flickr8k train (4,000 photos, 20,000 captions)',
        options: { ...(trainedManifest.training?.options ?? {}), pool: o.pool, tokenMlp: o.tokenMlp },
        metrics: { ...(trainedManifest.training?.metrics ?? {}), ...(dev ? { flickr8kDev: dev } : {}) },
        trainSeconds: result.trainSeconds,
        backend: trainedManifest.training?.backend,
      },
    };
    await fs.writeFile(path.join(builtin, 'model.json'), `${JSON.stringify(installed, null, 2)}\n`);
    console.log(`Installed heads into ${builtin} (${existsSync(binPath(path.join(builtin, 'heads.json'))) ? 'ok' : 'missing bin!'})`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
