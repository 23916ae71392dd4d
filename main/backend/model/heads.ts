/**
 * Heads at inference: seeded initialisation (shared with the trainer) and the ONNX graphs that run the
 * forward pass documented in heads-format.ts, built in memory and run by onnxruntime (no temp files).
 */
import { GraphBuilder } from '../onnx/builder';
import { MAX_MEMBERS, memberCount, memberPrefix, type Heads, type HeadsSpec, type HeadsWeights } from './heads-format';
import { checkSessionIO, createSessionFromBytes, ort } from './ort';
import type { TextFeatures } from './types';
import { seededRandom } from '../../../shared/random';

/** The hidden sizes used when a spec leaves them out; initHeads writes them back into the spec. */
export function resolveSpec(spec: HeadsSpec): HeadsSpec {
  const out: HeadsSpec = { ...spec };
  if (out.kind === 'adapter') {
    out.adapterHidden ??= Math.max(16, Math.round(out.imageInDim / 2));
    if (out.imageInDim !== out.embedDim || out.textInDim !== out.embedDim) {
      throw new Error(`Adapter heads need imageInDim = textInDim = embedDim (got ${out.imageInDim}, ${out.textInDim}, ${out.embedDim}).`);
    }
  }
  if (out.textPool === 'attention') out.textPoolHidden ??= Math.max(16, Math.round(out.textInDim / 2));
  out.textTokenMlp ??= null;
  const k = memberCount(out);
  if (!Number.isInteger(k) || k < 1 || k > MAX_MEMBERS) throw new Error(`Heads members must be a whole number from 1 to ${MAX_MEMBERS} (got ${String(out.members)}).`);
  if (k > 1 && (out.kind !== 'projection' || out.textPool !== 'none')) throw new Error('An ensemble of heads (members > 1) needs projection heads on pooled text features.');
  return out;
}


/** Every tensor the heads need, with its shape, in a fixed order (the order initHeads draws random numbers). */
export function headsTensorShapes(spec: HeadsSpec): [string, number[]][] {
  const s = resolveSpec(spec);
  const k = memberCount(s);
  if (k === 1) return singleHeadShapes(s);
  const one = singleHeadShapes({ ...s, members: 1 });
  const list: [string, number[]][] = [];
  for (let m = 0; m < k; m++) for (const [name, shape] of one) list.push([`${memberPrefix(s, m)}${name}`, shape]);
  list.push(['mix.weight', [k * s.embedDim, s.embedDim]]);
  return list;
}

function singleHeadShapes(s: HeadsSpec): [string, number[]][] {
  const list: [string, number[]][] = [];
  for (const side of ['image', 'text'] as const) {
    const inDim = side === 'image' ? s.imageInDim : s.textInDim;
    if (side === 'text' && s.textPool !== 'none') {
      if (s.textTokenMlp) {
        list.push(['text.tok.fc1.weight', [s.textInDim, s.textTokenMlp.hidden]], ['text.tok.fc1.bias', [s.textTokenMlp.hidden]]);
        list.push(['text.tok.fc2.weight', [s.textTokenMlp.hidden, s.textInDim]], ['text.tok.fc2.bias', [s.textInDim]]);
      }
      if (s.textPool === 'attention') {
        const h = s.textPoolHidden as number;
        list.push(['text.pool.key.weight', [s.textInDim, h]], ['text.pool.key.bias', [h]], ['text.pool.query', [h]]);
      }
    }
    if (s.kind === 'projection') {
      list.push([`${side}.fc1.weight`, [inDim, s.embedDim]], [`${side}.fc1.bias`, [s.embedDim]]);
      list.push([`${side}.fc2.weight`, [s.embedDim, s.embedDim]], [`${side}.fc2.bias`, [s.embedDim]]);
      list.push([`${side}.ln.gamma`, [s.embedDim]], [`${side}.ln.beta`, [s.embedDim]]);
    } else {
      const h = s.adapterHidden as number;
      list.push([`${side}.fc1.weight`, [inDim, h]], [`${side}.fc1.bias`, [h]]);
      list.push([`${side}.fc2.weight`, [h, inDim]], [`${side}.fc2.bias`, [inDim]]);
    }
  }
  return list;
}

/** Re-exported: generate.ts, bench-train.ts and tests take it from here. */
export { seededRandom };

/**
 * Seeded init: Glorot-uniform weights (the query vector counts as [hidden, 1]), zero biases, gamma 1,
 * beta 0; the adapter's fc2 starts at zero so an untrained adapter is the identity.
 */
export function initHeads(spec: HeadsSpec, seed: number): Heads {
  const s = resolveSpec(spec);
  const rand = seededRandom(seed);
  const weights: HeadsWeights = new Map();
  for (const [name, shape] of headsTensorShapes(s)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const zero = name.endsWith('.bias') || name.endsWith('.beta') || (s.kind === 'adapter' && name.includes('.fc2.') && !name.startsWith('text.tok'));
    if (name === 'mix.weight') {
      // The stacked identities: an untrained mix is the members' mean.
      const [rows, cols] = shape as [number, number];
      for (let r = 0; r < rows; r++) data[r * cols + (r % cols)] = 1;
    } else if (name.endsWith('.gamma')) data.fill(1);
    else if (!zero) {
      const fanIn = shape[0];
      const fanOut = shape.length > 1 ? shape[1] : 1;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) data[i] = (rand() * 2 - 1) * limit;
    }
    weights.set(name, { shape, data });
  }
  return { spec: s, weights };
}

/** Check the weights match the spec, with one clear line naming what is wrong. */
export function validateHeads(heads: Heads, where = 'heads'): void {
  for (const [name, shape] of headsTensorShapes(heads.spec)) {
    const t = heads.weights.get(name);
    if (!t) throw new Error(`The ${where} lack the tensor "${name}". Re-train or re-install the model.`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`The ${where} tensor "${name}" has shape [${t.shape}] but the spec needs [${shape}]. Re-train or re-install the model.`);
    }
  }
}

function w(heads: Heads, name: string): Float32Array {
  const t = heads.weights.get(name);
  if (!t) throw new Error(`The heads lack the tensor "${name}". Re-train or re-install the model.`);
  return t.data;
}

/** projection or adapter head on x [.., inDim], then L2-normalize into `out`; an ensemble mixes its members first. */
function headBody(g: GraphBuilder, heads: Heads, side: 'image' | 'text', x: string, inDim: number, out: string): void {
  const k = memberCount(heads.spec);
  if (k === 1) {
    g.l2Normalize(memberBody(g, heads, '', side, x, inDim), out);
    return;
  }
  const units = Array.from({ length: k }, (_, m) => g.l2Normalize(memberBody(g, heads, memberPrefix(heads.spec, m), side, x, inDim)));
  const joined = g.op('Mul', [g.op('Concat', units, { axis: -1 }), g.scalar(1 / Math.sqrt(k))]);
  const E = heads.spec.embedDim;
  g.l2Normalize(g.linear(joined, w(heads, 'mix.weight'), null, k * E, E), out);
}

/** One projection or adapter head (tensors named with `prefix`) on x [.., inDim]: its output before normalizing. */
function memberBody(g: GraphBuilder, heads: Heads, prefix: string, side: 'image' | 'text', x: string, inDim: number): string {
  const s = heads.spec;
  const n = `${prefix}${side}`;
  if (s.kind === 'projection') {
    const p = g.linear(x, w(heads, `${n}.fc1.weight`), w(heads, `${n}.fc1.bias`), inDim, s.embedDim);
    const h = g.linear(g.gelu(p), w(heads, `${n}.fc2.weight`), w(heads, `${n}.fc2.bias`), s.embedDim, s.embedDim);
    return g.layerNorm(g.op('Add', [h, p]), w(heads, `${n}.ln.gamma`), w(heads, `${n}.ln.beta`), s.embedDim);
  }
  const hid = s.adapterHidden as number;
  const a = g.linear(x, w(heads, `${n}.fc1.weight`), w(heads, `${n}.fc1.bias`), inDim, hid);
  const b = g.linear(g.gelu(a), w(heads, `${n}.fc2.weight`), w(heads, `${n}.fc2.bias`), hid, inDim);
  return g.op('Add', [x, b]);
}

export interface HeadsGraphs {
  /** features [batch, imageInDim] → embeds [batch, embedDim] */
  image: Uint8Array;
  /** pooled: features [batch, textInDim]; sequence: features [batch, L, textInDim] + mask [batch, L] → embeds */
  text: Uint8Array;
  textInput: 'pooled' | 'sequence';
}

/**
 * ONNX graphs of the heads. `textInput` says whether the text tower gives one vector per text (pooled / cls)
 * or a sequence to pool; by default a sequence when the spec has a text pooling.
 */
export function buildHeadsGraphs(heads: Heads, textInput: 'pooled' | 'sequence' = heads.spec.textPool === 'none' ? 'pooled' : 'sequence'): HeadsGraphs {
  const spec = resolveSpec(heads.spec);
  const h: Heads = { spec, weights: heads.weights };
  validateHeads(h);

  const gi = new GraphBuilder('image_head');
  gi.input('features', 'float32', ['batch', spec.imageInDim]);
  headBody(gi, h, 'image', 'features', spec.imageInDim, 'embeds');
  gi.output('embeds', 'float32', ['batch', spec.embedDim]);

  const gt = new GraphBuilder('text_head');
  let x: string;
  if (textInput === 'pooled') {
    x = gt.input('features', 'float32', ['batch', spec.textInDim]);
  } else {
    if (spec.textPool === 'none') throw new Error('Sequence text features need a text pooling (textPool "mean" or "attention") in the heads spec.');
    let seq = gt.input('features', 'float32', ['batch', 'length', spec.textInDim]);
    const mask = gt.input('mask', 'float32', ['batch', 'length']);
    if (spec.textTokenMlp) {
      const hid = spec.textTokenMlp.hidden;
      const a = gt.linear(seq, w(h, 'text.tok.fc1.weight'), w(h, 'text.tok.fc1.bias'), spec.textInDim, hid);
      const b = gt.linear(gt.gelu(a), w(h, 'text.tok.fc2.weight'), w(h, 'text.tok.fc2.bias'), hid, spec.textInDim);
      seq = gt.op('Add', [seq, b]);
    }
    if (spec.textPool === 'mean') {
      // Masked mean; the count is clamped at 1 so an empty sequence gives zeros, not NaN.
      const m3 = gt.op('Unsqueeze', [mask, gt.ints([-1])]);
      const sum = gt.op('ReduceSum', [gt.op('Mul', [seq, m3]), gt.ints([1])], { keepdims: 0 });
      const count = gt.op('Max', [gt.op('ReduceSum', [mask, gt.ints([1])], { keepdims: 1 }), gt.scalar(1)]);
      x = gt.op('Div', [sum, count]);
    } else {
      const hid = spec.textPoolHidden as number;
      const k = gt.op('Tanh', [gt.linear(seq, w(h, 'text.pool.key.weight'), w(h, 'text.pool.key.bias'), spec.textInDim, hid)]);
      const q = gt.constant(w(h, 'text.pool.query'), [hid, 1]);
      const scores = gt.op('Squeeze', [gt.op('MatMul', [k, q]), gt.ints([-1])]);
      // Padding gets -1e9 before the softmax, i.e. zero weight.
      const penalty = gt.op('Mul', [gt.op('Sub', [mask, gt.scalar(1)]), gt.scalar(1e9)]);
      const a = gt.op('Softmax', [gt.op('Add', [scores, penalty])], { axis: -1 });
      const weighted = gt.op('Mul', [seq, gt.op('Unsqueeze', [a, gt.ints([-1])])]);
      x = gt.op('ReduceSum', [weighted, gt.ints([1])], { keepdims: 0 });
    }
  }
  headBody(gt, h, 'text', x, spec.textInDim, 'embeds');
  gt.output('embeds', 'float32', ['batch', spec.embedDim]);

  return { image: gi.toBytes(), text: gt.toBytes(), textInput };
}

/** Runs the heads graphs; sessions are created lazily per side. */
export class HeadsRunner {
  private readonly graphs: HeadsGraphs;
  private imageSession: Promise<ort.InferenceSession> | null = null;
  private textSession: Promise<ort.InferenceSession> | null = null;

  constructor(readonly heads: Heads, textInput?: 'pooled' | 'sequence') {
    this.graphs = buildHeadsGraphs(heads, textInput);
  }

  get spec(): HeadsSpec {
    return this.heads.spec;
  }

  private session(side: 'image' | 'text'): Promise<ort.InferenceSession> {
    if (side === 'image') {
      this.imageSession ??= createSessionFromBytes(this.graphs.image, 'image head').then((s) => (checkSessionIO(s, 'image head', ['features'], ['embeds']), s));
      return this.imageSession;
    }
    this.textSession ??= createSessionFromBytes(this.graphs.text, 'text head').then((s) => (checkSessionIO(s, 'text head', ['features'], ['embeds']), s));
    return this.textSession;
  }

  async embedImage(features: Float32Array[]): Promise<Float32Array[]> {
    if (features.length === 0) return [];
    const dim = this.heads.spec.imageInDim;
    const flat = new Float32Array(features.length * dim);
    features.forEach((f, i) => {
      if (f.length !== dim) throw new Error(`Image features have ${f.length} values but the heads expect ${dim}: the model's towers and heads do not match.`);
      flat.set(f, i * dim);
    });
    const session = await this.session('image');
    const out = await session.run({ features: new ort.Tensor('float32', flat, [features.length, dim]) });
    return splitRows(out.embeds, features.length);
  }

  async embedText(features: TextFeatures[]): Promise<Float32Array[]> {
    if (features.length === 0) return [];
    const dim = this.heads.spec.textInDim;
    const session = await this.session('text');
    let feeds: Record<string, ort.Tensor>;
    if (this.graphs.textInput === 'pooled') {
      const flat = new Float32Array(features.length * dim);
      features.forEach((f, i) => {
        if (f.data.length !== dim) throw new Error(`Text features have ${f.data.length} values but the heads expect ${dim}: the model's towers and heads do not match.`);
        flat.set(f.data, i * dim);
      });
      feeds = { features: new ort.Tensor('float32', flat, [features.length, dim]) };
    } else {
      // Pad to the longest text in the batch; the mask hides the padding.
      const L = Math.max(1, ...features.map((f) => f.length));
      const flat = new Float32Array(features.length * L * dim);
      const mask = new Float32Array(features.length * L);
      features.forEach((f, i) => {
        if (f.data.length !== f.length * dim) throw new Error(`Text features have ${f.data.length} values for ${f.length} tokens but the heads expect ${dim} per token: the model's towers and heads do not match.`);
        flat.set(f.data, i * L * dim);
        mask.fill(1, i * L, i * L + f.length);
      });
      feeds = {
        features: new ort.Tensor('float32', flat, [features.length, L, dim]),
        mask: new ort.Tensor('float32', mask, [features.length, L]),
      };
    }
    const out = await session.run(feeds);
    return splitRows(out.embeds, features.length);
  }

  async dispose(): Promise<void> {
    for (const p of [this.imageSession, this.textSession]) {
      if (p) await (await p.catch(() => null))?.release();
    }
    this.imageSession = this.textSession = null;
  }
}

function splitRows(t: ort.Tensor, rows: number): Float32Array[] {
  const data = t.data as Float32Array;
  const dim = data.length / rows;
  const out: Float32Array[] = [];
  for (let i = 0; i < rows; i++) out.push(data.slice(i * dim, (i + 1) * dim));
  return out;
}
