/**
 * The one reader of Hugging Face / transformers.js CLIP exports (onnx/vision_model.onnx, onnx/text_model.onnx,
 * tokenizer.json, preprocessor_config.json, config.json). Such a folder is used two ways with the same rules:
 * imported (copied into the native layout, each tower inspected and probed once) or loaded in place (the towers
 * open lazily and check their names then; config.json's projection_dim spares opening them just for the width).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors';
import { initHeads } from '../model/heads';
import type { Heads } from '../model/heads-format';
import { checkSessionIO, createSessionFromFile, ort, outputShape } from '../model/ort';
import { padIdOf, readTokenizerFiles } from '../model/tokenizer';
import type { ImagePreprocess, ModelManifest } from '../model/types';
import { MANIFEST_FILE } from './manifest';
import {
  adapterSpec,
  alignedDim,
  HEADS_SEED,
  type ImportPlan,
  type ImportProgress,
  inspectImageTower,
  inspectTextTower,
  isFile,
  num,
  optionalFiles,
  readJsonIfAny,
  tokenizerFiles,
  towerFiles,
  towerManifest,
} from './towers';

// Plain export first, then the quantized variants transformers.js publishes (fp16 would need float16 inputs).
const VARIANTS = ['', '_quantized', '_int8', '_uint8', '_q8', '_q4'];

/** CLIP's context length: the text length when an export declares none. */
const CLIP_MAX_LENGTH = 77;
/** Declared lengths above this are "unset" markers (transformers writes 1e30 for no limit), not limits. */
const MAX_DECLARED_LENGTH = 512;

async function findOnnx(dir: string, base: string): Promise<string | null> {
  for (const sub of ['onnx', '']) {
    for (const v of VARIANTS) {
      const rel = path.posix.join(sub, `${base}${v}.onnx`);
      if (await isFile(path.join(dir, rel))) return rel;
    }
  }
  return null;
}

/** True when the folder is a Hugging Face CLIP export (a vision_model*.onnx, no model.json). */
export async function isHuggingFaceFolder(dir: string): Promise<boolean> {
  if (await isFile(path.join(dir, MANIFEST_FILE))) return false;
  return (await findOnnx(dir, 'vision_model')) !== null;
}

/** CLIPImageProcessor settings → our preprocessing (resize shortest edge + center crop = 'cover'). */
function preprocessFromHf(cfg: Record<string, unknown> | null): ImagePreprocess {
  const c = cfg ?? {};
  const side = (v: unknown): number | undefined => {
    if (typeof v === 'number') return v;
    const o = v as { height?: number; width?: number; shortest_edge?: number } | undefined;
    return o?.height ?? o?.shortest_edge ?? o?.width;
  };
  const crop = c.do_center_crop === false ? undefined : side(c.crop_size);
  const size = crop ?? side(c.size) ?? 224;
  const squash = c.do_center_crop === false && typeof c.size === 'object' && c.size !== null && 'height' in c.size;
  const mean = Array.isArray(c.image_mean) && c.image_mean.length === 3 ? (c.image_mean as [number, number, number]) : [0.48145466, 0.4578275, 0.40821073];
  const std = Array.isArray(c.image_std) && c.image_std.length === 3 ? (c.image_std as [number, number, number]) : [0.26862954, 0.26130258, 0.27577711];
  const factor = c.do_rescale === false ? 1 : (num(c.rescale_factor) ?? 1 / 255);
  const noNorm = c.do_normalize === false;
  return {
    size,
    resize: squash ? 'squash' : 'cover',
    rescale: 1 / factor,
    mean: noNorm ? [0, 0, 0] : [mean[0], mean[1], mean[2]],
    std: noNorm ? [1, 1, 1] : [std[0], std[1], std[2]],
    layout: 'nchw',
  };
}

/**
 * The text length of an export: the smallest limit it declares — the text model's position embeddings
 * (config.json text_config.max_position_embeddings: longer input cannot run), the tokenizer's
 * model_max_length and its truncation length — ignoring "unset" markers; CLIP's 77 when none is declared.
 * (A text graph with a fixed sequence length still wins when an import inspects it.)
 */
export function hfMaxLength(declared: { positions?: unknown; modelMaxLength?: unknown; truncation?: unknown }): number {
  const limits = [declared.positions, declared.modelMaxLength, declared.truncation]
    .map(num)
    .filter((n): n is number => n !== undefined && Number.isInteger(n) && n >= 2 && n <= MAX_DECLARED_LENGTH);
  return limits.length ? Math.min(...limits) : CLIP_MAX_LENGTH;
}

/** What an export declares, read once for both uses. */
interface HfExport {
  dir: string;
  /** Relative to dir, as found (onnx/vision_model.onnx or a quantized variant). */
  visionRel: string;
  textRel: string;
  visionFile: string;
  textFile: string;
  tokenizerFile: string;
  config: Record<string, unknown> | null;
  preprocess: ImagePreprocess;
  maxLength: number;
  padId: number;
  name: string;
}

async function readHfExport(folder: string): Promise<HfExport> {
  const dir = path.resolve(folder);
  const vision = await findOnnx(dir, 'vision_model');
  const text = await findOnnx(dir, 'text_model');
  const tokenizerFile = path.join(dir, 'tokenizer.json');
  const missing = [!vision && 'onnx/vision_model.onnx', !text && 'onnx/text_model.onnx', !(await isFile(tokenizerFile)) && 'tokenizer.json'].filter(Boolean);
  if (missing.length) {
    throw new AppError('model_error', `${dir} looks like a Hugging Face CLIP export but lacks ${missing.join(', ')}. Download the complete export (with its onnx/ folder and tokenizer.json).`);
  }
  const config = await readJsonIfAny(path.join(dir, 'config.json'));
  const tok = await readTokenizerFiles(tokenizerFile);
  const textCfg = (config?.text_config ?? {}) as Record<string, unknown>;
  return {
    dir,
    visionRel: vision as string,
    textRel: text as string,
    visionFile: path.join(dir, vision as string),
    textFile: path.join(dir, text as string),
    tokenizerFile,
    config,
    preprocess: preprocessFromHf(await readJsonIfAny(path.join(dir, 'preprocessor_config.json'))),
    maxLength: hfMaxLength({ positions: textCfg.max_position_embeddings, modelMaxLength: tok.config.model_max_length, truncation: tok.json.truncation?.max_length }),
    padId: padIdOf(tok),
    name: (typeof config?._name_or_path === 'string' && config._name_or_path) || path.basename(dir),
  };
}

// ---- imported -----------------------------------------------------------------------------------------

export async function planHuggingFace(dir: string, progress: (p: ImportProgress) => void): Promise<ImportPlan> {
  const hf = await readHfExport(dir);
  progress({ stage: 'Checking the image tower', done: 0, total: 2 });
  const image = await inspectImageTower(hf.visionFile, { input: 'pixel_values', output: 'image_embeds', size: hf.preprocess.size });
  const preprocess = { ...hf.preprocess, size: image.size, layout: image.layout };
  progress({ stage: 'Checking the text tower', done: 1, total: 2 });
  const textT = await inspectTextTower(hf.textFile, { inputIds: 'input_ids', output: 'text_embeds', maxLength: hf.maxLength, padId: hf.padId });
  progress({ stage: 'Checked the towers', done: 2, total: 2 });
  const embedDim = alignedDim(dir, image.featureDim, textT.featureDim, 'image_embeds', 'text_embeds');
  return {
    layout: 'huggingface',
    source: dir,
    name: hf.name,
    idName: path.basename(dir),
    description: 'Imported Hugging Face CLIP export (identity adapter heads: zero-shot until retrained).',
    files: [
      ...(await towerFiles(hf.visionFile, 'image')),
      ...(await towerFiles(hf.textFile, 'text')),
      ...(await tokenizerFiles(hf.tokenizerFile)),
      ...(await optionalFiles(dir, ['config.json', 'preprocessor_config.json'], 'source')),
    ],
    manifest: towerManifest({ file: hf.visionFile, tower: image, preprocess }, { file: hf.textFile, tower: textT, padId: hf.padId, outputKind: 'pooled' }, embedDim),
    heads: adapterSpec(embedDim),
  };
}

// ---- loaded in place ----------------------------------------------------------------------------------

/** Output width of a tower: from its declared shape, else by running it once on a dummy input. */
async function probeFeatureDim(file: string, input: string, output: string, feeds: () => Record<string, ort.Tensor>): Promise<number> {
  const session = await createSessionFromFile(file);
  try {
    checkSessionIO(session, file, [input], [output]);
    const shape = outputShape(session, output);
    const last = shape?.[shape.length - 1];
    if (typeof last === 'number' && last > 0) return last;
    const all = feeds();
    const feed: Record<string, ort.Tensor> = {};
    for (const name of session.inputNames) {
      if (!(name in all)) throw new AppError('model_error', `Model file ${file} needs an input "${name}" this app does not provide. Use a CLIP export with pixel_values / input_ids inputs.`);
      feed[name] = all[name];
    }
    const dims = (await session.run(feed))[output].dims;
    return dims[dims.length - 1];
  } finally {
    await session.release();
  }
}

/** A manifest and identity adapter heads (in memory) for an export used where it is. */
export async function readHfInPlace(dir: string): Promise<{ manifest: ModelManifest; heads: Heads }> {
  const hf = await readHfExport(dir);
  const pre = hf.preprocess;
  const projection = num(hf.config?.projection_dim);
  const imageDim =
    projection ??
    (await probeFeatureDim(hf.visionFile, 'pixel_values', 'image_embeds', () => ({
      pixel_values: new ort.Tensor('float32', new Float32Array(3 * pre.size * pre.size), [1, 3, pre.size, pre.size]),
    })));
  const textDim =
    projection ??
    (await probeFeatureDim(hf.textFile, 'input_ids', 'text_embeds', () => ({
      input_ids: new ort.Tensor('int64', new BigInt64Array(hf.maxLength).fill(BigInt(hf.padId)), [1, hf.maxLength]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(hf.maxLength).fill(1n), [1, hf.maxLength]),
    })));
  const embedDim = alignedDim(hf.dir, imageDim, textDim, 'image_embeds', 'text_embeds');
  const stat = await fs.stat(hf.visionFile);
  const manifest: ModelManifest = {
    format: 'photo-search-model',
    formatVersion: 1,
    id: `hf-${path.basename(hf.dir).replace(/[^A-Za-z0-9._-]+/g, '-')}`,
    name: hf.name,
    createdAt: stat.mtime.toISOString(),
    parent: null,
    description: 'Hugging Face CLIP export (zero-shot; identity heads).',
    image: { file: hf.visionRel, input: 'pixel_values', output: 'image_embeds', featureDim: imageDim, preprocess: pre },
    text: {
      file: hf.textRel,
      tokenizer: 'tokenizer.json',
      maxLength: hf.maxLength,
      padId: hf.padId,
      // attention_mask is fed too when the session has one (checked when the tower opens).
      inputs: { inputIds: 'input_ids' },
      output: 'text_embeds',
      outputKind: 'pooled',
      featureDim: textDim,
      idsType: 'int64',
    },
    heads: '',
    embedDim,
    source: 'huggingface',
  };
  return { manifest, heads: initHeads(adapterSpec(embedDim), HEADS_SEED) };
}
