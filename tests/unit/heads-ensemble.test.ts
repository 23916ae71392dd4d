/**
 * Heads trained apart, shipped as one ensemble (heads-format.ts `members`): the runtime graph mixes the members'
 * unit embeddings; untrained, the mix is their mean; mixed along the principal directions, copies of one head rank
 * exactly as that head does; specs an ensemble cannot have are refused in one line.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HeadsSpec } from '../../main/backend/model/heads-format';
import { HeadsRunner, initHeads, resolveSpec } from '../../main/backend/model/heads';
import { initTf } from '../../main/backend/train/tf';
import { trainHeads } from '../../main/backend/train/trainer';
import { TrainingBatches } from '../../main/backend/train/batches';
import { TfHeads } from '../../main/backend/train/heads-tf';
import { tf } from '../../main/backend/train/tf';
import { makeRng } from '../../main/backend/train/split';
import { assembleEnsemble, principalMix } from '../../scripts/heads-ensemble';

process.env.PHOTO_SEARCH_QUIET = '1';

const ONE: HeadsSpec = { kind: 'projection', embedDim: 8, dropout: 0.1, imageInDim: 12, textInDim: 6, textPool: 'none', logitScale: 2 };

function rows(n: number, dim: number, seed: number): Float32Array[] {
  const r = makeRng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: dim }, () => (r() - 0.5) * 4));
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

async function embed(heads: ReturnType<typeof initHeads>, img: Float32Array[], txt: Float32Array[]) {
  const runner = new HeadsRunner(heads);
  try {
    return { img: await runner.embedImage(img), txt: await runner.embedText(txt.map((data) => ({ data, length: 1 }))) };
  } finally {
    await runner.dispose();
  }
}

describe('an ensemble of heads', () => {
  beforeAll(async () => {
    await initTf();
  });

  it('untrained, embeds a photo as the normalized mean of its members\' unit embeddings', async () => {
    const members = [initHeads(ONE, 1), initHeads(ONE, 2), initHeads(ONE, 3)];
    const E = ONE.embedDim;
    const stacked = new Float32Array(3 * E * E);
    for (let r = 0; r < 3 * E; r++) stacked[r * E + (r % E)] = 1;
    const ens = assembleEnsemble(members, stacked);
    // initHeads of the ensemble spec starts from the same mix.
    expect(Array.from(initHeads(ens.spec, 9).weights.get('mix.weight')!.data)).toEqual(Array.from(stacked));
    const img = rows(4, ONE.imageInDim, 5);
    const txt = rows(4, ONE.textInDim, 6);
    const got = await embed(ens, img, txt);
    const each = await Promise.all(members.map((m) => embed(m, img, txt)));
    for (let i = 0; i < 4; i++) {
      const mean = unit(Array.from({ length: E }, (_, d) => each.reduce((s, e) => s + e.img[i]![d]!, 0)));
      Array.from(got.img[i]!).forEach((x, d) => expect(x).toBeCloseTo(mean[d]!, 5));
    }
    // The members differ, so the mean is none of them.
    expect(Math.abs(dot(got.img[0]!, each[0]!.img[0]!))).toBeLessThan(0.9999);
  });

  it('mixed along the principal directions, copies of one head rank photos exactly as that head does', async () => {
    const h = initHeads(ONE, 4);
    const img = rows(40, ONE.imageInDim, 7);
    const txt = rows(40, ONE.textInDim, 8);
    const ens = assembleEnsemble([h, h, h], await principalMix([h, h, h], img, txt));
    expect(ens.spec.members).toBe(3);
    expect(ens.weights.get('mix.weight')!.shape).toEqual([24, 8]);
    const probeImg = rows(5, ONE.imageInDim, 9);
    const probeTxt = rows(5, ONE.textInDim, 10);
    const single = await embed(h, probeImg, probeTxt);
    const mixed = await embed(ens, probeImg, probeTxt);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) expect(dot(mixed.txt[i]!, mixed.img[j]!)).toBeCloseTo(dot(single.txt[i]!, single.img[j]!), 4);
  });

  it('a fine-tune of an ensemble trains its first member and the mix; the other members stay as they are', async () => {
    const start = initHeads({ ...ONE, members: 3 }, 12);
    const img = rows(24, ONE.imageInDim, 13);
    const captions = rows(48, ONE.textInDim, 14).map((data, j) => ({ photo: j % 24, features: { data, length: 1 } }));
    const photos = [...Array(24).keys()];
    const run = (tuneFirstMember: boolean) =>
      trainHeads({ heads: start, imageFeatures: img, captions, trainPhotos: photos, valPhotos: [], epochs: 2, schedule: 'cosine', batchSize: 8, seed: 3, tuneFirstMember });
    const changed = (h: Awaited<ReturnType<typeof run>>['heads'], name: string) => h.weights.get(name)!.data.some((x, i) => x !== start.weights.get(name)!.data[i]);
    const tuned = (await run(true)).heads;
    expect(changed(tuned, 'm0.image.fc1.weight')).toBe(true);
    expect(changed(tuned, 'm0.text.fc2.bias')).toBe(true);
    expect(changed(tuned, 'mix.weight')).toBe(true);
    for (const name of [...start.weights.keys()].filter((n) => /^m[12]\./.test(n))) expect(changed(tuned, name), name).toBe(false);
    // Without it every member learns.
    const all = (await run(false)).heads;
    expect(changed(all, 'm2.image.fc1.weight')).toBe(true);
  });

  it('the other members\' outputs computed once give the loss computed at every step', () => {
    const h = new TfHeads(initHeads({ ...ONE, members: 3 }, 15));
    const img = rows(12, ONE.imageInDim, 16);
    const views = [rows(12, ONE.imageInDim, 17)];
    const captions = rows(24, ONE.textInDim, 18).map((data, j) => ({ photo: j % 12, features: { data, length: 1 } }));
    const loss = (fixed: boolean) => {
      const data = new TrainingBatches(img, views, captions, h, 'default', 1);
      expect(data.fixOtherMembers(h, fixed ? undefined : 0)).toBe(fixed);
      const photos = [0, 3, 5, 7, 11];
      const caps = data.pickCaptions(photos, 2, makeRng(2));
      const v = tf.tidy(() => data.loss(h, photos, caps, false, 0, 0, photos.map((p, i) => (i % 2) * 12 + p)).dataSync()[0]!);
      data.dispose();
      return v;
    };
    expect(loss(true)).toBeCloseTo(loss(false), 5);
    h.dispose();
  });

  it('refuses what an ensemble cannot be, in one line', () => {
    expect(() => resolveSpec({ ...ONE, members: 0 })).toThrow(/whole number from 1 to 16/);
    expect(() => resolveSpec({ ...ONE, members: 2.5 })).toThrow(/whole number/);
    expect(() => resolveSpec({ ...ONE, members: 2, textPool: 'attention', textPoolHidden: 4 })).toThrow(/projection heads on pooled text/);
    expect(() => resolveSpec({ ...ONE, kind: 'adapter', embedDim: 12, imageInDim: 12, textInDim: 12, members: 2 })).toThrow(/projection heads on pooled text/);
    expect(() => assembleEnsemble([initHeads(ONE, 1), initHeads({ ...ONE, embedDim: 4 }, 2)], new Float32Array(12 * 4))).toThrow(/same sizes/);
  });
});
