/**
 * Train the built-in model's heads on a captioned set (Flickr8k train) with the app's own trainer, install
 * them into models/builtin (heads.json/.bin + training provenance in model.json) and report recall on a
 * held-out set (Flickr8k dev) as the runtime computes it (ONNX heads).
 *
 *   npx tsx scripts/train-builtin.ts --train ../shared/datasets/flickr8k/train --dev ../shared/datasets/flickr8k/dev \
 *     [--final all|holdout] [--epochs 30] [--feature-dropout 0] [--member-seeds 42,1,2] [--no-install] [--work DIR]
 *     [--no-check] [--into DIR]
 *
 * Two steps, so that no choice is made on the dev set:
 *   1. recipe check: train on 90% of the train photos, keeping the best epoch on the other 10% (as
 *      `photo-search train` does), and report the held-out recall;
 *   2. final fit (`--final all`, the default): the same recipe on every train photo, with a fixed schedule
 *      (warm-up + cosine decay) over `--epochs` epochs; `--final holdout` ships the step-1 heads instead.
 *      `--no-check` skips step 1 (with `--final all`): heads for a measurement, not for shipping.
 * `--into DIR` installs into a copy of the built-in model in DIR instead of models/builtin (experiments: e.g. heads
 * trained on Flickr8k train plus part of another set, scripts/bench-paired.ts then compares the folders).
 * Besides Flickr8k's photos, the heads learn from generated scenes of coloured shapes, counts and positions
 * (`--scenes N`, seed 11; tests/helpers/scenes.ts): Flickr8k's captions name colours and places too rarely and too
 * loosely for the heads to learn them (untrained, "a blue square" found the blue one among 16 coloured shapes
 * 1 time in 16). The scenes are only ever trained on; the held-out photos are Flickr8k's.
 * Each step trains one set of heads per seed of `--member-seeds` with the same recipe on the same photos (kept in
 * the work folder's members/, so a second run trains none), and more than one are shipped as one ensemble (heads-format.ts `members`): each member's unit embedding concatenated
 * and mapped back to 256 values along the principal directions of the training photos' and captions' embeddings
 * (scripts/heads-ensemble.ts). Search, storage and the query bank see 256 values as before; the heads cost N times.
 * The feature cache lives in the work folder (default scratch/builtin-train), so a second run decodes no photo.
 */
import { Command } from 'commander';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { EvalResult } from '../shared/api';
import { initHeads } from '../main/backend/model/heads';
import { binPath, loadHeads, saveHeads, type Heads, type HeadsSpec } from '../main/backend/model/heads-format';
import { fitMembers, recallOnPhotos } from './train-builtin-members';
import { sha256 } from '../main/backend/fs/hash';
import { openModel } from '../main/backend/catalog/open-model';
import { writeManifest } from '../main/backend/catalog/manifest';
import { builtinModelDir } from '../main/backend/catalog/registry';
import type { ModelManifest } from '../main/backend/model/types';
import { Store } from '../main/backend/store';
import { computeSetFeatures, storeFeatureCache } from '../main/backend/train/features';
import { evaluateModelOnSet } from '../main/backend/train/job';
import { BUILTIN_RECIPE } from '../main/backend/train/recipe';
import { saveTrainedModel } from '../main/backend/train/save';
import { readCaptionSet } from '../main/backend/train/readers';
import { splitByPhoto } from '../main/backend/train/split';
import { initTf } from '../main/backend/train/tf';
import type { TrainHeadsOptions } from '../main/backend/train/trainer';
import { dataPaths } from '../main/backend/paths';
import { makeSceneSet } from '../tests/helpers/scenes';
import { embedQueryBank } from './make-query-bank';
import { makeCaptionMemory } from './make-caption-memory';

/** The seed of the generated scenes the built-in heads learn from (the benchmarks use seeds 1 and 2). */
const SCENES_SEED = 11;

const fmt = (r: EvalResult | null | undefined) => (r ? `${r.textToImage.r1.toFixed(1)}/${r.textToImage.r5.toFixed(1)}/${r.textToImage.r10.toFixed(1)}` : '-');

async function main() {
  const o = new Command()
    .requiredOption('--train <dir>')
    .option('--dev <dir>')
    .option('--final <kind>', 'all (every train photo, fixed schedule) | holdout (the recipe-check heads)', 'all')
    .option('--epochs <n>', 'epochs (fixed schedule)', Number, BUILTIN_RECIPE.epochs)
    .option('--feature-dropout <x>', 'dropout on the tower features', Number, BUILTIN_RECIPE.featureDropout)
    .option('--seed <n>', 'seed', Number, 42)
    .option('--member-seeds <seeds>', 'seeds of the heads trained apart and shipped as one ensemble (comma-separated)', BUILTIN_RECIPE.memberSeeds.join(','))
    .option('--scenes <n>', 'generated scenes of coloured shapes trained on besides the set (0: none)', Number, 1500)
    .option('--work <dir>', 'work folder', path.join(__dirname, '..', 'scratch', 'builtin-train'))
    .option('--no-install', 'do not write the heads into models/builtin')
    .option('--no-check', 'skip the recipe check (with --final all)')
    .option('--into <dir>', 'install into a copy of the built-in model in this folder instead of models/builtin')
    .parse()
    .opts();
  if (o.final !== 'all' && o.final !== 'holdout') throw new Error(`--final must be all or holdout, not ${o.final}.`);
  if (!o.check && o.final !== 'all') throw new Error('--no-check needs --final all (the recipe check is what --final holdout ships).');

  const log = (m: string) => process.stderr.write(`[train-builtin] ${m}\n`);
  const backend = await initTf();
  const builtin = builtinModelDir();
  const manifest = JSON.parse(await fs.readFile(path.join(builtin, 'model.json'), 'utf8')) as ModelManifest;
  const work = path.resolve(o.work);
  await fs.mkdir(path.join(work, 'data'), { recursive: true });
  const store = new Store(dataPaths(path.join(work, 'data')).db);
  const cache = storeFeatureCache(store);
  const spec: HeadsSpec = {
    kind: 'projection',
    embedDim: manifest.embedDim,
    dropout: 0.1,
    imageInDim: manifest.image.featureDim,
    textInDim: manifest.text.featureDim,
    textPool: manifest.text.outputKind === 'sequence' ? 'attention' : 'none',
    textPoolHidden: 64,
    textTokenMlp: null,
    logitScale: Math.log(1 / 0.07),
  };
  // After a tower change (npm run build:model) the committed heads no longer fit the towers: start from fresh
  // heads so the towers can load (the trained heads replace them at the end).
  const committed = await loadHeads(path.join(builtin, manifest.heads)).catch(() => null);
  if (!committed || committed.spec.imageInDim !== spec.imageInDim || committed.spec.textInDim !== spec.textInDim || committed.spec.textPool !== spec.textPool) {
    log('the committed heads do not fit the towers: starting from fresh heads');
    await saveHeads(path.join(builtin, manifest.heads), initHeads(spec, o.seed));
  }
  const model = await openModel(builtin);

  const set = await readCaptionSet(path.resolve(o.train));
  log(`${set.images.length} photos; features (with ${BUILTIN_RECIPE.augment.join(', ')} views), backend ${backend}`);
  const f = await computeSetFeatures(model, set, cache, {
    views: BUILTIN_RECIPE.augment,
    onProgress: (p) => process.stderr.write(`\r${p.stage} ${p.done}/${p.total}      `),
  });
  process.stderr.write('\n');
  // Generated scenes, appended after the set's photos: trained on, never held out.
  const flickrPhotos = f.images.length;
  let scenes = 0;
  if (o.scenes > 0) {
    const dir = path.join(work, `scenes-seed${SCENES_SEED}-${o.scenes}`);
    if (!existsSync(path.join(dir, 'captions.txt'))) await makeSceneSet(dir, { photos: o.scenes, seed: SCENES_SEED, prefix: `builtin${SCENES_SEED}` });
    const sf = await computeSetFeatures(model, await readCaptionSet(dir), cache, { views: BUILTIN_RECIPE.augment });
    scenes = sf.images.length;
    f.imageFeatures.push(...sf.imageFeatures);
    sf.imageViews.forEach((v, i) => f.imageViews[i]!.push(...v));
    f.captions.push(...sf.captions.map((c) => ({ ...c, photo: c.photo + flickrPhotos })));
    log(`${scenes} generated scenes added to the training photos`);
  }

  const memberSeeds = String(o.memberSeeds).split(',').map(Number);
  if (!memberSeeds.length || memberSeeds.some((x) => !Number.isInteger(x))) throw new Error(`--member-seeds takes whole numbers, not ${o.memberSeeds}.`);
  const recipe = { ...BUILTIN_RECIPE, epochs: o.epochs, featureDropout: o.featureDropout, seed: o.seed, scenes, memberSeeds };
  // Trained heads are kept under a name that changes with the features, the recipe and the photos (which ones, not
  // only how many: two sets of the same size are not the same training).
  const tag = sha256(JSON.stringify([model.photoFeatureKey, { ...recipe, memberSeeds: undefined }, f.images.length, f.captions.length, sha256(f.images.map((im) => im.file).join('\n'))])).slice(0, 12);
  log(`trained heads are kept in ${path.join(work, 'members')} (…-${tag}.json)`);
  const common: Omit<TrainHeadsOptions, 'trainPhotos' | 'valPhotos' | 'heads'> = {
    batchSize: recipe.batchSize,
    captionsPerPhoto: recipe.captionsPerPhoto,
    lr: recipe.lr,
    weightDecay: recipe.weightDecay,
    featureDropout: recipe.featureDropout,
    schedule: recipe.schedule,
    epochs: recipe.epochs,
    seed: recipe.seed,
    imageFeatures: f.imageFeatures,
    imageViews: f.imageViews,
    captions: f.captions,
    onEpoch: (e) => log(`epoch ${e.epoch}/${e.epochs} loss ${e.loss.toFixed(4)} held-out t2i R@1/5/10 ${fmt(e.val)} lr ${e.lr.toExponential(2)}`),
  };

  const members = { work: path.join(work, 'members'), tag, seeds: memberSeeds, spec, common, features: f, log };
  const fit = (what: string, photos: number[], valPhotos: number[]) => fitMembers(members, what, photos, valPhotos);
  const recallOn = (heads: Heads, photos: number[]) => recallOnPhotos(heads, f, photos);

  // 1. Recipe check on a 90/10 split of the train photos (the best epoch on the 10% kept), as `photo-search train` does.
  const split = splitByPhoto(flickrPhotos, { seed: o.seed, valFraction: 0.1 });
  split.train.push(...Array.from({ length: scenes }, (_, i) => flickrPhotos + i));
  log(`recipe check: ${split.train.length} photos, ${split.val.length} held out`);
  const checked = o.check ? await fit('recipe check', split.train, split.val) : null;
  const check = checked
    ? { heads: checked.heads, seconds: checked.seconds, best: { epoch: checked.bestEpochs.length === 1 ? checked.bestEpochs[0]! : checked.bestEpochs, val: await recallOn(checked.heads, split.val) as EvalResult | null } }
    : { heads: initHeads(spec, o.seed), seconds: 0, best: { epoch: null as number | number[] | null, val: null as EvalResult | null } };
  if (checked) log(`recipe check: best epoch ${String(check.best.epoch)}, held-out t2i R@1/5/10 ${fmt(check.best.val)} (${check.seconds.toFixed(0)} s)`);

  // 2. Final heads.
  let heads = check.heads;
  let finalInfo: Record<string, unknown> = { final: 'holdout', trainPhotos: split.train.length, bestEpoch: check.best.epoch };
  let seconds = check.seconds;
  if (o.final === 'all') {
    const all = f.imageFeatures.map((_, i) => i);
    log(`final fit: all ${all.length} photos, ${recipe.epochs} epochs, warm-up + cosine decay, last epoch kept`);
    const final = await fit('final fit', all, []);
    heads = final.heads;
    seconds = final.seconds;
    finalInfo = { final: 'all', trainPhotos: all.length };
  }

  // 3. Save as a model version next to the towers (the app's own saver), so dev recall is measured by the runtime.
  const modelsDir = path.join(work, 'models');
  await fs.rm(modelsDir, { recursive: true, force: true });
  const staged = (await saveTrainedModel({ modelsDir, baseDir: builtin, baseManifest: manifest, heads, id: 'staged', training: { dataset: set.dir } })).dir;
  let dev: EvalResult | null = null;
  if (o.dev) {
    const trained = await openModel(staged);
    dev = await evaluateModelOnSet(trained, path.resolve(o.dev), cache);
    await trained.dispose();
    log(`dev (never trained on): t2i R@1/5/10 ${fmt(dev)}, i2t ${dev.imageToText.r1}/${dev.imageToText.r5}/${dev.imageToText.r10}`);
  }
  console.log(JSON.stringify({ recipe, check: { bestEpoch: check.best.epoch, heldOut: check.best.val, seconds: check.seconds }, ...finalInfo, trainSeconds: seconds, dev }, null, 2));

  if (o.install) {
    await install({
      into: o.into,
      builtin,
      manifest,
      heads,
      training: {
        dataset: `${o.into ? set.dir : 'Flickr8k train'} (${flickrPhotos.toLocaleString('en-US')} photos)${scenes ? ` and ${scenes.toLocaleString('en-US')} generated scenes of coloured shapes (seed ${SCENES_SEED})` : ''}, ${f.captions.length.toLocaleString('en-US')} captions`,
        options: { ...recipe, loss: 'default', ...finalInfo },
        metrics: { ...(check.best.val ? { heldOut: check.best.val } : {}), ...(dev ? { flickr8kDev: dev } : {}) },
        trainSeconds: Math.round(seconds * 10) / 10,
        backend,
      },
      memoryFrom: o.final === 'all' ? { set: path.resolve(o.train), data: path.join(work, 'data') } : null,
      log,
    });
  }
  store.close();
  await model.dispose();
}

/**
 * Write the heads into the built-in model folder, or into a copy of it in `into` (experiments): the heads, the manifest
 * (through the app's validated writer) and the caption memory of the photos trained on (`memoryFrom`; without it, the
 * shipped query bank embedded again with the new heads).
 */
async function install(a: {
  into?: string;
  builtin: string;
  manifest: ModelManifest;
  heads: Heads;
  training: NonNullable<ModelManifest['training']>;
  memoryFrom: { set: string; data: string } | null;
  log: (m: string) => void;
}): Promise<void> {
  const target = a.into ? path.resolve(a.into) : a.builtin;
  if (a.into) {
    await fs.rm(target, { recursive: true, force: true });
    await fs.cp(a.builtin, target, { recursive: true });
  }
  await saveHeads(path.join(target, 'heads.json'), a.heads);
  // The app's manifest writer: validated, written to a temp file and renamed.
  await writeManifest(target, { ...a.manifest, heads: 'heads.json', training: a.training });
  // The caption memory: the Flickr8k photos the heads were trained on (all of them, or none held out). Writing it
  // embeds the shipped query bank again with the new heads; without it, that alone.
  if (a.memoryFrom) await makeCaptionMemory({ set: a.memoryFrom.set, model: target, data: a.memoryFrom.data });
  else await embedQueryBank(target);
  a.log(`installed heads into ${target} (${existsSync(binPath(path.join(target, 'heads.json'))) ? 'ok' : 'missing bin!'})`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
