/**
 * Keras layers model (TensorFlow.js format) → ONNX image tower.
 *
 * Reads the Keras models that ship inside the `nsfwjs` npm package (UMD JS files wrapping the model JSON and
 * base64 weight shards, uint8-quantized), dequantizes the weights, and translates the convolutional trunk to
 * an NCHW ONNX graph that outputs the features before the classifier:
 *   pixel_values [batch, 3, S, S] float32 (RGB in [0,1], i.e. pixels / 255 as nsfwjs feeds them)
 *   features     [batch, C] (global average) or [batch, 5C] (global average ++ 2x2 grid average)
 *
 * Folding: ZeroPadding2D is folded into the next convolution's pads, BatchNormalization into the preceding
 * convolution's weights when the convolution feeds only the BN (the usual Conv → BN → ReLU block).
 * Supported layers: InputLayer, ZeroPadding2D, Conv2D, DepthwiseConv2D, BatchNormalization, ReLU, Activation
 * (relu/linear), Add, Concatenate, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D; the classifier
 * (Flatten, Dense, Dropout) is cut off.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { GraphBuilder } from '../onnx/builder';

// ---- the Keras JSON (only what the converter reads) --------------------------------------------------

export interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  /** [[ [inboundLayer, nodeIndex, tensorIndex, kwargs], ... ]] */
  inbound_nodes: [string, number, number, unknown][][];
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { min?: number; scale?: number; dtype: 'uint8' | 'uint16' | 'float16' };
}

export interface KerasModelFiles {
  /** The `modelTopology` object (keras_version, model_config, ...). */
  modelTopology: { model_config: { class_name: string; config: { name: string; layers: KerasLayer[]; output_layers?: unknown } } };
  weightSpecs: WeightSpec[];
  /** All shards concatenated, in manifest order. */
  weightData: ArrayBuffer;
}

export interface NamedWeight {
  shape: number[];
  data: Float32Array;
}

/** Evaluate one UMD file of the nsfwjs package in a sandbox and return what it exports. */
function evalUmd(file: string): unknown {
  let code: string;
  try {
    code = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`Model file ${file} is missing. Run \`npm install\` (nsfwjs is a devDependency) and try again.`);
  }
  const sandbox = { module: { exports: {} as unknown }, exports: {} };
  sandbox.module.exports = sandbox.exports;
  vm.runInNewContext(code, sandbox, { filename: file });
  // Objects built in another realm fail `instanceof Array` checks (TensorFlow.js uses them): copy them over.
  const exported = sandbox.module.exports;
  return typeof exported === 'string' ? exported : JSON.parse(JSON.stringify(exported));
}

/**
 * Load a layers model from an nsfwjs model folder (e.g. node_modules/nsfwjs/dist/models/mobilenet_v2):
 * `model.min.js` exports `{modelTopology, weightsManifest}`, each `<path>.min.js` shard exports a base64 string.
 */
export function loadNsfwjsLayersModel(dir: string): KerasModelFiles {
  const model = evalUmd(path.join(dir, 'model.min.js')) as {
    format?: string;
    modelTopology: KerasModelFiles['modelTopology'];
    weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  };
  if (model.format === 'graph-model' || !model.modelTopology?.model_config) {
    throw new Error(`Model ${dir} is a TensorFlow.js graph model, not a Keras layers model; the Keras converter cannot read it.`);
  }
  const buffers: Buffer[] = [];
  const weightSpecs: WeightSpec[] = [];
  for (const group of model.weightsManifest) {
    for (const p of group.paths) {
      const b64 = evalUmd(path.join(dir, `${p}.min.js`));
      if (typeof b64 !== 'string') throw new Error(`Weight shard ${path.join(dir, p)}.min.js does not hold base64 data; the nsfwjs package layout changed.`);
      buffers.push(Buffer.from(b64, 'base64'));
    }
    weightSpecs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return { modelTopology: model.modelTopology, weightSpecs, weightData };
}

/** Dequantize the weight shards the way TensorFlow.js does: value = q * scale + min. */
export function decodeWeights(specs: WeightSpec[], data: ArrayBuffer): Map<string, NamedWeight> {
  const out = new Map<string, NamedWeight>();
  let offset = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    const q = spec.quantization;
    if (spec.dtype !== 'float32') throw new Error(`Weight ${spec.name}: dtype ${spec.dtype} is not supported (float32 only).`);
    if (!q) {
      values.set(new Float32Array(data.slice(offset, offset + 4 * size)));
      offset += 4 * size;
    } else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      const bytes = q.dtype === 'uint8' ? 1 : 2;
      const raw = q.dtype === 'uint8' ? new Uint8Array(data, offset, size) : new Uint16Array(data.slice(offset, offset + 2 * size));
      const scale = q.scale ?? 1;
      const min = q.min ?? 0;
      for (let i = 0; i < size; i++) values[i] = raw[i] * scale + min;
      offset += bytes * size;
    } else {
      throw new Error(`Weight ${spec.name}: quantization ${q.dtype} is not supported.`);
    }
    out.set(spec.name, { shape: spec.shape, data: values });
  }
  if (offset !== data.byteLength) throw new Error(`Weight data has ${data.byteLength} bytes but the manifest describes ${offset}; the shards do not match the model.`);
  return out;
}

// ---- conversion ------------------------------------------------------------------------------------

export type FeatureKind = 'avg' | 'avg+grid2';

export interface ConvertOptions {
  /** Layer whose output map is pooled into features. Default: the map that feeds the classifier. */
  featureLayer?: string;
  features?: FeatureKind;
  /**
   * Earlier layers whose maps are globally average-pooled and appended to the features. Middle layers of a
   * fine-tuned backbone keep more of the generic ImageNet features than the last one.
   */
  extraLayers?: string[];
  /**
   * 'sqrt-l2': signed square root then L2 normalization of the whole feature vector (power normalization,
   * the usual fix for bursty pooled CNN activations; layers of different scales then weigh alike).
   */
  normalize?: 'none' | 'sqrt-l2';
  inputName?: string;
  outputName?: string;
}

export interface ConvertedTower {
  onnx: Uint8Array;
  inputName: string;
  outputName: string;
  /** Square input side the Keras model was built for. */
  inputSize: number;
  featureDim: number;
  featureLayer: string;
  /** [h, w, C] of the feature map. */
  featureMap: [number, number, number];
}

/** A Keras tensor during conversion: the ONNX value holding it (NCHW), its NHWC shape, and a pad not yet applied. */
interface Value {
  name: string;
  shape: [number, number, number]; // h, w, c
  pad?: [number, number, number, number]; // top, bottom, left, right (ZeroPadding2D awaiting a conv)
}

const CLASSIFIER = new Set(['Flatten', 'Dense', 'Dropout', 'Softmax']);

function pair(v: unknown, what: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2) return [Number(v[0]), Number(v[1])];
  throw new Error(`Unsupported ${what}: ${JSON.stringify(v)}`);
}

/** TensorFlow's SAME/VALID padding for one axis: [before, after, out]. */
function tfPad(size: number, k: number, s: number, d: number, mode: string): [number, number, number] {
  const eff = (k - 1) * d + 1;
  if (mode === 'valid') return [0, 0, Math.floor((size - eff) / s) + 1];
  if (mode !== 'same') throw new Error(`Unsupported padding mode ${mode}`);
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + eff - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before, out];
}

/** Default feature layer: the input of the first classifier layer, skipping the pooling right before it. */
function defaultFeatureLayer(layers: KerasLayer[]): string {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const first = layers.find((l) => CLASSIFIER.has(l.class_name));
  if (!first) throw new Error('Cannot find the classifier (Flatten/Dense) in the Keras model; pass featureLayer.');
  let name = first.inbound_nodes[0][0][0];
  let layer = byName.get(name);
  while (layer && /Pooling2D$/.test(layer.class_name)) {
    name = layer.inbound_nodes[0][0][0];
    layer = byName.get(name);
  }
  return name;
}

export function kerasToOnnx(files: KerasModelFiles, options: ConvertOptions = {}): ConvertedTower {
  const layers = files.modelTopology.model_config.config.layers;
  const weights = decodeWeights(files.weightSpecs, files.weightData);
  const featureLayer = options.featureLayer ?? defaultFeatureLayer(layers);
  const features = options.features ?? 'avg';
  const inputName = options.inputName ?? 'pixel_values';
  const outputName = options.outputName ?? 'features';

  const w = (layer: string, key: string, required = true): NamedWeight | undefined => {
    const t = weights.get(`${layer}/${key}`);
    if (!t && required) throw new Error(`Weight ${layer}/${key} is missing from the weight manifest.`);
    return t;
  };

  // Consumers per layer, to know when a conv feeds only a BatchNormalization (fold) and to cut at the feature layer.
  const consumers = new Map<string, string[]>();
  for (const l of layers) {
    for (const node of l.inbound_nodes) for (const [src] of node) consumers.set(src, [...(consumers.get(src) ?? []), l.name]);
  }
  const byName = new Map(layers.map((l) => [l.name, l]));

  const g = new GraphBuilder('image_tower');
  const values = new Map<string, Value>();
  const folded = new Set<string>(); // BN layers already folded into their conv
  let inputSize = 0;

  const get = (name: string): Value => {
    const v = values.get(name);
    if (!v) throw new Error(`Keras layer input ${name} was not converted (layers out of order?)`);
    return v;
  };
  // Apply a pending ZeroPadding2D with an explicit Pad op (for consumers other than a conv).
  const materialize = (v: Value): Value => {
    if (!v.pad) return v;
    const [t, b, l, r] = v.pad;
    const padded = g.op('Pad', [v.name, g.ints([0, 0, t, l, 0, 0, b, r])], { mode: 'constant' });
    return { name: padded, shape: [v.shape[0] + t + b, v.shape[1] + l + r, v.shape[2]] };
  };
  const activation = (x: string, act: unknown): string => {
    if (act === undefined || act === 'linear') return x;
    if (act === 'relu') return g.op('Relu', [x]);
    throw new Error(`Unsupported activation ${String(act)}`);
  };

  for (const layer of layers) {
    const cfg = layer.config;
    const cls = layer.class_name;
    if (cls === 'InputLayer') {
      const shape = cfg.batch_input_shape as (number | null)[];
      const [h, wd, c] = [shape[1] ?? 0, shape[2] ?? 0, shape[3] ?? 0];
      if (h !== wd || c !== 3) throw new Error(`Input ${layer.name}: expected [null, S, S, 3], got ${JSON.stringify(shape)}`);
      inputSize = h;
      values.set(layer.name, { name: g.input(inputName, 'float32', ['batch', 3, h, wd]), shape: [h, wd, c] });
      continue;
    }
    if (CLASSIFIER.has(cls)) continue;
    if (folded.has(layer.name)) {
      if (layer.name === featureLayer) break;
      continue;
    }
    if (layer.inbound_nodes.length !== 1) throw new Error(`Layer ${layer.name} is shared (${layer.inbound_nodes.length} calls); not supported.`);
    const ins = layer.inbound_nodes[0].map(([src]) => get(src));
    const dataFormat = cfg.data_format;
    if (dataFormat !== undefined && dataFormat !== 'channels_last') throw new Error(`Layer ${layer.name}: data_format ${String(dataFormat)} not supported.`);

    let out: Value;
    switch (cls) {
      case 'ZeroPadding2D': {
        const p = cfg.padding as number | [number, number] | [[number, number], [number, number]];
        const [[t, b], [l, r]] = typeof p === 'number' ? [[p, p], [p, p]] : Array.isArray(p[0]) ? (p as [[number, number], [number, number]]) : [[p[0], p[0]], [p[1], p[1]]] as [[number, number], [number, number]];
        const prev = ins[0].pad ?? [0, 0, 0, 0];
        out = { name: ins[0].name, shape: ins[0].shape, pad: [prev[0] + t, prev[1] + b, prev[2] + l, prev[3] + r] };
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const x = ins[0];
        const depthwise = cls === 'DepthwiseConv2D';
        const [kh, kw] = pair(cfg.kernel_size, 'kernel_size');
        const [sh, sw] = pair(cfg.strides, 'strides');
        const [dh, dw] = pair(cfg.dilation_rate ?? 1, 'dilation_rate');
        const pre = x.pad ?? [0, 0, 0, 0];
        const hIn = x.shape[0] + pre[0] + pre[1];
        const wIn = x.shape[1] + pre[2] + pre[3];
        const [pt, pb, oh] = tfPad(hIn, kh, sh, dh, String(cfg.padding));
        const [pl, pr, ow] = tfPad(wIn, kw, sw, dw, String(cfg.padding));
        const cin = x.shape[2];
        const kernel = w(layer.name, depthwise ? 'depthwise_kernel' : 'kernel')!;
        const mult = depthwise ? Number(cfg.depth_multiplier ?? 1) : 1;
        const cout = depthwise ? cin * mult : Number(cfg.filters);
        // Keras [kh, kw, in, out] (depthwise: [kh, kw, in, mult]) → ONNX [out, in/group, kh, kw].
        const inPerGroup = depthwise ? 1 : cin;
        const W = new Float32Array(cout * inPerGroup * kh * kw);
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            for (let ci = 0; ci < cin; ci++) {
              for (let co = 0; co < (depthwise ? mult : cout); co++) {
                const src = ((i * kw + j) * cin + ci) * (depthwise ? mult : cout) + co;
                const o = depthwise ? ci * mult + co : co;
                const inIdx = depthwise ? 0 : ci;
                W[((o * inPerGroup + inIdx) * kh + i) * kw + j] = kernel.data[src];
              }
            }
          }
        }
        const B = new Float32Array(cout);
        if (cfg.use_bias) B.set(w(layer.name, 'bias')!.data);
        // Fold a following BatchNormalization that is this conv's only consumer.
        const next = consumers.get(layer.name) ?? [];
        const bn = next.length === 1 && layer.name !== featureLayer ? byName.get(next[0]) : undefined;
        let actAfter = cfg.activation;
        let outName = layer.name;
        if (bn && bn.class_name === 'BatchNormalization' && (cfg.activation ?? 'linear') === 'linear') {
          const eps = Number(bn.config.epsilon ?? 1e-3);
          const gamma = bn.config.scale === false ? null : w(bn.name, 'gamma')!.data;
          const beta = bn.config.center === false ? null : w(bn.name, 'beta')!.data;
          const mean = w(bn.name, 'moving_mean')!.data;
          const variance = w(bn.name, 'moving_variance')!.data;
          const per = inPerGroup * kh * kw;
          for (let o = 0; o < cout; o++) {
            const s = (gamma ? gamma[o] : 1) / Math.sqrt(variance[o] + eps);
            for (let k = 0; k < per; k++) W[o * per + k] *= s;
            B[o] = (B[o] - mean[o]) * s + (beta ? beta[o] : 0);
          }
          folded.add(bn.name);
          actAfter = 'linear';
          outName = bn.name;
        }
        const y = g.op('Conv', [x.name, g.constant(W, [cout, inPerGroup, kh, kw]), g.constant(B, [cout])], {
          kernel_shape: [kh, kw],
          strides: [sh, sw],
          dilations: [dh, dw],
          pads: [pre[0] + pt, pre[2] + pl, pre[1] + pb, pre[3] + pr],
          group: depthwise ? cin : 1,
        });
        out = { name: activation(y, actAfter), shape: [oh, ow, cout] };
        if (outName !== layer.name) values.set(outName, out);
        break;
      }
      case 'BatchNormalization': {
        const x = materialize(ins[0]);
        const c = x.shape[2];
        const axis = Number(cfg.axis ?? -1);
        if (axis !== -1 && axis !== 3) throw new Error(`BatchNormalization ${layer.name}: axis ${axis} not supported.`);
        const gamma = cfg.scale === false ? new Float32Array(c).fill(1) : w(layer.name, 'gamma')!.data;
        const beta = cfg.center === false ? new Float32Array(c) : w(layer.name, 'beta')!.data;
        const y = g.op(
          'BatchNormalization',
          [x.name, g.constant(gamma, [c]), g.constant(beta, [c]), g.constant(w(layer.name, 'moving_mean')!.data, [c]), g.constant(w(layer.name, 'moving_variance')!.data, [c])],
          { epsilon: { float: Number(cfg.epsilon ?? 1e-3) } },
        );
        out = { name: y, shape: x.shape };
        break;
      }
      case 'ReLU': {
        const x = materialize(ins[0]);
        if (Number(cfg.negative_slope ?? 0) !== 0 || Number(cfg.threshold ?? 0) !== 0) throw new Error(`ReLU ${layer.name}: negative_slope/threshold not supported.`);
        const max = cfg.max_value;
        const y = max == null ? g.op('Relu', [x.name]) : g.op('Clip', [x.name, g.scalar(0), g.scalar(Number(max))]);
        out = { name: y, shape: x.shape };
        break;
      }
      case 'Activation': {
        const x = materialize(ins[0]);
        out = { name: activation(x.name, cfg.activation), shape: x.shape };
        break;
      }
      case 'Add': {
        const xs = ins.map(materialize);
        let y = xs[0].name;
        for (const v of xs.slice(1)) y = g.op('Add', [y, v.name]);
        out = { name: y, shape: xs[0].shape };
        break;
      }
      case 'Concatenate': {
        const xs = ins.map(materialize);
        const axis = Number(cfg.axis ?? -1);
        if (axis !== -1 && axis !== 3) throw new Error(`Concatenate ${layer.name}: axis ${axis} not supported (channels only).`);
        const c = xs.reduce((a, v) => a + v.shape[2], 0);
        out = { name: g.op('Concat', xs.map((v) => v.name), { axis: 1 }), shape: [xs[0].shape[0], xs[0].shape[1], c] };
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const x = materialize(ins[0]);
        const [kh, kw] = pair(cfg.pool_size, 'pool_size');
        const [sh, sw] = pair(cfg.strides ?? cfg.pool_size, 'strides');
        const [pt, pb, oh] = tfPad(x.shape[0], kh, sh, 1, String(cfg.padding));
        const [pl, pr, ow] = tfPad(x.shape[1], kw, sw, 1, String(cfg.padding));
        // Keras 'same' average pooling divides by the valid count: ONNX count_include_pad = 0 (the default).
        const y = g.op(cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [x.name], { kernel_shape: [kh, kw], strides: [sh, sw], pads: [pt, pl, pb, pr] });
        out = { name: y, shape: [oh, ow, x.shape[2]] };
        break;
      }
      case 'GlobalAveragePooling2D': {
        const x = materialize(ins[0]);
        out = { name: g.op('GlobalAveragePool', [x.name]), shape: [1, 1, x.shape[2]] };
        break;
      }
      default:
        throw new Error(`Keras layer ${layer.name} of class ${cls} is not supported by the converter.`);
    }
    values.set(layer.name, out);
    if (layer.name === featureLayer) break;
  }

  const fmap = values.get(featureLayer);
  if (!fmap) throw new Error(`Feature layer ${featureLayer} not found in the Keras model.`);
  const x = materialize(fmap);
  const [h, wd, c] = x.shape;
  const pooled = g.op('Flatten', [g.op('GlobalAveragePool', [x.name])], { axis: 1 });
  let featureDim = c;
  const extras = (options.extraLayers ?? []).map((name) => {
    const v = values.get(name);
    if (!v) throw new Error(`Extra feature layer ${name} not found before ${featureLayer} in the Keras model.`);
    const m = materialize(v);
    featureDim += m.shape[2];
    return g.op('Flatten', [g.op('GlobalAveragePool', [m.name])], { axis: 1 });
  });
  const normalize = options.normalize ?? 'none';
  const finalName = normalize === 'none' ? outputName : g.fresh('raw_features');
  if (features === 'avg') {
    if (extras.length) g.op('Concat', [pooled, ...extras], { axis: 1 }, [finalName]);
    else g.op('Identity', [pooled], {}, [finalName]);
  } else {
    if (extras.length) throw new Error('extraLayers work with features "avg" only.');
    // 2x2 grid: windows of ceil(h/2) rows, the second starting at h - ceil(h/2) (overlap by one row when h is odd).
    const kh = Math.ceil(h / 2);
    const kw = Math.ceil(wd / 2);
    const grid = g.op('AveragePool', [x.name], { kernel_shape: [kh, kw], strides: [Math.max(h - kh, 1), Math.max(wd - kw, 1)] });
    const gridFlat = g.op('Flatten', [grid], { axis: 1 });
    g.op('Concat', [pooled, gridFlat], { axis: 1 }, [finalName]);
    featureDim = 5 * c;
  }
  if (normalize === 'sqrt-l2') {
    // sign(x) * sqrt(|x|), then unit length.
    const root = g.op('Mul', [g.op('Sign', [finalName]), g.op('Sqrt', [g.op('Abs', [finalName])])]);
    g.l2Normalize(root, outputName);
  }
  g.output(outputName, 'float32', ['batch', featureDim]);
  return { onnx: g.toBytes(), inputName, outputName, inputSize, featureDim, featureLayer, featureMap: [h, wd, c] };
}
