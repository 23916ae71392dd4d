/**
 * The TensorFlow.js graph-model → ONNX converter against TensorFlow.js itself (wasm backend) running the same
 * graph on the same seeded input: centernet's MobileNetV3 backbone (float16 weights, fused convolutions, NHWC)
 * and the Universal Sentence Encoder lite (sparse inputs, a transformer), the latter as the app's text tower
 * (dense input_ids/attention_mask through an adapter, its SentencePiece vocabulary as a tokenizer.json).
 *
 * Agreement criterion: max |onnx − tfjs| ≤ 1e-4 · max(1, max |tfjs|) over every value of an output, i.e. an
 * absolute 1e-4 for values of order 1 and relative to the largest value where the map is large (float32 sums
 * of a few hundred products differ in the last bits between the two runtimes).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestModel } from '../helpers/generate-model';
import { initHeads } from '../../main/backend/model/heads';
import { saveHeads } from '../../main/backend/model/heads-format';
import { writeManifest } from '../../main/backend/catalog/manifest';
import { openModel } from '../../main/backend/catalog/open-model';
import { TextTokenizer } from '../../main/backend/model/tokenizer';
import type { EmbeddingModel, ModelManifest } from '../../main/backend/model/types';
import { initTf, tf } from '../../main/backend/train/tf';
import { decodeGraphWeights, graphModelToOnnx, loadGraphModelFiles, type GraphModelFiles, type TfNode } from '../../scripts/build-model/tfjs-graph-onnx';
import {
  USE_DIM,
  USE_DIR,
  USE_GRAPH_OUTPUT,
  USE_MAX_TOKENS,
  buildUseTextTower,
  buildUseTokenizerJson,
  normalizeUseText,
  readUseVocab,
  useTextTowerSpec,
  type UseVocab,
} from '../../scripts/build-model/use-text-tower';
import { ReferenceUseTokenizer } from '../helpers/use-reference-tokenizer';
import { EDGE_SENTENCES, useTestSentences } from '../helpers/use-sentences';

const NODE_MODULES = path.join(__dirname, '..', '..', 'node_modules');
const CENTERNET = path.join(NODE_MODULES, '@vladmandic', 'human-models', 'models', 'centernet.json');
const IMAGE_INPUT = 'tower_0/images';
/** Backbone maps at stride 16 (last block before the stride-32 stage) and 32 (the 1x1 expansion after the last block). */
const STRIDE16 = 'tower_0/MobilenetV3/expanded_conv_11/add';
const STRIDE32 = 'tower_0/extern1/hard_swish/mul_1';

/** Deterministic pixels in [0, 255], NHWC (centernet takes raw pixel values). */
function seededImage(size: number, seed: number): Float32Array {
  const x = new Float32Array(size * size * 3);
  let s = seed;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = (s / 2147483648) * 255;
  }
  return x;
}

/** max |a − b| / max(1, max |b|): see the criterion above. */
function relDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let mag = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    mag = Math.max(mag, Math.abs(b[i]));
  }
  return { diff: diff / Math.max(1, mag), scale: mag };
}

/** A TensorFlow.js GraphModel from the same files; `freeShapes` lifts the placeholders' fixed sizes (512 px). */
async function tfModel(files: GraphModelFiles, freeShapes = false): Promise<tf.GraphModel> {
  const topology = JSON.parse(JSON.stringify(files.modelJson.modelTopology)) as { node: TfNode[] };
  if (freeShapes) {
    for (const n of topology.node) {
      const dims = n.op === 'Placeholder' ? n.attr?.shape?.shape?.dim : undefined;
      if (dims) for (const d of dims.slice(0, 3)) d.size = '-1';
    }
  }
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: topology, weightSpecs: files.weightSpecs as tf.io.WeightsManifestEntry[], weightData: files.weightData }));
}

beforeAll(async () => {
  await initTf('wasm');
});

describe('graph model weights', () => {
  it('dequantizes float16 and uint8 weights like TensorFlow.js, and rejects shards that do not match', () => {
    // 1.0, -2.5 and 65504 (the largest float16) as little-endian half floats, then uint8 0 and 255.
    const bytes = new Uint8Array([0x00, 0x3c, 0x00, 0xc1, 0xff, 0x7b, 0, 255]);
    const w = decodeGraphWeights(
      [
        { name: 'h', shape: [3], dtype: 'float32', quantization: { dtype: 'float16', original_dtype: 'float32' } },
        { name: 'q', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8', min: -1, scale: 0.5 } },
      ],
      bytes.buffer,
    );
    expect(Array.from(w.get('h')!.data)).toEqual([1, -2.5, 65504]);
    expect(Array.from(w.get('q')!.data)).toEqual([-1, 126.5]);
    expect(() => decodeGraphWeights([{ name: 'h', shape: [5], dtype: 'float32', quantization: { dtype: 'float16' } }], bytes.buffer, 'm.json')).toThrow(
      /Weight h of m\.json runs past the end of the weight shards/,
    );
  });
});

/** A small graph model written by hand: `consts` become Const nodes with their data in the weight buffer. */
function handGraph(nodes: TfNode[], consts: Record<string, { dtype: 'float32' | 'int32'; shape: number[]; data: number[] }>): GraphModelFiles {
  const weightSpecs = Object.entries(consts).map(([name, c]) => ({ name, shape: c.shape, dtype: c.dtype }));
  const parts = Object.values(consts).map((c) => (c.dtype === 'float32' ? new Float32Array(c.data) : new Int32Array(c.data)));
  const weightData = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    weightData.set(new Uint8Array(p.buffer), offset);
    offset += p.byteLength;
  }
  const constNodes: TfNode[] = Object.entries(consts).map(([name, c]) => ({ name, op: 'Const', attr: { dtype: { type: c.dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32' } } }));
  const node = [...constNodes, ...nodes];
  return { source: 'hand-written graph', nodes: node, weightSpecs, weightData: weightData.buffer, modelJson: { format: 'graph-model', modelTopology: { node, versions: { producer: 1 } }, weightsManifest: [{ paths: [], weights: weightSpecs }] } };
}

describe('op translations on a hand-written graph (masks, multi-output, layouts)', () => {
  const ints = (data: number[]) => ({ dtype: 'int32' as const, shape: [data.length], data });
  const list = (...i: number[]) => ({ list: { i: i.map(String) } });
  const str = (v: string) => ({ s: Buffer.from(v).toString('base64') });
  const ss = (name: string, input: string, b: string, e: string, st: string, masks: Partial<Record<'begin_mask' | 'end_mask' | 'ellipsis_mask' | 'new_axis_mask' | 'shrink_axis_mask', number>>): TfNode => ({
    name,
    op: 'StridedSlice',
    input: [input, b, e, st],
    attr: Object.fromEntries(Object.entries(masks).map(([k, v]) => [k, { i: String(v) }])),
  });
  const conv = (name: string, op: string, input: string, filter: string, stride: number, padding: string, extra: TfNode['attr'] = {}, more: string[] = []): TfNode => ({
    name,
    op,
    input: [input, filter, ...more],
    attr: { strides: list(1, stride, stride, 1), dilations: list(1, 1, 1, 1), padding: str(padding), data_format: str('NHWC'), ...extra },
  });
  const rand = (n: number, seed: number) => {
    let s = seed;
    return Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
  };
  const files = handGraph(
    [
      { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '6' }, { size: '8' }, { size: '5' }] } } } },
      ss('slice_masks', 'x', 'b_a', 'e_a', 's_a', { begin_mask: 1, end_mask: 1 }), // x[:, 1:3]
      ss('slice_ellipsis', 'x', 'b_b', 'e_b', 's_b', { ellipsis_mask: 1, shrink_axis_mask: 2 }), // x[..., -1]
      ss('slice_newaxis', 'x', 'b_c', 'e_c', 's_c', { shrink_axis_mask: 1, new_axis_mask: 2 }), // x[1, newaxis]
      ss('slice_reverse', 'x', 'b_r', 'e_r', 's_r', { begin_mask: 3, end_mask: 3 }), // x[:, ::-1]
      ss('slice_strides', 'x', 'b_d', 'e_d', 's_d', { begin_mask: 3, end_mask: 7 }), // x[:, ::2, 1::3, :3]
      { name: 'split', op: 'SplitV', input: ['x', 'sizes', 'axis_last'], attr: { num_split: { i: '3' } } },
      { name: 'pack', op: 'Pack', input: ['slice_ellipsis', 'slice_ellipsis'], attr: { axis: { i: '-1' } } },
      { name: 'bmm', op: 'BatchMatMulV2', input: ['x', 'x'], attr: { adj_x: { b: false }, adj_y: { b: true } } },
      { name: 'maxpool', op: 'MaxPool', input: ['x'], attr: { ksize: list(1, 3, 3, 1), strides: list(1, 2, 2, 1), padding: str('SAME'), data_format: str('NHWC') } },
      { name: 'avgpool', op: 'AvgPool', input: ['x'], attr: { ksize: list(1, 2, 3, 1), strides: list(1, 2, 2, 1), padding: str('SAME'), data_format: str('NHWC') } },
      { name: 'resize_corners', op: 'ResizeBilinear', input: ['x', 'size'], attr: { align_corners: { b: true }, half_pixel_centers: { b: false } } },
      { name: 'resize_half', op: 'ResizeBilinear', input: ['x', 'size'], attr: { align_corners: { b: false }, half_pixel_centers: { b: true } } },
      conv('conv', 'Conv2D', 'x', 'w', 2, 'SAME'),
      conv('dwconv', 'DepthwiseConv2dNative', 'x', 'dw', 1, 'VALID'),
      conv('fused', '_FusedConv2D', 'x', 'w', 1, 'SAME', { fused_ops: { list: { s: ['BiasAdd', 'Relu6'].map((o) => Buffer.from(o).toString('base64')) } }, num_args: { i: '1' } }, ['bias']),
      { name: 'mean', op: 'Mean', input: ['x', 'axes_hw'], attr: { keep_dims: { b: true } } },
      { name: 'pad', op: 'Pad', input: ['x', 'paddings'] },
      { name: 'scaled', op: 'Mul', input: ['x', 'ten'] },
      { name: 'as_int', op: 'Cast', input: ['scaled'], attr: { DstT: { type: 'DT_INT32' } } },
      { name: 'as_float', op: 'Cast', input: ['as_int'], attr: { DstT: { type: 'DT_FLOAT' } } },
      { name: 'positive', op: 'Greater', input: ['x', 'zero'] },
      { name: 'select', op: 'SelectV2', input: ['positive', 'x', 'zero'] },
      { name: 'reshaped', op: 'Reshape', input: ['x', 'shape_flat'] },
      { name: 'moved', op: 'Transpose', input: ['reshaped', 'perm'] },
      // Elementwise, comparisons and integer arithmetic.
      { name: 'exp', op: 'Exp', input: ['x'] },
      { name: 'abs', op: 'Abs', input: ['x'] },
      { name: 'sqrt', op: 'Sqrt', input: ['abs'] },
      { name: 'neg', op: 'Neg', input: ['x'] },
      { name: 'floor', op: 'Floor', input: ['scaled'] },
      { name: 'sigmoid', op: 'Sigmoid', input: ['x'] },
      { name: 'tanh', op: 'Tanh', input: ['x'] },
      { name: 'elu', op: 'Elu', input: ['x'] },
      { name: 'leaky', op: 'LeakyRelu', input: ['x'], attr: { alpha: { f: 0.1 } } },
      { name: 'relu6', op: 'Relu6', input: ['scaled'] },
      { name: 'minimum', op: 'Minimum', input: ['x', 'zero'] },
      { name: 'sqdiff', op: 'SquaredDifference', input: ['x', 'neg'] },
      { name: 'floordiv', op: 'FloorDiv', input: ['x', 'third'] },
      { name: 'le', op: 'LessEqual', input: ['x', 'zero'] },
      { name: 'ne', op: 'NotEqual', input: ['floor', 'zero'] },
      { name: 'and', op: 'LogicalAnd', input: ['le', 'ne'] },
      { name: 'and_f', op: 'Cast', input: ['and'], attr: { DstT: { type: 'DT_FLOAT' } } },
      { name: 'mod', op: 'FloorMod', input: ['as_int', 'three'] },
      { name: 'mod_f', op: 'Cast', input: ['mod'], attr: { DstT: { type: 'DT_FLOAT' } } },
      { name: 'tile', op: 'Tile', input: ['x', 'multiples'] },
      { name: 'padv2', op: 'PadV2', input: ['x', 'paddings', 'ten'] },
      { name: 'min', op: 'Min', input: ['x', 'axes_hw'], attr: { keep_dims: { b: false } } },
      { name: 'argmax', op: 'ArgMax', input: ['x', 'axis_last'] },
      { name: 'argmax_f', op: 'Cast', input: ['argmax'], attr: { DstT: { type: 'DT_FLOAT' } } },
      { name: 'log', op: 'Log', input: ['exp'] },
      { name: 'ceil', op: 'Ceil', input: ['scaled'] },
      { name: 'recip', op: 'Reciprocal', input: ['exp'] },
      { name: 'pow', op: 'Pow', input: ['abs', 'third'] },
      { name: 'ge', op: 'GreaterEqual', input: ['x', 'zero'] },
      { name: 'eq', op: 'Equal', input: ['floor', 'zero'] },
      { name: 'or', op: 'LogicalOr', input: ['ge', 'eq'] },
      { name: 'or_f', op: 'Cast', input: ['or'], attr: { DstT: { type: 'DT_FLOAT' } } },
      { name: 'clip', op: 'ClipByValue', input: ['x', 'third_neg', 'third'] },
      { name: 'fill', op: 'Fill', input: ['fill_dims', 'ten'] },
      { name: 'squeezed', op: 'Squeeze', input: ['mean'] },
      { name: 'argmin', op: 'ArgMin', input: ['x', 'axis_last'] },
      { name: 'argmin_f', op: 'Cast', input: ['argmin'], attr: { DstT: { type: 'DT_FLOAT' } } },
      // Slice with a computed begin (the general path) and sizes with -1.
      { name: 'begin_dyn', op: 'Sub', input: ['slice_begin', 'slice_zeros'] },
      { name: 'slice_dyn', op: 'Slice', input: ['x', 'begin_dyn', 'slice_size'] },
      // Matrix products on a [96, 5] view.
      { name: 'rows', op: 'Reshape', input: ['x', 'shape_rows'] },
      { name: 'matmul', op: 'MatMul', input: ['rows', 'm'], attr: { transpose_a: { b: false }, transpose_b: { b: true } } },
      { name: 'fused_matmul', op: '_FusedMatMul', input: ['rows', 'mt', 'mbias'], attr: { transpose_a: { b: false }, transpose_b: { b: false }, fused_ops: { list: { s: ['BiasAdd', 'Relu'].map((o) => Buffer.from(o).toString('base64')) } }, num_args: { i: '1' } } },
    ],
    {
      b_a: ints([0, 1]),
      e_a: ints([0, 3]),
      s_a: ints([1, 1]),
      b_b: ints([0, -1]),
      e_b: ints([0, 0]),
      s_b: ints([1, 1]),
      b_c: ints([1, 0]),
      e_c: ints([2, 0]),
      s_c: ints([1, 1]),
      b_r: ints([0, 0]),
      e_r: ints([0, 0]),
      s_r: ints([1, -1]),
      b_d: ints([0, 0, 1, 0]),
      e_d: ints([0, 0, 0, 3]),
      s_d: ints([1, 2, 3, 1]),
      sizes: ints([1, -1, 2]),
      axis_last: { dtype: 'int32', shape: [], data: [-1] },
      size: ints([9, 11]),
      w: { dtype: 'float32', shape: [3, 3, 5, 4], data: rand(180, 5) },
      dw: { dtype: 'float32', shape: [3, 3, 5, 2], data: rand(90, 6) },
      bias: { dtype: 'float32', shape: [4], data: [0.5, -0.5, 1, 2] },
      axes_hw: ints([1, 2]),
      paddings: { dtype: 'int32', shape: [4, 2], data: [0, 0, 1, 2, 0, 1, 0, 0] },
      ten: { dtype: 'float32', shape: [], data: [10] },
      zero: { dtype: 'float32', shape: [], data: [0] },
      shape_flat: ints([-1, 48, 5]),
      perm: ints([0, 2, 1]),
      third: { dtype: 'float32', shape: [], data: [0.3] },
      three: { dtype: 'int32', shape: [], data: [3] },
      multiples: ints([1, 2, 1, 1]),
      shape_rows: ints([-1, 5]),
      m: { dtype: 'float32', shape: [3, 5], data: rand(15, 8) },
      mt: { dtype: 'float32', shape: [5, 3], data: rand(15, 9) },
      mbias: { dtype: 'float32', shape: [3], data: [0.1, -0.2, 0.3] },
      third_neg: { dtype: 'float32', shape: [], data: [-0.3] },
      fill_dims: ints([2, 3]),
      slice_begin: ints([0, 1, 2, 1]),
      slice_zeros: ints([0, 0, 0, 0]),
      slice_size: ints([-1, 3, -1, 2]),
    },
  );
  const outputs = ['slice_masks', 'slice_ellipsis', 'slice_newaxis', 'slice_reverse', 'slice_strides', 'split:1', 'split:2', 'pack', 'bmm', 'maxpool', 'avgpool', 'resize_corners', 'resize_half', 'conv', 'dwconv', 'fused', 'mean', 'pad', 'as_float', 'select', 'moved',
    'exp', 'sqrt', 'neg', 'sigmoid', 'tanh', 'elu', 'leaky', 'relu6', 'minimum', 'sqdiff', 'floordiv', 'and_f', 'mod_f', 'tile', 'padv2', 'min', 'argmax_f', 'matmul', 'fused_matmul',
    'log', 'ceil', 'recip', 'pow', 'or_f', 'clip', 'fill', 'squeezed', 'argmin_f', 'slice_dyn'];

  it(`matches TensorFlow.js on all ${outputs.length} outputs, second outputs (name:1) included`, async () => {
    const conv = graphModelToOnnx(files, { outputs });
    const session = await ort.InferenceSession.create(conv.onnx);
    const data = Float32Array.from(rand(2 * 6 * 8 * 5, 17));
    const got = await session.run({ x: new ort.Tensor('float32', data, [2, 6, 8, 5]) });
    const model = await tfModel(files);
    const want = model.execute({ x: tf.tensor4d(data, [2, 6, 8, 5]) }, outputs) as tf.Tensor[];
    for (const [i, name] of outputs.entries()) {
      expect([name, got[name].dims]).toEqual([name, want[i].shape]);
      const { diff } = relDiff(got[name].data as Float32Array, want[i].dataSync() as Float32Array);
      expect(diff, name).toBeLessThanOrEqual(1e-5);
    }
    // Declared output shapes agree with what onnxruntime returns (where a size is fixed).
    // (Squeeze without axes on a symbolic batch cannot know its rank: no declared shape.)
    expect(conv.outputs.filter((o) => !o.dims).map((o) => o.name)).toEqual(['squeezed']);
    for (const o of conv.outputs.filter((out) => out.dims)) {
      expect(o.dims?.length, o.name).toBe(got[o.name].dims.length);
      o.dims!.forEach((d, k) => typeof d === 'number' && expect([o.name, k, d]).toEqual([o.name, k, got[o.name].dims[k]]));
    }
    tf.dispose(want);
    model.dispose();
    await session.release();
  });
});

describe('centernet backbone (MobileNetV3, float16 weights) → ONNX', () => {
  let files: GraphModelFiles;
  let model: tf.GraphModel;

  beforeAll(async () => {
    files = loadGraphModelFiles(CENTERNET);
    model = await tfModel(files, true);
  });

  for (const size of [224, 320]) {
    it(`matches TensorFlow.js on the stride-16 and stride-32 maps at ${size} px, NHWC in and out, any batch`, async () => {
      const conv = graphModelToOnnx(files, { outputs: [STRIDE16, STRIDE32], inputShapes: { [IMAGE_INPUT]: ['batch', size, size, 3] } });
      expect(conv.inputs).toEqual([{ name: IMAGE_INPUT, tfName: IMAGE_INPUT, type: 'float32', dims: ['batch', size, size, 3] }]);
      expect(conv.outputs.map((o) => o.dims)).toEqual([
        [`${STRIDE16}_dim0`, size / 16, size / 16, 88],
        [`${STRIDE32}_dim0`, size / 32, size / 32, 480],
      ]);
      expect(conv.ops._FusedConv2D).toBeGreaterThan(40);
      const session = await ort.InferenceSession.create(conv.onnx);
      // Two different images in one batch: the converted graph must not assume batch 1.
      const images = [seededImage(size, 11), seededImage(size, 29)];
      const batch = new Float32Array(2 * size * size * 3);
      images.forEach((im, i) => batch.set(im, i * im.length));
      const got = await session.run({ [IMAGE_INPUT]: new ort.Tensor('float32', batch, [2, size, size, 3]) });
      for (const [b, image] of images.entries()) {
        const ref = model.execute({ [IMAGE_INPUT]: tf.tensor4d(image, [1, size, size, 3]) }, [STRIDE16, STRIDE32]) as tf.Tensor[];
        for (const [k, name] of [STRIDE16, STRIDE32].entries()) {
          const want = ref[k].dataSync() as Float32Array;
          const all = got[name].data as Float32Array;
          const { diff, scale } = relDiff(all.subarray(b * want.length, (b + 1) * want.length), want);
          expect(scale).toBeGreaterThan(1); // a real activation map, not zeros
          expect(diff).toBeLessThanOrEqual(1e-4);
        }
        tf.dispose(ref);
      }
      await session.release();
    });
  }

  it('pools chosen maps into one image-tower output (global average per channel, concatenated)', async () => {
    const size = 224;
    const conv = graphModelToOnnx(files, { outputs: [STRIDE16, STRIDE32], inputShapes: { [IMAGE_INPUT]: ['batch', size, size, 3] }, pooledOutput: 'features' });
    expect(conv.outputs.map((o) => [o.name, o.dims])).toEqual([['features', ['batch', 88 + 480]]]);
    const session = await ort.InferenceSession.create(conv.onnx);
    const image = seededImage(size, 5);
    const got = (await session.run({ [IMAGE_INPUT]: new ort.Tensor('float32', image, [1, size, size, 3]) })).features.data as Float32Array;
    const ref = model.execute({ [IMAGE_INPUT]: tf.tensor4d(image, [1, size, size, 3]) }, [STRIDE16, STRIDE32]) as tf.Tensor[];
    const want = tf.tidy(() => tf.concat(ref.map((t) => tf.mean(t, [1, 2])), 1));
    expect(relDiff(got, want.dataSync() as Float32Array).diff).toBeLessThanOrEqual(1e-4);
    tf.dispose([...ref, want]);
    await session.release();
    expect(() => graphModelToOnnx(files, { outputs: ['tower_0/MobilenetV3/expanded_conv_3/squeeze_excite/Mean/reduction_indices'], pooledOutput: 'features' })).toThrow(/cannot be pooled/);
  });

  it('names the op and the node it cannot convert, and a missing node', () => {
    expect(() => graphModelToOnnx(files, { outputs: ['tower_0/TopKV2:1'] })).toThrow(/Cannot convert node tower_0\/TopKV2 \(op TopKV2\) of .*centernet\.json: this op is not supported/);
    expect(() => graphModelToOnnx(files, { outputs: ['tower_0/nope'] })).toThrow(/Tensor tower_0\/nope is not in .*centernet\.json/);
  });
});

describe('nanodet backbone (channels-first graph converted from ONNX: Pad, Conv2D, LeakyRelu, MaxPool) → ONNX', () => {
  it('pools its stride-16 and stride-32 maps like TensorFlow.js at 320 px', async () => {
    const files = loadGraphModelFiles(path.join(NODE_MODULES, '@vladmandic', 'human-models', 'models', 'nanodet.json'));
    const maps = ['PartitionedCall/onnx_tf_prefix_Concat_42', 'PartitionedCall/onnx_tf_prefix_Concat_62'];
    const size = 320;
    const conv = graphModelToOnnx(files, { outputs: maps, inputShapes: { input_1: ['batch', 3, size, size] }, pooledOutput: 'features' });
    expect(conv.outputs.map((o) => [o.name, o.dims])).toEqual([['features', ['batch', 256 + 512]]]);
    expect(conv.ops.LeakyRelu).toBeGreaterThan(10);
    const session = await ort.InferenceSession.create(conv.onnx);
    const image = seededImage(size, 3).map((v) => v / 255);
    const got = (await session.run({ input_1: new ort.Tensor('float32', image, [1, 3, size, size]) })).features.data as Float32Array;
    const topology = JSON.parse(JSON.stringify(files.modelJson.modelTopology)) as { node: TfNode[] };
    for (const n of topology.node) if (n.op === 'Placeholder') for (const d of n.attr!.shape!.shape!.dim!.slice(2)) d.size = '-1';
    const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: topology, weightSpecs: files.weightSpecs as tf.io.WeightsManifestEntry[], weightData: files.weightData }));
    const ref = model.execute({ input_1: tf.tensor4d(image, [1, 3, size, size]) }, maps) as tf.Tensor[];
    const want = tf.tidy(() => tf.concat(ref.map((t) => tf.mean(t, [2, 3])), 1));
    const { diff, scale } = relDiff(got, want.dataSync() as Float32Array);
    expect(scale).toBeGreaterThan(0.01);
    expect(diff).toBeLessThanOrEqual(1e-4);
    tf.dispose([...ref, want]);
    model.dispose();
    await session.release();
  });
});

describe('Universal Sentence Encoder lite → ONNX text tower', () => {
  let vocab: UseVocab;
  let reference: ReferenceUseTokenizer;
  let tokenizer: TextTokenizer;
  let files: GraphModelFiles;
  let useModel: tf.GraphModel;
  let tmp: string;
  const spaceId = () => vocab.findIndex(([p]) => p === '\u2581');

  beforeAll(async () => {
    vocab = readUseVocab();
    reference = new ReferenceUseTokenizer(vocab);
    tokenizer = new TextTokenizer({ json: buildUseTokenizerJson(vocab), config: {} }, { maxLength: USE_MAX_TOKENS, padId: 0, idsType: 'int64' });
    files = loadGraphModelFiles(path.join(USE_DIR, 'model.json'));
    useModel = await tfModel(files);
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ps-use-'));
  });

  afterAll(async () => {
    useModel?.dispose();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  /** TensorFlow.js on the sparse input the reference pipeline builds (ids of the normalized text). */
  async function tfEmbeddings(idLists: number[][]): Promise<Float32Array> {
    const indices: number[] = [];
    const values: number[] = [];
    idLists.forEach((ids, b) => ids.forEach((id, p) => (indices.push(b, p), values.push(id))));
    const out = (await useModel.executeAsync({ indices: tf.tensor2d(indices, [values.length, 2], 'int32'), values: tf.tensor1d(values, 'int32') })) as tf.Tensor;
    expect(out.shape).toEqual([idLists.length, USE_DIM]);
    const data = out.dataSync() as Float32Array;
    out.dispose();
    return data;
  }

  /** Total piece score of a segmentation (null scores count 0, as in the reference). */
  const score = (ids: number[]) => ids.reduce((acc, id) => acc + (vocab[id][1] ?? 0), 0);
  const text = (ids: number[]) => ids.map((id) => vocab[id][0]).join('');

  it('tokenizes like the reference tokenizer on 340 sentences (captions, punctuation, digits, unicode, emoji, unknown symbols)', () => {
    const sentences = useTestSentences(300);
    expect(sentences.length).toBe(300 + EDGE_SENTENCES.length);
    const divergent: string[] = [];
    let withUnknown = 0;
    for (const sentence of sentences) {
      const ours = tokenizer.encodeOne(sentence);
      const ref = reference.encode(normalizeUseText(sentence));
      if (ref.includes(0)) withUnknown++;
      if (JSON.stringify(ours) === JSON.stringify(ref)) continue;
      divergent.push(sentence);
      // The one known divergence: the reference treats a best path score of exactly 0 as "not set yet", so
      // after a 0-score piece at the start (":" pieces have no score in vocab.json) it takes a worse path.
      // Ours is the true Viterbi best: the same text, cut into pieces with a strictly higher total score.
      expect(text(ours)).toBe(text(ref));
      expect(score(ours)).toBeGreaterThan(score(ref));
    }
    expect(withUnknown).toBeGreaterThan(5); // emoji and symbols no piece covers were exercised
    expect(divergent).toEqual([':) happy face']);
  });

  it('normalizes typed queries and captions alike: case, final period, spaces; one id 0 per unknown run', () => {
    const ids = (t: string) => tokenizer.encodeOne(t);
    const query = ids('two dogs running on the beach');
    expect(ids('Two dogs running on the beach.')).toEqual(query);
    expect(ids('  TWO dogs   running on\tthe beach !! ')).toEqual(query);
    expect(ids('two dogs running on the beach')[0]).toBe(tokenizer.tokenToId('\u2581two'));
    expect(ids('e.g. a dog.')).toEqual(ids('e.g. a dog'));
    expect(ids('...')).toEqual([]);
    // Emoji: no piece holds them; a run of them is one unknown id, as in the reference.
    expect(ids('a dog 🐶🐶 runs')).toEqual(reference.encode('a dog 🐶🐶 runs'));
    expect(ids('a dog 🐶🐶 runs').filter((id) => id === 0)).toHaveLength(1);
    // The reserved pieces never match typed text.
    expect(ids('<s> extra_token_id_1')).not.toContain(1);
    expect(ids('<s> extra_token_id_1')).not.toContain(3);
  });

  it('converts the graph on its sparse inputs: matches TensorFlow.js', async () => {
    const conv = graphModelToOnnx(files, { outputs: [USE_GRAPH_OUTPUT] });
    expect(conv.inputs.map((i) => [i.name, i.type, i.dims])).toEqual([
      ['indices', 'int64', ['batch', 2]],
      ['values', 'int64', ['batch']],
    ]);
    for (const op of ['SparseToDense', 'ScatterNd', 'GatherNd', 'Where', 'BatchMatMul', 'SplitV', 'StridedSlice']) expect(conv.ops[op]).toBeGreaterThan(0);
    const session = await ort.InferenceSession.create(conv.onnx);
    const seqs = [reference.encode('a dog runs'), reference.encode('two children play in the snow near a fountain')];
    const indices = seqs.flatMap((ids, b) => ids.flatMap((_, p) => [BigInt(b), BigInt(p)]));
    const values = seqs.flatMap((ids) => ids.map((id) => BigInt(id)));
    const got = await session.run({ indices: new ort.Tensor('int64', BigInt64Array.from(indices), [values.length, 2]), values: new ort.Tensor('int64', BigInt64Array.from(values), [values.length]) });
    const { diff } = relDiff(got[USE_GRAPH_OUTPUT].data as Float32Array, await tfEmbeddings(seqs));
    expect(diff).toBeLessThanOrEqual(1e-4);
    await session.release();
  });

  it('runs in the app as a pooled text tower: 20 varied sentences in one batch match TensorFlow.js', async () => {
    // A generated model folder whose text side is the USE-lite tower, loaded by the app's own runtime.
    const dir = await generateTestModel(path.join(tmp, 'model'), { textKind: 'pooled' });
    const built = await buildUseTextTower(dir);
    expect(built.onnxBytes).toBeGreaterThan(20e6);
    const manifest = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as ModelManifest;
    manifest.text = useTextTowerSpec();
    await saveHeads(path.join(dir, 'heads.json'), initHeads({ kind: 'projection', embedDim: manifest.embedDim, dropout: 0.1, imageInDim: manifest.image.featureDim, textInDim: USE_DIM, textPool: 'none' }, 3));
    await writeManifest(dir, manifest);
    const model: EmbeddingModel = await openModel(dir);
    try {
      // Different lengths (1 to 33 pieces), an empty text in the middle, punctuation, unicode and emoji.
      const sentences = [
        'A dog runs on the beach.',
        'two children',
        EDGE_SENTENCES[34], // the long caption
        '',
        'café in Zürich 🐶',
        'At 5:30 the bus leaves!',
        'a man in a red shirt rides a bike',
        'dog',
        '東京 タワー',
        'three girls are jumping into the lake',
        'a black and white dog jumps over a fence',
        'people walk through a crowded market at night',
        'an old man sits on a wooden bench',
        'a surfer rides a large wave',
        'two dogs play with a frisbee in the grass',
        'a bride and groom',
        'Room 101, floor 3 - 42% off',
        'a toddler in a bathrobe',
        'snow',
        'a boy next to a fire hydrant',
      ];
      const features = await model.textFeatures(sentences);
      expect(features.map((f) => f.data.length)).toEqual(sentences.map(() => USE_DIM));
      const lengths = sentences.map((t) => reference.encode(normalizeUseText(t)).length);
      expect(Math.min(...lengths)).toBe(0);
      expect(Math.max(...lengths)).toBeGreaterThan(30);
      // The reference pipeline; the empty text is fed as a lone "▁" piece, as the tower's adapter does.
      const want = await tfEmbeddings(sentences.map((t) => (normalizeUseText(t) ? reference.encode(normalizeUseText(t)) : [spaceId()])));
      const got = new Float32Array(sentences.length * USE_DIM);
      features.forEach((f, i) => got.set(f.data, i * USE_DIM));
      // Unit vectors: the absolute and the relative criterion coincide.
      expect(relDiff(got, want).diff).toBeLessThanOrEqual(1e-4);
      for (const f of features) expect(Math.hypot(...f.data)).toBeCloseTo(1, 4);
      // Texts differ, so do their embeddings; a caption and its typed form are the same query.
      const [a, b] = await model.textFeatures(['A dog runs on the beach.', 'a dog runs on the beach']);
      expect(Array.from(a.data)).toEqual(Array.from(b.data));
      let cos = 0;
      for (let k = 0; k < USE_DIM; k++) cos += features[0].data[k] * features[1].data[k];
      expect(cos).toBeLessThan(0.9);
      const embeds = await model.embedTexts(['a dog']);
      expect(embeds[0].length).toBe(manifest.embedDim);
    } finally {
      await model.dispose();
    }
  });
});
