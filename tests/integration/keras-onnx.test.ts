/**
 * The Keras → ONNX converter against TensorFlow.js running the same Keras model (nsfwjs MobileNetV2,
 * truncated at the feature layer) on the same seeded input.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeWeights, kerasToOnnx, loadNsfwjsLayersModel, type KerasModelFiles } from '../../main/backend/model/keras-onnx';

const MODEL_DIR = path.join(__dirname, '..', '..', 'node_modules', 'nsfwjs', 'dist', 'models', 'mobilenet_v2');

/** Deterministic pixels in [0, 1], NHWC, plus the same values in NCHW. */
function seededImages(n: number, size: number): { nhwc: Float32Array; nchw: Float32Array } {
  const nhwc = new Float32Array(n * size * size * 3);
  let seed = 12345;
  for (let i = 0; i < nhwc.length; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    nhwc[i] = seed / 2147483648;
  }
  const nchw = new Float32Array(nhwc.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let c = 0; c < 3; c++) nchw[((b * 3 + c) * size + y) * size + x] = nhwc[((b * size + y) * size + x) * 3 + c];
  return { nhwc, nchw };
}

describe('Keras → ONNX (nsfwjs MobileNetV2)', () => {
  let files: KerasModelFiles;
  const N = 2;
  let images: { nhwc: Float32Array; nchw: Float32Array };
  /** TensorFlow.js reference: feature map [N, 7, 7, 1280] of the truncated Keras model. */
  let refMap: Float32Array;

  beforeAll(async () => {
    files = loadNsfwjsLayersModel(MODEL_DIR);
    images = seededImages(N, 224);
    await tf.setBackend('cpu');
    const model = await tf.loadLayersModel({
      load: async () => ({ modelTopology: files.modelTopology, weightSpecs: files.weightSpecs as tf.io.WeightsManifestEntry[], weightData: files.weightData }),
    });
    const trunk = tf.model({ inputs: model.inputs, outputs: model.getLayer('out_relu').output as tf.SymbolicTensor });
    const out = tf.tidy(() => trunk.predict(tf.tensor4d(images.nhwc, [N, 224, 224, 3])) as tf.Tensor);
    refMap = out.dataSync() as Float32Array;
    out.dispose();
    model.dispose();
  });

  it('dequantizes uint8 weights as q * scale + min', () => {
    const spec = files.weightSpecs.find((s) => s.quantization?.dtype === 'uint8')!;
    const bytes = new Uint8Array([0, 1, 255]);
    const decoded = decodeWeights([{ ...spec, shape: [3] }], bytes.buffer).get(spec.name)!;
    const { min = 0, scale = 1 } = spec.quantization!;
    expect(Array.from(decoded.data)).toEqual([min, min + scale, min + 255 * scale].map(Math.fround));
  });

  it('matches TensorFlow.js on pooled features (avg)', async () => {
    const tower = kerasToOnnx(files, { features: 'avg' });
    expect(tower.featureLayer).toBe('out_relu');
    expect(tower.inputSize).toBe(224);
    expect(tower.featureDim).toBe(1280);
    const session = await ort.InferenceSession.create(tower.onnx);
    const res = await session.run({ pixel_values: new ort.Tensor('float32', images.nchw, [N, 3, 224, 224]) });
    const got = res.features.data as Float32Array;
    expect(res.features.dims).toEqual([N, 1280]);
    // Reference global average over the 7x7 map.
    const ref = new Float32Array(N * 1280);
    for (let b = 0; b < N; b++) for (let p = 0; p < 49; p++) for (let c = 0; c < 1280; c++) ref[b * 1280 + c] += refMap[(b * 49 + p) * 1280 + c] / 49;
    let maxDiff = 0;
    let scale = 0;
    for (let i = 0; i < ref.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(got[i] - ref[i]));
      scale = Math.max(scale, Math.abs(ref[i]));
    }
    expect(scale).toBeGreaterThan(0.1); // features are not trivially zero
    expect(maxDiff / scale).toBeLessThan(1e-4);
    // The two images differ, so must their features.
    let between = 0;
    for (let c = 0; c < 1280; c++) between = Math.max(between, Math.abs(got[c] - got[1280 + c]));
    expect(between).toBeGreaterThan(1e-3);
    await session.release();
  });

  it('appends a 2x2 grid average (overlapping windows on the 7x7 map)', async () => {
    const tower = kerasToOnnx(files, { features: 'avg+grid2' });
    expect(tower.featureDim).toBe(5 * 1280);
    const session = await ort.InferenceSession.create(tower.onnx);
    const res = await session.run({ pixel_values: new ort.Tensor('float32', images.nchw.slice(0, 3 * 224 * 224), [1, 3, 224, 224]) });
    const got = res.features.data as Float32Array;
    expect(got.length).toBe(5 * 1280);
    // Grid cell (gy, gx) averages rows/cols [3*gy, 3*gy + 4); layout after the pooled part: [C, 2, 2].
    let maxDiff = 0;
    for (const c of [0, 17, 640, 1279])
      for (let gy = 0; gy < 2; gy++)
        for (let gx = 0; gx < 2; gx++) {
          let sum = 0;
          for (let y = 3 * gy; y < 3 * gy + 4; y++) for (let x = 3 * gx; x < 3 * gx + 4; x++) sum += refMap[(y * 7 + x) * 1280 + c];
          maxDiff = Math.max(maxDiff, Math.abs(got[1280 + c * 4 + gy * 2 + gx] - sum / 16));
        }
    expect(maxDiff).toBeLessThan(1e-4);
    await session.release();
  });

  it('rejects a graph model with a clear message', () => {
    expect(() => loadNsfwjsLayersModel(path.join(MODEL_DIR, '..', 'mobilenet_v2_mid'))).toThrow(/graph model, not a Keras layers model/);
  });
});
