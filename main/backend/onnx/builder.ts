/**
 * A small typed builder for ONNX graphs (protobuf via onnx-proto).
 *
 * Used for the generated test towers, the TensorFlow.js graph → ONNX converter of the built-in towers, and
 * the heads graph that runs the trained projection heads in onnxruntime at inference.
 */
import { onnx } from 'onnx-proto';

export const OPSET = 17;

export type ElemType = 'float32' | 'int64' | 'int32' | 'int8' | 'bool';

export const ELEM: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  int8: onnx.TensorProto.DataType.INT8,
  bool: onnx.TensorProto.DataType.BOOL,
};

/**
 * Typed arrays a constant can hold (Int8Array: quantized tables; Uint8Array:
 * booleans, one byte each).
 */
export type TensorData = Float32Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

/** A dimension: a fixed size or a symbolic name such as "batch". */
export type Dim = number | string;

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] } | onnx.ITensorProto;

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return { name, type: T.FLOAT, f: value };
    return { name, type: T.INT, i: value };
  }
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: T.FLOATS, floats: value.floats };
  return { name, type: T.TENSOR, t: value };
}

/** `dims` null: the rank is not known (no shape in the graph's signature). */
function valueInfo(name: string, type: ElemType, dims: Dim[] | null): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } : {}),
      },
    },
  };
}

export function tensorProto(name: string, dims: number[], data: TensorData): onnx.ITensorProto {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new Error(`Tensor ${name}: shape [${dims}] needs ${size} values, got ${data.length}`);
  const type: ElemType = data instanceof Float32Array ? 'float32' : data instanceof BigInt64Array ? 'int64' : data instanceof Int8Array ? 'int8' : data instanceof Uint8Array ? 'bool' : 'int32';
  // rawData is little-endian bytes; copy so the proto does not alias a larger buffer.
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return { name, dims, dataType: ELEM[type], rawData: raw };
}

export class GraphBuilder {
  private nodes: onnx.INodeProto[] = [];
  private initializers: onnx.ITensorProto[] = [];
  private inputs: onnx.IValueInfoProto[] = [];
  private outputs: onnx.IValueInfoProto[] = [];
  private counter = 0;

  constructor(private readonly name = 'graph') {}

  /** A fresh, unique tensor name. */
  fresh(prefix = 't'): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }

  input(name: string, type: ElemType, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  output(name: string, type: ElemType, dims: Dim[] | null): string {
    this.outputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** A constant tensor stored in the graph; returns its name. */
  constant(data: TensorData, dims: number[], name = this.fresh('const')): string {
    this.initializers.push(tensorProto(name, dims, data));
    return name;
  }

  /** Shorthand for an int64 vector constant (shapes, axes). */
  ints(values: number[], name?: string): string {
    return this.constant(BigInt64Array.from(values.map((v) => BigInt(v))), [values.length], name);
  }

  /** Shorthand for a float scalar constant. */
  scalar(value: number, name?: string): string {
    return this.constant(Float32Array.of(value), [], name);
  }

  /** Add a node; returns its first output name (or the names given). */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs?: string[]): string {
    const outs = outputs ?? [this.fresh(opType.toLowerCase())];
    this.nodes.push({
      opType,
      name: this.fresh(`n_${opType}`),
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs[0];
  }

  // ---- common composite layers -------------------------------------------------------------------

  /** x[.., in] @ W[in, out] + b[out]. */
  linear(x: string, weight: Float32Array, bias: Float32Array | null, inDim: number, outDim: number, out?: string): string {
    const w = this.constant(weight, [inDim, outDim]);
    const y = this.op('MatMul', [x, w], {}, bias || !out ? undefined : [out]);
    if (!bias) return y;
    const b = this.constant(bias, [outDim]);
    return this.op('Add', [y, b], {}, out ? [out] : undefined);
  }

  /** Exact GELU: 0.5 x (1 + erf(x / sqrt 2)) — the same formula the trainer uses. */
  gelu(x: string): string {
    const scaled = this.op('Div', [x, this.scalar(Math.SQRT2)]);
    const erf = this.op('Erf', [scaled]);
    const onePlus = this.op('Add', [erf, this.scalar(1)]);
    const half = this.op('Mul', [x, this.scalar(0.5)]);
    return this.op('Mul', [half, onePlus]);
  }

  layerNorm(x: string, gamma: Float32Array, beta: Float32Array, dim: number, epsilon = 1e-5): string {
    return this.op('LayerNormalization', [x, this.constant(gamma, [dim]), this.constant(beta, [dim])], {
      axis: -1,
      epsilon: { float: epsilon },
    });
  }

  /** Row-wise L2 normalization over the last axis. */
  l2Normalize(x: string, out?: string): string {
    const sq = this.op('Mul', [x, x]);
    const sum = this.op('ReduceSum', [sq, this.ints([-1])], { keepdims: 1 });
    const norm = this.op('Sqrt', [this.op('Max', [sum, this.scalar(1e-12)])]);
    return this.op('Div', [x, norm], {}, out ? [out] : undefined);
  }

  build(opset = OPSET): onnx.ModelProto {
    return onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'photo-search',
      opsetImport: [{ domain: '', version: opset }],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }

  toBytes(opset = OPSET): Uint8Array {
    return onnx.ModelProto.encode(this.build(opset)).finish();
  }
}
