/**
 * What the graph converter and its op translators share: a converted tensor (its ONNX value, type and known shape),
 * shape arithmetic, and the converter's services to the op translators (OpContext).
 */
import type { Dim, ElemType, GraphBuilder } from '../../main/backend/onnx/builder';
import { Attrs, type DecodedWeight, type TfDtype, type TfNode } from './tfjs-graph-files';

/** ONNX element type of a TensorFlow dtype: int32 is widened to int64. */
export function onnxType(t: TfDtype): ElemType {
  return t === 'float32' ? 'float32' : t === 'bool' ? 'bool' : 'int64';
}

export type Shape = (number | null)[] | null;

/** A converted TensorFlow tensor: the ONNX value holding it, its ONNX type and what is known of its shape. */
export interface Value {
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

export const INT64_MAX = 9223372036854775807n;
export const INT64_MIN = -9223372036854775808n;

export function parseRef(ref: string): { node: string; index: number } {
  const m = /^(.*):(\d+)$/.exec(ref);
  return m ? { node: m[1], index: Number(m[2]) } : { node: ref, index: 0 };
}

/** numpy broadcasting of two known shapes. */
export function broadcast(a: Shape, b: Shape): Shape {
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
export function convOut(size: number | null, k: number, s: number, d: number, padding: string): number | null {
  if (size === null) return null;
  if (padding === 'SAME') return Math.ceil(size / s);
  return Math.floor((size - ((k - 1) * d + 1)) / s) + 1;
}

/** The converter as the op translators (tfjs-ops-*.ts) see it. */
export interface OpContext {
  readonly g: GraphBuilder;
  /** The converted value of a TensorFlow tensor reference ("name" or "name:k"). */
  value(ref: string): Value;
  /** The weight data of a Const node (for attributes such as axes and permutations). */
  constData(ref: string, user: TfNode): DecodedWeight;
  constInts(ref: string, user: TfNode): number[];
  fail(node: TfNode, problem: string): Error;
  op(opType: string, inputs: string[], attrs?: Parameters<GraphBuilder['op']>[2]): string;
  toNchw(x: Value): string;
  toNhwc(x: string): string;
  floatScalar(v: number): string;
  int64s(values: (number | bigint)[]): string;
  binary(onnxOp: string, x: Value, y: Value, outType?: ElemType): Value;
  /** The op of the node a tensor reference comes from (undefined when the node is not in the graph). */
  nodeOp(ref: string): string | undefined;
}

/** What an op translator reads of a node: its data inputs, its attributes, an input converted (`v`), and results shaped like an input. */
export function nodeArgs(c: OpContext, node: TfNode) {
  const ins = (node.input ?? []).filter((r) => !r.startsWith('^'));
  const v = (i: number) => c.value(ins[i]);
  const same = (name: string, x: Value): Value => ({ name, type: x.type, shape: x.shape });
  const unary = (onnxOp: string): Value[] => {
    const x = v(0);
    return [same(c.op(onnxOp, [x.name]), x)];
  };
  return { ins, a: new Attrs(node), v, same, unary };
}
