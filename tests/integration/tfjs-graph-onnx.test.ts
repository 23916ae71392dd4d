/**
 * The TensorFlow.js graph-model → ONNX converter against TensorFlow.js itself (wasm backend) running the same
 * graph on the same seeded input: centernet's MobileNetV3 backbone (float16 weights, fused convolutions, NHWC).
 *
 * Agreement criterion: max |onnx − tfjs| ≤ 1e-4 · max(1, max |tfjs|) over every value of an output, i.e. an
 * absolute 1e-4 for values of order 1 and relative to the largest value where the map is large (float32 sums
 * of a few hundred products differ in the last bits between the two runtimes).
 */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../main/backend/train/tf';
import { decodeGraphWeights, graphModelToOnnx, loadGraphModelFiles, type GraphModelFiles, type TfNode } from '../../scripts/build-model/tfjs-graph-onnx';

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

  it('names the op and the node it cannot convert, and a missing node', () => {
    expect(() => graphModelToOnnx(files, { outputs: ['tower_0/TopKV2:1'] })).toThrow(/Cannot convert node tower_0\/TopKV2 \(op TopKV2\) of .*centernet\.json: this op is not supported/);
    expect(() => graphModelToOnnx(files, { outputs: ['tower_0/nope'] })).toThrow(/Tensor tower_0\/nope is not in .*centernet\.json/);
  });
});
