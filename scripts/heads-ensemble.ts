/**
 * Heads trained apart with different seeds, made into one set of heads (heads-format.ts, `members`): each member's
 * unit embedding concatenated (÷ √k), then one matrix back to embedDim. The matrix holds the leading principal
 * directions of the concatenated embeddings of training photos and captions (half the weight each), so the mixed
 * embedding ranks as the ensemble does with no more values per photo.
 *
 * Measured on the 600 held-out train photos (docs/BENCHMARKS.md, "Three heads in one"): three members gain about
 * 1.8 points of R@5 over one, and the principal directions keep that gain at 256 values (the concatenation has 768).
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { memberCount, memberPrefix, type Heads, type HeadsWeights } from '../main/backend/model/heads-format';
import { resolveSpec } from '../main/backend/model/heads';
import { TfHeads } from '../main/backend/train/heads-tf';
import { tf } from '../main/backend/train/tf';

/** Members' tensors under m0., m1., …, and the mix. */
export function assembleEnsemble(members: Heads[], mix: Float32Array): Heads {
  const k = members.length;
  const first = members[0]!.spec;
  for (const m of members) {
    const s = m.spec;
    if (memberCount(s) !== 1 || s.kind !== 'projection' || s.embedDim !== first.embedDim || s.imageInDim !== first.imageInDim || s.textInDim !== first.textInDim || s.textPool !== 'none') {
      throw new Error('Every member must be a single projection head of the same sizes on pooled text.');
    }
  }
  const E = first.embedDim;
  if (mix.length !== k * E * E) throw new Error(`The mix needs ${k * E}×${E} values, not ${mix.length}.`);
  const weights: HeadsWeights = new Map();
  members.forEach((m, i) => {
    for (const [name, t] of m.weights) weights.set(`${memberPrefix({ members: k }, i)}${name}`, { shape: [...t.shape], data: new Float32Array(t.data) });
  });
  weights.set('mix.weight', { shape: [k * E, E], data: mix });
  const logitScale = members.reduce((a, m) => a + m.spec.logitScale, 0) / k;
  return { spec: resolveSpec({ ...first, members: k, logitScale }), weights };
}

/** Rows [n, k·E]: each member's unit embedding of the inputs, concatenated and divided by √k. */
function joined(members: TfHeads[], side: 'image' | 'text', x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const units = members.map((h) => (side === 'image' ? h.embedImages(x) : h.embedTexts(x)));
    return tf.mul(tf.concat(units, -1), 1 / Math.sqrt(members.length)) as tf.Tensor2D;
  });
}

/**
 * The mix [k·E, E]: the top E eigenvectors of ½·(photos' second moment) + ½·(captions' second moment) of the
 * joined member embeddings (uncentred, since search compares by inner product).
 */
export async function principalMix(members: Heads[], imageFeatures: Float32Array[], textFeatures: Float32Array[]): Promise<Float32Array> {
  const heads = members.map((m) => new TfHeads(m));
  try {
    const E = members[0]!.spec.embedDim;
    const K = members.length * E;
    const moment = (side: 'image' | 'text', rows: Float32Array[]): tf.Tensor2D =>
      tf.tidy(() => {
        let acc = tf.zeros([K, K]) as tf.Tensor2D;
        const dim = rows[0]!.length;
        for (let s = 0; s < rows.length; s += 1024) {
          const chunk = rows.slice(s, s + 1024);
          const flat = new Float32Array(chunk.length * dim);
          chunk.forEach((r, i) => flat.set(r, i * dim));
          const j = joined(heads, side, tf.tensor2d(flat, [chunk.length, dim]));
          acc = tf.add(acc, tf.matMul(j, j, true, false)) as tf.Tensor2D;
        }
        return tf.div(acc, rows.length) as tf.Tensor2D;
      });
    const mi = moment('image', imageFeatures);
    const mt = moment('text', textFeatures);
    const m = tf.tidy(() => tf.add(tf.mul(mi, 0.5), tf.mul(mt, 0.5)));
    const values = (await m.data()) as Float32Array;
    tf.dispose([mi, mt, m]);
    const M = new Matrix(K, K);
    for (let r = 0; r < K; r++) for (let c = 0; c < K; c++) M.set(r, c, (values[r * K + c]! + values[c * K + r]!) / 2);
    const evd = new EigenvalueDecomposition(M, { assumeSymmetric: true });
    const order = evd.realEigenvalues.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, E).map(([, i]) => i);
    const V = evd.eigenvectorMatrix;
    const mix = new Float32Array(K * E);
    for (let r = 0; r < K; r++) order.forEach((col, c) => (mix[r * E + c] = V.get(r, col)));
    return mix;
  } finally {
    for (const h of heads) h.dispose();
  }
}
