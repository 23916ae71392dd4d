import { describe, expect, it } from 'vitest';
import { HeadsRunner, buildHeadsGraphs, initHeads, validateHeads } from '../../main/backend/model/heads';
import type { Heads, HeadsSpec } from '../../main/backend/model/heads-format';
import { seededRandom } from '../../main/backend/model/heads';

// ---- a plain-JS reference of the forward pass in heads-format.ts (kept out of src on purpose) ----------

function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is only 1e-7 accurate: good enough against a 1e-4 tolerance.
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}
const gelu = (v: number[]) => v.map((x) => 0.5 * x * (1 + erf(x / Math.SQRT2)));
function get(h: Heads, name: string): Float32Array {
  const t = h.weights.get(name);
  if (!t) throw new Error(name);
  return t.data;
}
function linear(x: number[], W: Float32Array, b: Float32Array, out: number): number[] {
  const y = Array.from(b);
  for (let i = 0; i < x.length; i++) for (let j = 0; j < out; j++) y[j] += x[i] * W[i * out + j];
  return y;
}
const add = (a: number[], b: number[]) => a.map((v, i) => v + b[i]);
function layerNorm(x: number[], g: Float32Array, b: Float32Array): number[] {
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * g[i] + b[i]);
}
function l2(x: number[]): number[] {
  const n = Math.sqrt(x.reduce((s, v) => s + v * v, 0));
  return x.map((v) => v / Math.max(n, 1e-6));
}
function head(h: Heads, side: 'image' | 'text', x: number[]): number[] {
  const s = h.spec;
  if (s.kind === 'projection') {
    const p = linear(x, get(h, `${side}.fc1.weight`), get(h, `${side}.fc1.bias`), s.embedDim);
    const hh = linear(gelu(p), get(h, `${side}.fc2.weight`), get(h, `${side}.fc2.bias`), s.embedDim);
    return l2(layerNorm(add(hh, p), get(h, `${side}.ln.gamma`), get(h, `${side}.ln.beta`)));
  }
  const hid = s.adapterHidden as number;
  const a = linear(x, get(h, `${side}.fc1.weight`), get(h, `${side}.fc1.bias`), hid);
  return l2(add(x, linear(gelu(a), get(h, `${side}.fc2.weight`), get(h, `${side}.fc2.bias`), x.length)));
}
function textRef(h: Heads, tokens: number[][]): number[] {
  const s = h.spec;
  let xs = tokens;
  if (s.textTokenMlp) {
    const hid = s.textTokenMlp.hidden;
    xs = xs.map((x) => add(x, linear(gelu(linear(x, get(h, 'text.tok.fc1.weight'), get(h, 'text.tok.fc1.bias'), hid)), get(h, 'text.tok.fc2.weight'), get(h, 'text.tok.fc2.bias'), x.length)));
  }
  let pooled: number[];
  if (s.textPool === 'mean') {
    pooled = xs[0].map((_, d) => xs.reduce((acc, x) => acc + x[d], 0) / xs.length);
  } else {
    const hid = s.textPoolHidden as number;
    const q = get(h, 'text.pool.query');
    const scores = xs.map((x) => linear(x, get(h, 'text.pool.key.weight'), get(h, 'text.pool.key.bias'), hid).map(Math.tanh).reduce((acc, v, i) => acc + v * q[i], 0));
    const m = Math.max(...scores);
    const e = scores.map((v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    pooled = xs[0].map((_, d) => xs.reduce((acc, x, l) => acc + (e[l] / z) * x[d], 0));
  }
  return head(h, 'text', pooled);
}

// ---------------------------------------------------------------------------------------------------

function randomVec(rand: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rand() * 4 - 2);
}
/** Heads with non-trivial biases / gamma / fc2 so the test exercises every term. */
function perturbed(spec: HeadsSpec, seed: number): Heads {
  const h = initHeads(spec, seed);
  const rand = seededRandom(seed + 1);
  for (const t of h.weights.values()) for (let i = 0; i < t.data.length; i++) t.data[i] += (rand() - 0.5) * 0.4;
  return h;
}
function norm(v: Float32Array): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const base: HeadsSpec = { kind: 'projection', embedDim: 16, dropout: 0.1, imageInDim: 24, textInDim: 12, textPool: 'none', logitScale: Math.log(1 / 0.07) };

describe('initHeads', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = initHeads(base, 7);
    const b = initHeads(base, 7);
    const c = initHeads(base, 8);
    expect(Array.from(a.weights.keys())).toEqual(Array.from(b.weights.keys()));
    expect(maxDiff(a.weights.get('image.fc1.weight')!.data, b.weights.get('image.fc1.weight')!.data)).toBe(0);
    expect(maxDiff(a.weights.get('image.fc1.weight')!.data, c.weights.get('image.fc1.weight')!.data)).toBeGreaterThan(0.01);
  });

  it('uses Glorot-uniform weights, zero biases, gamma 1, beta 0', () => {
    const h = initHeads(base, 1);
    const wt = h.weights.get('image.fc1.weight')!;
    expect(wt.shape).toEqual([24, 16]);
    const limit = Math.sqrt(6 / (24 + 16));
    expect(Math.max(...wt.data.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...wt.data.map(Math.abs))).toBeGreaterThan(limit * 0.8);
    expect(h.weights.get('image.fc1.bias')!.data.every((v) => v === 0)).toBe(true);
    expect(h.weights.get('text.ln.gamma')!.data.every((v) => v === 1)).toBe(true);
    expect(h.weights.get('text.ln.beta')!.data.every((v) => v === 0)).toBe(true);
  });

  it('makes an untrained adapter the identity (up to normalization)', async () => {
    const spec: HeadsSpec = { ...base, kind: 'adapter', embedDim: 12, imageInDim: 12, textInDim: 12, adapterHidden: 8 };
    const h = initHeads(spec, 3);
    expect(h.weights.get('image.fc2.weight')!.data.every((v) => v === 0)).toBe(true);
    const runner = new HeadsRunner(h);
    const x = randomVec(seededRandom(5), 12);
    const [y] = await runner.embedImage([x]);
    const n = norm(x);
    expect(maxDiff(y, x.map((v) => v / n))).toBeLessThan(1e-6);
    await runner.dispose();
  });

  it('rejects weights that do not match the spec', () => {
    const h = initHeads(base, 1);
    h.weights.set('image.fc1.weight', { shape: [3, 16], data: new Float32Array(48) });
    expect(() => validateHeads(h)).toThrow(/"image.fc1.weight" has shape \[3,16\] but the spec needs \[24,16\]/);
    h.weights.delete('text.ln.beta');
    expect(() => buildHeadsGraphs(h)).toThrow(/lack the tensor "text.ln.beta"|has shape/);
  });
});

describe('heads ONNX forward matches the JS reference', () => {
  const cases: [string, HeadsSpec][] = [
    ['projection, pooled text', base],
    ['adapter, pooled text', { ...base, kind: 'adapter', embedDim: 12, imageInDim: 12, textInDim: 12, adapterHidden: 10 }],
    ['projection, mean-pooled sequence', { ...base, textPool: 'mean' }],
    ['projection, attention-pooled sequence + token MLP', { ...base, textPool: 'attention', textPoolHidden: 6, textTokenMlp: { hidden: 9 } }],
    ['adapter, attention-pooled sequence', { ...base, kind: 'adapter', embedDim: 12, imageInDim: 12, textInDim: 12, textPool: 'attention' }],
  ];
  for (const [name, spec] of cases) {
    it(name, async () => {
      const h = perturbed(spec, 11);
      const runner = new HeadsRunner(h);
      const rand = seededRandom(99);
      const images = [0, 1, 2].map(() => randomVec(rand, spec.imageInDim));
      const got = await runner.embedImage(images);
      images.forEach((x, i) => {
        expect(norm(got[i])).toBeCloseTo(1, 5);
        expect(got[i].length).toBe(spec.embedDim);
        expect(maxDiff(got[i], head(h, 'image', Array.from(x)))).toBeLessThan(1e-4);
      });

      if (spec.textPool === 'none') {
        const texts = [0, 1].map(() => randomVec(rand, spec.textInDim));
        const t = await runner.embedText(texts.map((data) => ({ data, length: 1 })));
        texts.forEach((x, i) => {
          expect(norm(t[i])).toBeCloseTo(1, 5);
          expect(maxDiff(t[i], head(h, 'text', Array.from(x)))).toBeLessThan(1e-4);
        });
      } else {
        // Different lengths in one batch: padding must not change any result.
        const lengths = [3, 1, 5];
        const seqs = lengths.map((L) => Array.from({ length: L }, () => Array.from(randomVec(rand, spec.textInDim))));
        const t = await runner.embedText(seqs.map((s) => ({ data: Float32Array.from(s.flat()), length: s.length })));
        seqs.forEach((s, i) => {
          expect(norm(t[i])).toBeCloseTo(1, 5);
          expect(maxDiff(t[i], textRef(h, s))).toBeLessThan(1e-4);
        });
        const alone = await runner.embedText([{ data: Float32Array.from(seqs[0].flat()), length: 3 }]);
        expect(maxDiff(alone[0], t[0])).toBeLessThan(1e-5);
      }
      await runner.dispose();
    });
  }
});
