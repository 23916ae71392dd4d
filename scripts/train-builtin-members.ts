/**
 * `train:builtin`'s heads: one set per member seed, trained with the built-in recipe on the given photos (kept in a
 * work folder under a tag that changes with the features and the recipe, so a second run trains none), then, when
 * there are several, mixed into one ensemble (heads-ensemble.ts); and the recall of any heads on some of the photos.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { EvalResult } from '../shared/api';
import { HeadsRunner, initHeads } from '../main/backend/model/heads';
import { loadHeads, saveHeads, type Heads, type HeadsSpec } from '../main/backend/model/heads-format';
import { evaluateEmbeddings } from '../main/backend/train/evaluate';
import type { SetFeatures } from '../main/backend/train/features';
import { trainHeads, type TrainHeadsOptions } from '../main/backend/train/trainer';
import { assembleEnsemble, principalMix } from './heads-ensemble';

export interface MemberTraining {
  /** Where trained members are kept. */
  work: string;
  /** Changes with everything a member depends on but its seed. */
  tag: string;
  seeds: number[];
  spec: HeadsSpec;
  common: Omit<TrainHeadsOptions, 'trainPhotos' | 'valPhotos' | 'heads'>;
  features: Pick<SetFeatures, 'imageFeatures' | 'captions'>;
  log: (line: string) => void;
}

export interface FittedMembers {
  heads: Heads;
  /** Seconds of training, summed over the members (as first trained). */
  seconds: number;
  bestEpochs: number[];
}

/** Heads trained on `photos`, one set per seed; several are mixed along the principal directions of these photos' and their captions' embeddings. */
export async function fitMembers(t: MemberTraining, what: string, photos: number[], valPhotos: number[]): Promise<FittedMembers> {
  const members: Heads[] = [];
  const bestEpochs: number[] = [];
  let seconds = 0;
  for (const [m, seed] of t.seeds.entries()) {
    const file = path.join(t.work, `${what.replace(/ /g, '-')}-${seed}-${t.tag}.json`);
    const kept = existsSync(file) && existsSync(`${file}.run`) ? await loadHeads(file) : null;
    let info: { bestEpoch: number; seconds: number };
    let heads: Heads;
    if (kept) {
      t.log(`${what}: heads ${m + 1} of ${t.seeds.length} (seed ${seed}) kept from an earlier run`);
      heads = kept;
      info = JSON.parse(await fs.readFile(`${file}.run`, 'utf8')) as typeof info;
    } else {
      t.log(`${what}: heads ${m + 1} of ${t.seeds.length} (seed ${seed}), ${photos.length} photos`);
      const run = await trainHeads({ ...t.common, seed, heads: initHeads(t.spec, seed), trainPhotos: photos, valPhotos });
      heads = run.heads;
      info = { bestEpoch: run.best.epoch, seconds: run.seconds };
      await fs.mkdir(path.dirname(file), { recursive: true });
      await saveHeads(file, heads);
      await fs.writeFile(`${file}.run`, JSON.stringify(info));
    }
    members.push(heads);
    bestEpochs.push(info.bestEpoch);
    seconds += info.seconds;
  }
  if (members.length === 1) return { heads: members[0]!, seconds, bestEpochs };
  const inPhotos = new Set(photos);
  const texts = t.features.captions.filter((c) => inPhotos.has(c.photo)).map((c) => c.features.data);
  const mix = await principalMix(members, photos.map((p) => t.features.imageFeatures[p]!), texts);
  return { heads: assembleEnsemble(members, mix), seconds, bestEpochs };
}

/** Text→photo and photo→text recall of `heads` over `photos` (each caption ranked among these photos), by the runtime's heads graphs. */
export async function recallOnPhotos(heads: Heads, f: Pick<SetFeatures, 'imageFeatures' | 'captions'>, photos: number[]): Promise<EvalResult> {
  const runner = new HeadsRunner(heads);
  try {
    const index = new Map(photos.map((p, i) => [p, i]));
    const caps = f.captions.filter((c) => index.has(c.photo));
    const images = await runner.embedImage(photos.map((p) => f.imageFeatures[p]!));
    const texts = await runner.embedText(caps.map((c) => c.features));
    return evaluateEmbeddings(images, texts, caps.map((c) => index.get(c.photo)!));
  } finally {
    await runner.dispose();
  }
}
