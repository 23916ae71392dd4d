import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeadsSpec } from '../../main/backend/model/heads-format';
import { HeadsRunner, initHeads } from '../../main/backend/model/heads';
import { TfHeads } from '../../main/backend/train/heads-tf';
import { initTf, tf } from '../../main/backend/train/tf';
import { makeRng } from '../../main/backend/train/split';

process.env.PHOTO_SEARCH_QUIET = '1';

function randn(n: number, rng: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng() - 0.5) * 4;
  return out;
}

const SPECS: [string, HeadsSpec][] = [
  ['projection, pooled text', { kind: 'projection', embedDim: 16, dropout: 0.1, imageInDim: 24, textInDim: 12, textPool: 'none', logitScale: Math.log(1 / 0.07) }],
  ['projection, attention pool + token MLP', { kind: 'projection', embedDim: 8, dropout: 0.1, imageInDim: 10, textInDim: 6, textPool: 'attention', textPoolHidden: 5, textTokenMlp: { hidden: 7 }, logitScale: 2 }],
  ['projection, mean pool', { kind: 'projection', embedDim: 8, dropout: 0, imageInDim: 10, textInDim: 6, textPool: 'mean', logitScale: 2 }],
  ['ensemble of three projection heads, mixed', { kind: 'projection', embedDim: 8, dropout: 0.1, imageInDim: 10, textInDim: 6, textPool: 'none', members: 3, logitScale: 2 }],
  ['adapter, pooled', { kind: 'adapter', embedDim: 12, dropout: 0, imageInDim: 12, textInDim: 12, textPool: 'none', adapterHidden: 6, logitScale: 2 }],
];

describe('tfjs heads forward equals the ONNX runtime forward (heads.ts)', () => {
  beforeAll(async () => {
    await initTf();
  });
  afterAll(() => {});

  for (const [label, spec] of SPECS) {
    it(label, async () => {
      const heads = initHeads(spec, 7);
      // Perturb the zero-initialised parts (adapter fc2, biases) so every weight matters.
      const r = makeRng(3);
      for (const t of heads.weights.values()) for (let i = 0; i < t.data.length; i++) t.data[i]! += (r() - 0.5) * 0.3;
      const rng = makeRng(11);
      const n = 5;
      const img = Array.from({ length: n }, () => randn(spec.imageInDim, rng));
      const seq = spec.textPool !== 'none';
      const lengths = [3, 1, 4, 2, 4];
      const txt = lengths.map((L) => ({ data: randn((seq ? L : 1) * spec.textInDim, rng), length: seq ? L : 1 }));

      const runner = new HeadsRunner(heads);
      const onnxImg = await runner.embedImage(img);
      const onnxTxt = await runner.embedText(txt);
      await runner.dispose();

      const th = new TfHeads(heads);
      const before = tf.memory().numTensors;
      const Lmax = Math.max(...lengths);
      const ti = tf.tensor2d(Array.from(img.flatMap((a) => [...a])), [n, spec.imageInDim]);
      let tt: tf.Tensor;
      let mask: tf.Tensor2D | undefined;
      if (seq) {
        const flat = new Float32Array(n * Lmax * spec.textInDim);
        const m = new Float32Array(n * Lmax);
        txt.forEach((t, i) => (flat.set(t.data, i * Lmax * spec.textInDim), m.fill(1, i * Lmax, i * Lmax + t.length)));
        tt = tf.tensor3d(flat, [n, Lmax, spec.textInDim]);
        mask = tf.tensor2d(m, [n, Lmax]);
      } else tt = tf.tensor2d(Array.from(txt.flatMap((a) => [...a.data])), [n, spec.textInDim]);
      const ei = th.embedImages(ti);
      const et = th.embedTexts(tt, mask);
      const tfImg = ei.arraySync();
      const tfTxt = et.arraySync();
      tf.dispose([ti, tt, ei, et, ...(mask ? [mask] : [])]);
      expect(tf.memory().numTensors).toBe(before);
      for (let i = 0; i < n; i++) {
        for (let d = 0; d < spec.embedDim; d++) {
          expect(Math.abs(tfImg[i]![d]! - onnxImg[i]![d]!)).toBeLessThan(1e-4);
          expect(Math.abs(tfTxt[i]![d]! - onnxTxt[i]![d]!)).toBeLessThan(1e-4);
        }
      }
      // Export round-trips names, shapes and values.
      const back = th.toHeads();
      expect([...back.weights.keys()]).toEqual([...heads.weights.keys()]);
      for (const [k, t] of heads.weights) expect(Array.from(back.weights.get(k)!.data)).toEqual(Array.from(t.data));
      th.dispose();
    });
  }
});
