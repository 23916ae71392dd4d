/**
 * Logistic regression for the text gate (scripts/train-text-gate.ts): class-weighted, L2-regularized, full-batch
 * Adam from zero weights, so the same data always gives the same weights. A few lines of plain arithmetic: 2,220
 * features and a few thousand photos take seconds, no library needed.
 */

export interface GateData {
  /** Row-major, n × dim. */
  x: Float32Array;
  dim: number;
  /** 1 = the reader reads text in it. */
  y: Uint8Array;
}

export interface FitOptions {
  /** L2 penalty on the weights (not the bias), per photo of total weight. */
  l2: number;
  steps: number;
  lr: number;
  /** Weight of a photo with text relative to one without; default: balanced (negatives / positives). */
  positiveWeight?: number;
  /** Each photo's weight besides that (default 1). */
  sampleWeights?: Float32Array;
}

export interface Fitted {
  weights: Float32Array;
  bias: number;
}

export function rows(d: GateData): number {
  return d.y.length;
}

/** The logits of every photo. */
export function logits(d: GateData, m: Fitted): Float32Array {
  const n = rows(d);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = m.bias;
    const o = i * d.dim;
    for (let j = 0; j < d.dim; j++) s += m.weights[j]! * d.x[o + j]!;
    out[i] = s;
  }
  return out;
}

export function fitLogistic(d: GateData, o: FitOptions): Fitted {
  const n = rows(d);
  const pos = d.y.reduce((s, v) => s + v, 0);
  const wPos = o.positiveWeight ?? (n - pos) / Math.max(1, pos);
  const sampleW = Float32Array.from(d.y, (v, i) => (v ? wPos : 1) * (o.sampleWeights?.[i] ?? 1));
  const total = sampleW.reduce((s, v) => s + v, 0);
  const w = new Float32Array(d.dim);
  let b = 0;
  const mW = new Float32Array(d.dim);
  const vW = new Float32Array(d.dim);
  let mB = 0;
  let vB = 0;
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const grad = new Float32Array(d.dim);
  for (let step = 1; step <= o.steps; step++) {
    grad.fill(0);
    let gB = 0;
    const z = logits(d, { weights: w, bias: b });
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-z[i]!));
      const g = (sampleW[i]! * (p - d.y[i]!)) / total;
      if (g === 0) continue;
      gB += g;
      const off = i * d.dim;
      for (let j = 0; j < d.dim; j++) grad[j] += g * d.x[off + j]!;
    }
    const lr = o.lr * 0.5 * (1 + Math.cos((Math.PI * (step - 1)) / o.steps)); // cosine decay
    for (let j = 0; j < d.dim; j++) {
      const g = grad[j]! + o.l2 * w[j]!;
      mW[j] = b1 * mW[j]! + (1 - b1) * g;
      vW[j] = b2 * vW[j]! + (1 - b2) * g * g;
      w[j] -= (lr * (mW[j]! / (1 - b1 ** step))) / (Math.sqrt(vW[j]! / (1 - b2 ** step)) + eps);
    }
    mB = b1 * mB + (1 - b1) * gB;
    vB = b2 * vB + (1 - b2) * gB * gB;
    b -= (lr * (mB / (1 - b1 ** step))) / (Math.sqrt(vB / (1 - b2 ** step)) + eps);
  }
  return { weights: w, bias: b };
}

/** The rows of `d` at `idx`. */
export function subset(d: GateData, idx: readonly number[]): GateData {
  const x = new Float32Array(idx.length * d.dim);
  idx.forEach((r, k) => x.set(d.x.subarray(r * d.dim, (r + 1) * d.dim), k * d.dim));
  return { x, dim: d.dim, y: Uint8Array.from(idx, (r) => d.y[r]!) };
}

/**
 * The highest threshold that keeps at least `recall` of the photos with text (scores ≥ threshold pass), and the
 * share of all photos it passes.
 */
export function thresholdFor(scores: Float32Array, y: Uint8Array, recall: number): { threshold: number; kept: number; positives: number; passed: number } {
  const pos = Array.from(scores).filter((_, i) => y[i]).sort((a, b) => b - a);
  const need = Math.max(1, Math.ceil(recall * pos.length));
  const threshold = pos[need - 1] ?? Infinity;
  return { threshold, ...atThreshold(scores, y, threshold) };
}

export function atThreshold(scores: Float32Array, y: Uint8Array, threshold: number): { kept: number; positives: number; passed: number } {
  let kept = 0;
  let positives = 0;
  let passed = 0;
  scores.forEach((s, i) => {
    if (y[i]) positives++;
    if (s >= threshold) {
      passed++;
      if (y[i]) kept++;
    }
  });
  return { kept, positives, passed: passed / Math.max(1, scores.length) };
}
