import { beforeAll, describe, expect, it } from 'vitest';
import { clipLoss, tutorialLoss } from '../../main/backend/train/loss';
import { initTf, tf } from '../../main/backend/train/tf';

process.env.PHOTO_SEARCH_QUIET = '1';

const val = (t: tf.Scalar) => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

/** Plain-JS reference of the multi-positive loss, written independently of the tfjs code. */
function refClip(img: number[][], txt: number[][], ip: number[], tp: number[], scale: number): number {
  const norm = (v: number[]) => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const I = img.map(norm);
  const T = txt.map(norm);
  const logits = I.map((a) => T.map((b) => scale * a.reduce((s, x, k) => s + x * b[k]!, 0)));
  const ce = (rows: number[][], pos: boolean[][]) =>
    rows.reduce((acc, row, r) => {
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
      const np = pos[r]!.filter(Boolean).length;
      return acc + row.reduce((s, x, c) => s + (pos[r]![c] ? -(x - lse) / np : 0), 0);
    }, 0) / rows.length;
  const pos = ip.map((p) => tp.map((q) => p === q));
  const logitsT = T.map((_, j) => I.map((__, i) => logits[i]![j]!));
  const posT = tp.map((q) => ip.map((p) => p === q));
  return (ce(logits, pos) + ce(logitsT, posT)) / 2;
}

describe('contrastive losses', () => {
  beforeAll(async () => {
    await initTf();
  });

  it('default loss: hand-computed value on orthogonal pairs', () => {
    // cos = identity, scale 1: each row's CE = log(e + 1) - 1 = log(1 + e^-1).
    const l = val(clipLoss(tf.tensor2d([[1, 0], [0, 1]]), tf.tensor2d([[2, 0], [0, 3]]), tf.tensor1d([0, 1], 'int32'), tf.tensor1d([0, 1], 'int32'), tf.scalar(0)));
    expect(l).toBeCloseTo(Math.log(1 + Math.exp(-1)), 5);
    expect(l).toBeCloseTo(0.3132617, 5);
  });

  it('default loss: scale is exp(logitScale), clamped at 100', () => {
    const args = () => [tf.tensor2d([[1, 0], [0, 1]]), tf.tensor2d([[1, 0], [0.6, 0.8]]), tf.tensor1d([0, 1], 'int32'), tf.tensor1d([0, 1], 'int32')] as const;
    const [a, b, c, d] = args();
    const l2 = val(clipLoss(a, b, c, d, tf.scalar(Math.log(2))));
    expect(l2).toBeCloseTo(refClip([[1, 0], [0, 1]], [[1, 0], [0.6, 0.8]], [0, 1], [0, 1], 2), 5);
    const [e, f, g, h] = args();
    const huge = val(clipLoss(e, f, g, h, tf.scalar(50)));
    expect(huge).toBeCloseTo(refClip([[1, 0], [0, 1]], [[1, 0], [0.6, 0.8]], [0, 1], [0, 1], 100), 4);
  });

  it('default loss: all captions of one photo are shared positives', () => {
    // Photo 0 has two captions in the batch. Image→text row 0 targets [1/2, 1/2, 0].
    const img = [[1, 0, 0], [0, 1, 0]];
    const txt = [[1, 0.1, 0], [0.9, 0, 0.3], [0, 1, 0.2]];
    const tp = [0, 0, 1];
    const got = val(clipLoss(tf.tensor2d(img), tf.tensor2d(txt), tf.tensor1d([0, 1], 'int32'), tf.tensor1d(tp, 'int32'), tf.scalar(Math.log(10))));
    const want = refClip(img, txt, [0, 1], tp, 10);
    expect(got).toBeCloseTo(want, 5);
    // Hand-computed: one photo, two captions both at cos 1: image→text row targets [1/2, 1/2] over equal
    // logits → CE = log 2; each text→image row has one column → CE 0. Loss = log(2) / 2.
    const one = val(clipLoss(tf.tensor2d([[1, 0]]), tf.tensor2d([[2, 0], [3, 0]]), tf.tensor1d([0], 'int32'), tf.tensor1d([0, 0], 'int32'), tf.scalar(3)));
    expect(one).toBeCloseTo(Math.log(2) / 2, 5);
    // The same photo twice with identical captions: every logit equal, targets uniform → CE = log 2.
    const same = val(clipLoss(tf.tensor2d([[1, 0], [1, 0]]), tf.tensor2d([[1, 0], [1, 0]]), tf.tensor1d([0, 0], 'int32'), tf.tensor1d([0, 0], 'int32'), tf.scalar(1)));
    expect(same).toBeCloseTo(Math.log(2), 5);
  });

  it('tutorial loss: hand-computed value', () => {
    // img = I, txt = I, T = 1: logits = I; sims = I → targets = softmax(I) rows = [e, 1]/(e+1).
    // CE row = -(p log p_e + q log q) with logits I as well = the entropy of [e,1]/(e+1).
    const p = Math.E / (Math.E + 1);
    const q = 1 / (Math.E + 1);
    const h = -(p * Math.log(p) + q * Math.log(q));
    expect(val(tutorialLoss(tf.tensor2d([[1, 0], [0, 1]]), tf.tensor2d([[1, 0], [0, 1]])))).toBeCloseTo(h, 5);
    // Temperature 2: logits = I/2, targets = softmax(2I): CE = -(a log s1 + b log s0), s = softmax(I/2).
    const a = Math.exp(2) / (Math.exp(2) + 1);
    const s1 = Math.exp(0.5) / (Math.exp(0.5) + 1);
    const ce2 = -(a * Math.log(s1) + (1 - a) * Math.log(1 - s1));
    expect(val(tutorialLoss(tf.tensor2d([[1, 0], [0, 1]]), tf.tensor2d([[1, 0], [0, 1]]), 2))).toBeCloseTo(ce2, 5);
  });
});
