/**
 * The optimizer of the heads: Adam with decoupled weight decay (AdamW), on TensorFlow.js variables.
 */
import { tf } from './tf';

/** A small AdamW: Adam moments, decoupled weight decay (w ← w − lr·wd·w) on the chosen variables. */
export class AdamW {
  private m = new Map<string, tf.Variable>();
  private v = new Map<string, tf.Variable>();
  private t = 0;
  constructor(
    private readonly vars: tf.Variable[],
    private readonly decayed: Set<string>,
    public lr: number,
    private readonly weightDecay: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly eps = 1e-8,
  ) {
    for (const x of vars) {
      this.m.set(x.name, zeroVariable(x));
      this.v.set(x.name, zeroVariable(x));
    }
  }

  step(grads: tf.NamedTensorMap): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    tf.tidy(() => {
      for (const x of this.vars) {
        const g = grads[x.name];
        if (!g) continue;
        const m = this.m.get(x.name)!;
        const v = this.v.get(x.name)!;
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), this.eps));
        let w: tf.Tensor = x;
        if (this.decayed.has(x.name) && this.weightDecay > 0) w = tf.mul(w, 1 - this.lr * this.weightDecay);
        x.assign(tf.sub(w, tf.mul(update, this.lr)));
      }
    });
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/** A variable of zeros; the initial tensor is disposed (the variable keeps its own reference to the data). */
function zeroVariable(like: tf.Tensor): tf.Variable {
  const init = tf.zerosLike(like);
  const v = tf.variable(init, false);
  init.dispose();
  return v;
}
