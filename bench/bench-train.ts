/**
 * Training throughput on cached tower features: captions per second per epoch, for each TensorFlow.js
 * backend that starts here (tensorflow = tfjs-node when installed, wasm, cpu). The features are seeded
 * random tensors of the real sizes, since only the heads' FLOPs matter for speed, not their values.
 */
import type { HeadsSpec } from '../main/backend/model/heads-format';
import { initHeads, seededRandom } from '../main/backend/model/heads';
import type { TextFeatures } from '../main/backend/model/types';
import { initTf, type TfBackend } from '../main/backend/train/tf';
import type { CaptionFeatures } from '../main/backend/train/features';
import { trainHeads } from '../main/backend/train/trainer';

export interface BenchTrainOptions {
  photos?: number;
  captionsPerPhoto?: number;
  imageInDim?: number;
  textInDim?: number;
  /** Tokens per caption for sequence text features (1 = pooled features). */
  textLength?: number;
  embedDim?: number;
  textPool?: HeadsSpec['textPool'];
  epochs?: number;
  batchSize?: number;
  backends?: TfBackend[];
  seed?: number;
}

export interface BenchTrainBackend {
  backend: TfBackend;
  /** Training captions per second, per epoch (validation included in the epoch time). */
  captionsPerSecByEpoch: number[];
  captionsPerSec: number;
  seconds: number;
}

export interface BenchTrainResult {
  photos: number;
  trainCaptions: number;
  spec: HeadsSpec;
  results: BenchTrainBackend[];
  /** Backends that did not start on this machine. */
  unavailable: TfBackend[];
}

function randomArray(n: number, rand: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand() * 2 - 1;
  return a;
}

export async function benchTrain(opts: BenchTrainOptions = {}): Promise<BenchTrainResult> {
  const photos = opts.photos ?? 1000;
  const perPhoto = opts.captionsPerPhoto ?? 5;
  const textLength = opts.textLength ?? 12;
  const spec: HeadsSpec = {
    kind: 'projection',
    embedDim: opts.embedDim ?? 256,
    dropout: 0.1,
    imageInDim: opts.imageInDim ?? 1280,
    textInDim: opts.textInDim ?? 100,
    textPool: textLength > 1 ? (opts.textPool ?? 'attention') : 'none',
    logitScale: Math.log(1 / 0.07),
  };
  const rand = seededRandom(opts.seed ?? 1);
  const imageFeatures = Array.from({ length: photos }, () => randomArray(spec.imageInDim, rand));
  const captions: CaptionFeatures[] = [];
  for (let p = 0; p < photos; p++) {
    for (let c = 0; c < perPhoto; c++) {
      const features: TextFeatures = { data: randomArray(textLength * spec.textInDim, rand), length: textLength };
      captions.push({ photo: p, features });
    }
  }
  // 90/10 split by photo, as the trainer expects.
  const ids = Array.from({ length: photos }, (_, i) => i);
  const cut = Math.floor(photos * 0.9);
  const trainPhotos = ids.slice(0, cut);
  const valPhotos = ids.slice(cut);
  const trainCaptions = cut * perPhoto;

  const results: BenchTrainBackend[] = [];
  const unavailable: TfBackend[] = [];
  for (const backend of opts.backends ?? (['tensorflow', 'wasm', 'cpu'] as TfBackend[])) {
    const got = await initTf(backend).catch(() => null);
    if (got !== backend) {
      unavailable.push(backend);
      continue;
    }
    const epochTimes: number[] = [];
    let last = performance.now();
    const t0 = last;
    await trainHeads({
      heads: initHeads(spec, opts.seed ?? 1),
      imageFeatures,
      captions,
      trainPhotos,
      valPhotos,
      epochs: opts.epochs ?? 2,
      batchSize: opts.batchSize,
      seed: opts.seed ?? 1,
      patience: 1000, // never stop early: every epoch is timed
      onEpoch: () => {
        const now = performance.now();
        epochTimes.push((now - last) / 1000);
        last = now;
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    const perEpoch = epochTimes.map((s) => trainCaptions / s);
    results.push({ backend, captionsPerSecByEpoch: perEpoch, captionsPerSec: perEpoch.length ? perEpoch[perEpoch.length - 1] : 0, seconds });
  }
  return { photos, trainCaptions, spec, results, unavailable };
}
