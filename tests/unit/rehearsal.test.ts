import { beforeAll, describe, expect, it } from 'vitest';
import { initHeads } from '../../main/backend/model/heads';
import type { Heads } from '../../main/backend/model/heads-format';
import { recallFromScores, scoreMatrix } from '../../main/backend/train/evaluate';
import { TfHeads } from '../../main/backend/train/heads-tf';
import { rehearsalRows } from '../../main/backend/train/rehearsal';
import { makeRng } from '../../main/backend/train/split';
import { initTf, tf } from '../../main/backend/train/tf';
import { trainHeads } from '../../main/backend/train/trainer';
import { crossValidatedFineTune } from '../../main/backend/train/cross-validate';
import { foldsByPhoto } from '../../main/backend/train/split';
import { describeHeldOutGain } from '../../shared/format';

beforeAll(async () => {
  await initTf();
});

const SPEC = { kind: 'projection' as const, embedDim: 16, dropout: 0.1, imageInDim: 20, textInDim: 12, textPool: 'none' as const, textTokenMlp: null, logitScale: Math.log(1 / 0.07) };

/**
 * Two kinds of captioned photos: the same photo codes seen through different image and text maps, so that heads
 * fitted to one kind rank the other badly, and heads fitted hard to the second forget the first.
 */
function kinds(seed: number) {
  const rng = makeRng(seed);
  const gauss = () => (rng() + rng() + rng() - 1.5) * 1.2;
  const matrix = (rows: number) => Array.from({ length: rows * 6 }, gauss);
  const project = (M: number[], z: number[], out: number, noise: number) => Float32Array.from({ length: out }, (_, i) => z.reduce((s, v, k) => s + M[i * 6 + k]! * v, 0) + noise * gauss());
  const kind = (n: number) => {
    const [A, B] = [matrix(20), matrix(12)];
    const codes = Array.from({ length: n }, () => Array.from({ length: 6 }, gauss));
    return {
      imageFeatures: codes.map((z) => project(A, z, 20, 0.3)),
      captions: Array.from({ length: n * 3 }, (_, j) => ({ photo: j % n, features: { data: project(B, codes[j % n]!, 12, 0.6), length: 1 } })),
    };
  };
  return { base: kind(160), fresh: kind(120) };
}

type Kind = ReturnType<typeof kinds>['base'];

/** The first `n` photos of a kind as a caption memory: each photo and the mean of its captions. */
function memoryOf(k: Kind, n: number) {
  return Array.from({ length: n }, (_, p) => {
    const own = k.captions.filter((c) => c.photo === p).map((c) => c.features.data);
    return { image: k.imageFeatures[p]!, text: own[0]!.map((_, i) => own.reduce((s, t) => s + t[i]!, 0) / own.length) };
  });
}

/** Text→photo R@5 of some heads on photos `from`…`to` of a kind. */
function r5(heads: Heads, k: Kind, from: number, to: number): number {
  const h = new TfHeads(heads);
  try {
    const photos = Array.from({ length: to - from }, (_, i) => from + i);
    const caps = k.captions.filter((c) => c.photo >= from && c.photo < to);
    const [img, txt] = tf.tidy(() => [
      h.embedImages(tf.tensor2d(photos.map((p) => Array.from(k.imageFeatures[p]!)))).dataSync() as Float32Array,
      h.embedTexts(tf.tensor2d(caps.map((c) => Array.from(c.features.data)))).dataSync() as Float32Array,
    ]);
    return recallFromScores(scoreMatrix(txt, img, SPEC.embedDim), photos.length, caps.map((c) => c.photo - from)).textToImage.r5;
  } finally {
    h.dispose();
  }
}

describe('rehearsal: a fine-tune replays pairs its base was trained on', () => {
  it('learns a new kind of photo as well, and forgets much less of the old one', async () => {
    const start = tf.memory().numTensors;
    const { base, fresh } = kinds(5);
    // The base's heads know the first kind (photos 0–119 trained, 120–159 held out).
    const trained = await trainHeads({ ...base, heads: initHeads(SPEC, 1), trainPhotos: [...Array(120).keys()], valPhotos: [], epochs: 25, batchSize: 16, captionsPerPhoto: 2, lr: 1e-2, seed: 1, schedule: 'cosine' });
    const memory = memoryOf(base, 120);
    const knew = r5(trained.heads, base, 120, 160);
    expect(knew).toBeGreaterThan(60);
    // A hard fine-tune on the second kind, with and without the base's pairs in every step.
    const fineTune = (rehearse: boolean) =>
      trainHeads({ ...fresh, heads: trained.heads, trainPhotos: [...Array(80).keys()], valPhotos: [], epochs: 25, batchSize: 16, captionsPerPhoto: 2, lr: 1e-2, seed: 2, schedule: 'cosine', ...(rehearse ? { rehearsal: rehearsalRows(memory, fresh.captions, 16) } : {}) });
    const alone = await fineTune(false);
    const replayed = await fineTune(true);
    const learnedAlone = r5(alone.heads, fresh, 80, 120);
    const learnedReplayed = r5(replayed.heads, fresh, 80, 120);
    expect(learnedAlone).toBeGreaterThan(r5(trained.heads, fresh, 80, 120) + 20);
    expect(learnedReplayed).toBeGreaterThan(learnedAlone - 10);
    const keptAlone = r5(alone.heads, base, 120, 160);
    const keptReplayed = r5(replayed.heads, base, 120, 160);
    // Measured: the base's held-out R@5 100 → 59 alone, → 99 replayed and held; the new kind 4 → 94 alone, → 91 replayed.
    expect(keptAlone).toBeLessThan(knew - 20);
    expect(keptReplayed).toBeGreaterThan(Math.max(keptAlone + 25, knew - 10));
    expect(tf.memory().numTensors).toBe(start);
  });

  it('a run with nothing to replay is the run without it, and caption means are scaled to a caption length', async () => {
    const { base } = kinds(6);
    const run = (rows: number) =>
      trainHeads({ ...base, heads: initHeads(SPEC, 2), trainPhotos: [...Array(40).keys()], valPhotos: [], epochs: 2, batchSize: 8, seed: 3, schedule: 'cosine', ...(rows ? { rehearsal: { images: [], texts: [], perStep: rows } } : {}) });
    const [a, b] = [await run(0), await run(8)];
    for (const [k, t] of a.heads.weights) expect([...b.heads.weights.get(k)!.data]).toEqual([...t.data]);
    const rows = rehearsalRows([{ image: new Float32Array(20), text: Float32Array.from({ length: 12 }, (_, i) => (i === 0 ? 0.5 : 0)) }], [{ photo: 0, features: { data: Float32Array.from({ length: 12 }, (_, i) => (i < 4 ? 1 : 0)), length: 1 } }], 4);
    expect(rows.texts[0]![0]).toBeCloseTo(2, 6);
    expect(rows.perStep).toBe(4);
  });

  it("cross-validation never chooses a step that unlearns the base's pairs kept out of rehearsal", async () => {
    const start = tf.memory().numTensors;
    const { base, fresh } = kinds(7);
    const trained = await trainHeads({ ...base, heads: initHeads(SPEC, 1), trainPhotos: [...Array(160).keys()], valPhotos: [], epochs: 25, batchSize: 16, captionsPerPhoto: 2, lr: 1e-2, seed: 1, schedule: 'cosine' });
    const memory = memoryOf(base, 160);
    const folds = foldsByPhoto(120, { seed: 4, folds: 4 });
    const all = [...Array(120).keys()];
    const recipe = { ...fresh, heads: trained.heads, batchSize: 16, captionsPerPhoto: 2, seed: 3, patience: 3, folds, allPhotos: all, shares: [0.25, 1] };
    const steps = (lr: number) => [{ name: 'whole' as const, lr, epochs: 8, warmup: true }];
    // Without the check the new kind is learned at any cost; the first 128 rows replayed, the last 32 the check.
    const rows = rehearsalRows(memory, fresh.captions, 16, 5);
    expect(rows.check).toBe(32);
    const checked = await crossValidatedFineTune({ ...recipe, steps: steps(1e-2), rehearsal: rows });
    expect(checked.choice.share).toBeGreaterThan(0);
    expect(checked.gainR5.mean).toBeGreaterThan(20);
    const kept = checked.choice.kept!;
    expect(kept.photos).toBe(32);
    expect(kept.after).toBeGreaterThanOrEqual(kept.before - 2 * 100 / Math.sqrt(32));
    // A rate that wrecks every blend: nothing keeps what the base knew, so the start is kept, and said why.
    const wrecked = await crossValidatedFineTune({ ...recipe, steps: steps(5), rehearsal: { ...rows, perStep: 0 } });
    expect(wrecked.choice).toMatchObject({ share: 0, startKept: 'forgets' });
    for (const [k, t] of trained.heads.weights) expect([...wrecked.heads.weights.get(k)!.data]).toEqual([...t.data]);
    const said = describeHeldOutGain({ before: wrecked.before, val: wrecked.after, blend: 0, heldOut: { folds: 4, photos: 120, gainR5: wrecked.gainR5, finalTrainPhotos: 0, choice: wrecked.choice } });
    expect(said).toContain('unlearned what the starting model knew');
    expect(tf.memory().numTensors).toBe(start);
  });
});
