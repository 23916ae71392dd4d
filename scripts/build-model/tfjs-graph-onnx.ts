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
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type Dim, type ElemType, GraphBuilder, type TensorData } from '../../main/backend/onnx/builder';
import { Attrs, decodeGraphWeights, loadGraphModelFiles, type DecodedWeight, type GraphModelFiles, type TfNode } from './tfjs-graph-files';
import { broadcast, isChannelsFirst, onnxType, parseRef, type BoundInput, type ConvertedGraph, type ConvertGraphOptions, type OnnxTensorInfo, type OpContext, type Value } from './tfjs-graph-values';
import { convertElementwise } from './tfjs-ops-elementwise';
import { convertNnOp } from './tfjs-ops-nn';
import { convertIndexOp, convertShapeOp } from './tfjs-ops-shape';

export * from './tfjs-graph-files';
export { isChannelsFirst, type BoundInput, type ConvertedGraph, type ConvertGraphOptions, type OnnxTensorInfo } from './tfjs-graph-values';

/**
 * Translate a graph model into an existing GraphBuilder. Placeholders either become graph inputs or are bound
 * to values already in the builder (`bound`). Returns the converted outputs.
 */
export class GraphConverter implements OpContext {
  private readonly byName = new Map<string, TfNode>();
  private readonly weights: Map<string, DecodedWeight>;
  private readonly done = new Map<string, Value[]>();
  private readonly constNames = new Map<string, Value>();
  readonly ops: Record<string, number> = {};
  readonly inputs: OnnxTensorInfo[] = [];

  constructor(
    readonly g: GraphBuilder,
    private readonly files: GraphModelFiles,
    private readonly opts: {
      inputShapes?: Record<string, Dim[]>;
      inputNames?: Record<string, string>;
      bound?: Record<string, BoundInput>;
      /** Integer constants replaced by these values (e.g. a resize's output size fixed for another input size). */
      intConstants?: Record<string, number[]>;
    } = {},
  ) {
    for (const n of files.nodes) this.byName.set(n.name, n);
    this.weights = decodeGraphWeights(files.weightSpecs, files.weightData, files.source);
    for (const [name, values] of Object.entries(opts.intConstants ?? {})) {
      const w = this.weights.get(name);
      if (!w || w.dtype === 'float32' || w.dtype === 'bool' || w.data.length !== values.length) throw new Error(`Constant ${name} of ${files.source} is not an integer constant of ${values.length} values; the model changed.`);
      this.weights.set(name, { ...w, data: Int32Array.from(values) });
    }
  }

  fail(node: TfNode, problem: string): Error {
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

  constInts(ref: string, user: TfNode): number[] {
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

  op(opType: string, inputs: string[], attrs: Parameters<GraphBuilder['op']>[2] = {}): string {
    return this.g.op(opType, inputs, attrs);
  }

  toNchw(x: Value): string {
    return this.op('Transpose', [x.name], { perm: [0, 3, 1, 2] });
  }

  toNhwc(x: string): string {
    return this.op('Transpose', [x], { perm: [0, 2, 3, 1] });
  }

  floatScalar(v: number): string {
    return this.g.scalar(v);
  }

  int64s(values: (number | bigint)[]): string {
    return this.g.constant(BigInt64Array.from(values, (x) => BigInt(x)), [values.length]);
  }

  binary(onnxOp: string, x: Value, y: Value, outType?: ElemType): Value {
    return { name: this.op(onnxOp, [x.name, y.name]), type: outType ?? x.type, shape: broadcast(x.shape, y.shape) };
  }

  nodeOp(ref: string): string | undefined {
    return this.byName.get(parseRef(ref).node)?.op;
  }

  private convertNode(node: TfNode): Value[] {
    this.ops[node.op] = (this.ops[node.op] ?? 0) + 1;
    if (node.op === 'Placeholder') return [this.placeholder(node)];
    if (node.op === 'Identity' || node.op === 'StopGradient') return [this.value((node.input ?? []).filter((r) => !r.startsWith('^'))[0])];
    const out = convertElementwise(this, node) ?? convertShapeOp(this, node) ?? convertIndexOp(this, node) ?? convertNnOp(this, node);
    if (!out) throw this.fail(node, 'this op is not supported by the converter.');
    return out;
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
