/**
 * Import a pretrained model into `<modelsDir>/<id>` in the one native layout everything downstream reads
 * (model.json + heads.json/.bin + the tower files, hard-linked when possible). Sources:
 *  - a Hugging Face / transformers.js CLIP export folder (onnx/vision_model.onnx, onnx/text_model.onnx, ...);
 *  - an immich CLIP folder (visual/model.onnx, textual/model.onnx, config.json, visual/preprocess_cfg.json);
 *  - a separate encoder pair (the tutorial's ResNet50 + DistilBERT): a folder with image_encoder.onnx,
 *    text_encoder.onnx, tokenizer.json and an optional encoders.json, or the three files given directly;
 *  - `hf:OWNER/NAME[@revision]`: downloaded from the hub (hub.ts), then imported as the Hugging Face layout;
 *  - a native model folder (model.json): copied under a new id.
 * Aligned CLIP towers get identity adapter heads (zero-shot search works at once); an encoder pair gets
 * freshly initialised projection heads that `train` fits.
 *
 * The pipeline: resolve the source → inspect each tower with onnxruntime (names, types, widths, one probe
 * run) → plan the manifest and heads → write a hidden temp folder → rename it into place. A failure or a
 * cancel at any step leaves no model folder behind.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { z } from 'zod';
import { AppError } from '../errors';
import type { HeadsSpec } from '../model/heads-format';
import { initHeads } from '../model/heads';
import { downloadFromHub, HF_CLIP_FILES, parseHubRepo } from './hub';
import { MANIFEST_FILE, parseManifest, preprocessFromHf } from './manifest';
import { type FileCopy, listFolderFiles, writeModelFolder } from './model-folder';
import { newModelId, slug, takenModelIds } from './model-id';
import { createSessionFromFile, ort } from '../model/ort';
import { padIdOf, readTokenizerFiles } from '../model/tokenizer';
import type { ImagePreprocess, ModelManifest } from '../model/types';
import { readRegularFile, readRegularTextFile, UnsafeFileError } from '../fs/safe-read';

export type SourceLayout = 'huggingface' | 'immich' | 'encoder-pair' | 'native';

/** The tutorial's pair given as three files (`models add --image-encoder … --text-encoder … --tokenizer …`). */
export interface EncoderPairSource {
  imageEncoder: string;
  textEncoder: string;
  tokenizer: string;
  /** Overrides, same shape as encoders.json. */
  config?: EncodersConfig;
}

export interface ImportProgress {
  stage: string;
  done: number;
  total: number;
}

export interface ImportOptions {
  /** A folder path, `hf:OWNER/NAME[@revision]`, or an encoder pair. */
  source: string | EncoderPairSource;
  modelsDir: string;
  /** Folder name and model id; default derived from the source (made unique). An explicit id must be free. */
  id?: string;
  /** Display name; default derived from the source. */
  name?: string;
  /** Ids taken elsewhere (e.g. the built-in model), besides the folders in modelsDir. */
  existingIds?: string[];
  /** Seed of freshly initialised heads (default 42). */
  seed?: number;
  onProgress?: (p: ImportProgress) => void;
  signal?: AbortSignal;
  /** Where hf: downloads go (default `<modelsDir>/.cache/hf/OWNER--NAME`; kept until the import succeeds). */
  cacheDir?: string;
  /** Hub endpoint (default PHOTO_SEARCH_HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
}

export interface ImportResult {
  id: string;
  dir: string;
  manifest: ModelManifest;
  layout: SourceLayout;
}

const triple = z.tuple([z.number(), z.number(), z.number()]);

/** encoders.json: everything optional; names default to what the ONNX graphs declare. */
export const encodersConfigSchema = z
  .object({
    image: z
      .object({
        file: z.string().min(1).optional(),
        input: z.string().min(1).optional(),
        output: z.string().min(1).optional(),
        size: z.number().int().min(8).max(4096).optional(),
        resize: z.enum(['cover', 'contain', 'squash']).optional(),
        rescale: z.number().positive().optional(),
        mean: triple.optional(),
        std: triple.optional(),
      })
      .strict()
      .optional(),
    text: z
      .object({
        file: z.string().min(1).optional(),
        tokenizer: z.string().min(1).optional(),
        maxLength: z.number().int().min(2).max(4096).optional(),
        padId: z.number().int().nonnegative().optional(),
        inputIds: z.string().min(1).optional(),
        attentionMask: z.string().min(1).nullable().optional(),
        output: z.string().min(1).optional(),
        outputKind: z.enum(['pooled', 'cls']).optional(),
      })
      .strict()
      .optional(),
    heads: z
      .object({
        embedDim: z.number().int().min(2).max(4096).optional(),
        dropout: z.number().min(0).max(0.9).optional(),
      })
      .strict()
      .optional(),
    name: z.string().min(1).optional(),
  })
  .strict();
export type EncodersConfig = z.infer<typeof encodersConfigSchema>;

/** The tutorial's defaults: ImageNet normalisation at 224 px, 256-d projection heads with dropout 0.1. */
export const PAIR_DEFAULTS = {
  size: 224,
  mean: [0.485, 0.456, 0.406] as [number, number, number],
  std: [0.229, 0.224, 0.225] as [number, number, number],
  maxLength: 64,
  embedDim: 256,
  dropout: 0.1,
};

/** CLIP's trained temperature (logit scale 100); the tutorial's pair starts at temperature 1. */
const CLIP_LOGIT_SCALE = Math.log(100);

// ---- entry point ------------------------------------------------------------------------------------

export async function importModel(o: ImportOptions): Promise<ImportResult> {
  const progress = o.onProgress ?? (() => {});
  const modelsDir = path.resolve(o.modelsDir);
  await fs.mkdir(modelsDir, { recursive: true });

  let source = o.source;
  let hubRepo: string | null = null;
  let cacheDir: string | null = null;
  if (typeof source === 'string' && source.startsWith('hf:')) {
    const { repo, revision } = parseHfSource(source);
    hubRepo = repo;
    cacheDir = o.cacheDir ?? path.join(modelsDir, '.cache', 'hf', repo.replace('/', '--'));
    await downloadFromHub({
      repo,
      revision,
      files: HF_CLIP_FILES,
      destDir: cacheDir,
      endpoint: o.endpoint,
      signal: o.signal,
      onProgress: (p) => progress({ stage: `Downloading ${p.file} (${p.index} of ${p.count})`, done: p.received, total: p.total ?? 0 }),
    });
    source = cacheDir;
  }

  checkAborted(o.signal);
  const plan = await planImport(source, progress);
  if (hubRepo) {
    plan.source = `hf:${hubRepo}`;
    plan.name = hubRepo;
    plan.defaultId = slug(hubRepo.split('/')[1]);
  }
  checkAborted(o.signal);

  const id = newModelId(plan.defaultId, await takenModelIds(modelsDir, o.existingIds), o.id);
  const result = await writePlan(modelsDir, id, plan, o, progress);
  // The download lives on in the model folder (hard links or copies): the cache is no longer needed.
  if (cacheDir && !o.cacheDir) {
    await fs.rm(cacheDir, { recursive: true, force: true });
    // Drop the now-empty .cache/hf and .cache folders (rmdir refuses non-empty ones: other downloads stay).
    for (const d of [path.dirname(cacheDir), path.dirname(path.dirname(cacheDir))]) await fs.rmdir(d).catch(() => {});
  }
  return result;
}

function parseHfSource(source: string): { repo: string; revision: string } {
  const rest = source.slice(3);
  const at = rest.indexOf('@');
  const repo = parseHubRepo(at >= 0 ? rest.slice(0, at) : rest);
  const revision = at >= 0 ? rest.slice(at + 1) : 'main';
  if (!revision || /[\s?#]/.test(revision)) throw new AppError('invalid_input', `"${source}" has an invalid revision after @. Use hf:OWNER/NAME or hf:OWNER/NAME@REVISION.`);
  return { repo, revision };
}

// ---- plans ------------------------------------------------------------------------------------------

/** Everything needed to write the model folder, decided before anything is written. */
interface ImportPlan {
  layout: SourceLayout;
  source: string;
  name: string;
  defaultId: string;
  description: string;
  files: FileCopy[];
  /** Manifest without id / name / createdAt / source (filled at write time); heads null for native copies. */
  manifest: Omit<ModelManifest, 'id' | 'name' | 'createdAt' | 'source'>;
  heads: HeadsSpec | null;
}

/** Detect the layout of a source and inspect its towers. Throws one clear line when it is not a model. */
async function planImport(source: string | EncoderPairSource, progress: (p: ImportProgress) => void): Promise<ImportPlan> {
  if (typeof source !== 'string') return planEncoderPair(source, progress);
  const dir = path.resolve(source);
  const st = await fs.stat(dir).catch(() => null);
  if (!st) throw new AppError('not_found', `${dir} not found. Check the path (or use hf:OWNER/NAME for a model on the Hugging Face hub).`);
  if (st.isFile()) {
    if (path.basename(dir) === 'encoders.json') return planPairFolder(path.dirname(dir), progress);
    throw new AppError(
      'invalid_input',
      `${dir} is a file, not a model folder. Pass the folder, or an image/text encoder pair with --image-encoder, --text-encoder and --tokenizer.`,
    );
  }
  const layout = await detectLayout(dir);
  switch (layout) {
    case 'native':
      return planNative(dir);
    case 'huggingface':
      return planHuggingFace(dir, progress);
    case 'immich':
      return planImmich(dir, progress);
    case 'encoder-pair':
      return planPairFolder(dir, progress);
    default:
      throw new AppError(
        'model_error',
        `${dir} is not a model folder: expected onnx/vision_model.onnx (Hugging Face layout), visual/model.onnx (immich layout), image_encoder.onnx + text_encoder.onnx + tokenizer.json (encoder pair) or model.json.`,
      );
  }
}

/** Which layout a folder is in, or null. */
export async function detectLayout(dir: string): Promise<SourceLayout | null> {
  if (await isFile(path.join(dir, MANIFEST_FILE))) return 'native';
  if (await findHfOnnx(dir, 'vision_model')) return 'huggingface';
  if (await isFile(path.join(dir, 'visual', 'model.onnx'))) return 'immich';
  if ((await isFile(path.join(dir, 'encoders.json'))) || (await isFile(path.join(dir, 'image_encoder.onnx')))) return 'encoder-pair';
  return null;
}

// Plain export first, then the quantized variants transformers.js publishes (fp16 would need float16 inputs).
const HF_VARIANTS = ['', '_quantized', '_int8', '_uint8', '_q8', '_q4'];

async function findHfOnnx(dir: string, base: string): Promise<string | null> {
  for (const sub of ['onnx', '']) {
    for (const v of HF_VARIANTS) {
      const rel = path.posix.join(sub, `${base}${v}.onnx`);
      if (await isFile(path.join(dir, rel))) return rel;
    }
  }
  return null;
}

async function planHuggingFace(dir: string, progress: (p: ImportProgress) => void): Promise<ImportPlan> {
  const vision = await findHfOnnx(dir, 'vision_model');
  const text = await findHfOnnx(dir, 'text_model');
  const missing = [
    !vision && 'onnx/vision_model.onnx',
    !text && 'onnx/text_model.onnx',
    !(await isFile(path.join(dir, 'tokenizer.json'))) && 'tokenizer.json',
  ].filter(Boolean);
  if (missing.length) {
    throw new AppError('model_error', `${dir} looks like a Hugging Face CLIP export but lacks ${missing.join(', ')}. Download the complete export (with its onnx/ folder and tokenizer.json).`);
  }
  const visionFile = path.join(dir, vision as string);
  const textFile = path.join(dir, text as string);
  const config = await readJsonIfAny(path.join(dir, 'config.json'));
  let pre = preprocessFromHf(await readJsonIfAny(path.join(dir, 'preprocessor_config.json')));
  const tok = await readTokenizerFiles(path.join(dir, 'tokenizer.json'));
  const textCfg = (config?.text_config ?? {}) as Record<string, unknown>;
  const declaredMax = num(textCfg.max_position_embeddings) ?? num(tok.config.model_max_length) ?? num(tok.json.truncation?.max_length);
  const maxLength = declaredMax && declaredMax <= 512 ? declaredMax : 77;
  const padId = padIdOf(tok);

  progress({ stage: 'Checking the image tower', done: 0, total: 2 });
  const image = await inspectImageTower(visionFile, { input: 'pixel_values', output: 'image_embeds', size: pre.size });
  pre = { ...pre, size: image.size, layout: image.layout };
  progress({ stage: 'Checking the text tower', done: 1, total: 2 });
  const textT = await inspectTextTower(textFile, { inputIds: 'input_ids', output: 'text_embeds', maxLength, padId });
  progress({ stage: 'Checked the towers', done: 2, total: 2 });
  const embedDim = alignedDim(dir, image.featureDim, textT.featureDim, 'image_embeds', 'text_embeds');

  const files: FileCopy[] = [
    ...(await towerFiles(visionFile, 'image')),
    ...(await towerFiles(textFile, 'text')),
    ...(await tokenizerFiles(path.join(dir, 'tokenizer.json'))),
    ...(await optionalFiles(dir, ['config.json', 'preprocessor_config.json'], 'source')),
  ];
  return {
    layout: 'huggingface',
    source: dir,
    name: (typeof config?._name_or_path === 'string' && config._name_or_path) || path.basename(dir),
    defaultId: slug(path.basename(dir)),
    description: 'Imported Hugging Face CLIP export (identity adapter heads: zero-shot until retrained).',
    files,
    manifest: towerManifest({ file: visionFile, tower: image, preprocess: pre }, { file: textFile, tower: textT, padId, outputKind: 'pooled' }, embedDim),
    heads: adapterSpec(embedDim),
  };
}

async function planImmich(dir: string, progress: (p: ImportProgress) => void): Promise<ImportPlan> {
  const visualFile = path.join(dir, 'visual', 'model.onnx');
  const textualFile = path.join(dir, 'textual', 'model.onnx');
  const tokenizerFile = path.join(dir, 'textual', 'tokenizer.json');
  const missing = [
    !(await isFile(textualFile)) && 'textual/model.onnx',
    !(await isFile(tokenizerFile)) && 'textual/tokenizer.json',
    !(await isFile(path.join(dir, 'visual', 'preprocess_cfg.json'))) && 'visual/preprocess_cfg.json',
  ].filter(Boolean);
  if (missing.length) {
    throw new AppError('model_error', `${dir} looks like an immich CLIP model but lacks ${missing.join(', ')}. Copy the whole model folder from immich's model cache.`);
  }
  const config = (await readJsonIfAny(path.join(dir, 'config.json'))) ?? {};
  const pc = (await readJsonIfAny(path.join(dir, 'visual', 'preprocess_cfg.json'))) ?? {};
  const visionCfg = (config.vision_cfg ?? {}) as Record<string, unknown>;
  const textCfg = (config.text_cfg ?? {}) as Record<string, unknown>;
  const sizeOf = (v: unknown) => (Array.isArray(v) ? num(v[0]) : num(v));
  const resizeMode = typeof pc.resize_mode === 'string' ? pc.resize_mode : 'shortest';
  if (resizeMode !== 'shortest' && resizeMode !== 'squash') {
    throw new AppError('unsupported', `${path.join(dir, 'visual', 'preprocess_cfg.json')}: resize_mode "${resizeMode}" is not supported (only shortest and squash).`);
  }
  const tok = await readTokenizerFiles(tokenizerFile);
  const padId = padIdOf(tok);
  const maxLength = num(textCfg.context_length) ?? 77;

  progress({ stage: 'Checking the image tower', done: 0, total: 2 });
  const image = await inspectImageTower(visualFile, { size: sizeOf(pc.size) ?? sizeOf(visionCfg.image_size) ?? 224 });
  progress({ stage: 'Checking the text tower', done: 1, total: 2 });
  // immich's OpenCLIP text graphs take one int32 `text` input; its multilingual ones input_ids + attention_mask.
  const textT = await inspectTextTower(textualFile, { maxLength, padId });
  progress({ stage: 'Checked the towers', done: 2, total: 2 });
  const embedDim = alignedDim(dir, image.featureDim, textT.featureDim, 'visual', 'textual');
  const declared = num(config.embed_dim);
  if (declared && declared !== embedDim) {
    throw new AppError('model_error', `${path.join(dir, 'config.json')} says embed_dim ${declared} but the towers output ${embedDim} values. The folder mixes two models: copy it again from immich.`);
  }
  const preprocess: ImagePreprocess = {
    size: image.size,
    resize: resizeMode === 'squash' ? 'squash' : 'cover',
    rescale: 255,
    mean: triple3(pc.mean) ?? [0.48145466, 0.4578275, 0.40821073],
    std: triple3(pc.std) ?? [0.26862954, 0.26130258, 0.27577711],
    layout: image.layout,
  };
  const files: FileCopy[] = [
    ...(await towerFiles(visualFile, 'image')),
    ...(await towerFiles(textualFile, 'text')),
    ...(await tokenizerFiles(tokenizerFile)),
    ...(await optionalFiles(dir, ['config.json', 'visual/preprocess_cfg.json'], 'source')),
  ];
  const base = path.basename(dir);
  return {
    layout: 'immich',
    source: dir,
    name: base,
    defaultId: slug(base),
    description: 'Imported immich CLIP model (identity adapter heads: zero-shot until retrained).',
    files,
    manifest: towerManifest({ file: visualFile, tower: image, preprocess }, { file: textualFile, tower: textT, padId, outputKind: 'pooled' }, embedDim),
    heads: adapterSpec(embedDim),
  };
}

async function planPairFolder(dir: string, progress: (p: ImportProgress) => void): Promise<ImportPlan> {
  const cfgFile = path.join(dir, 'encoders.json');
  let config: EncodersConfig = {};
  if (await isFile(cfgFile)) config = await readEncodersConfig(cfgFile);
  const rel = (p: string | undefined, dflt: string) => path.resolve(dir, p ?? dflt);
  return planEncoderPair(
    {
      imageEncoder: rel(config.image?.file, 'image_encoder.onnx'),
      textEncoder: rel(config.text?.file, 'text_encoder.onnx'),
      tokenizer: rel(config.text?.tokenizer, 'tokenizer.json'),
      config,
    },
    progress,
    dir,
  );
}

export async function readEncodersConfig(file: string): Promise<EncodersConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await readRegularTextFile(file));
  } catch (e) {
    if (e instanceof UnsafeFileError) throw new AppError('model_error', `${e.message} Use a regular encoders.json file.`);
    throw new AppError('model_error', `${file} is not valid JSON (${firstLine(e)}). Fix the file.`);
  }
  const r = encodersConfigSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new AppError('model_error', `${file}: ${i.path.join('.') || '(root)'}: ${i.message}. Fix the file (see the README for encoders.json).`);
  }
  return r.data;
}

async function planEncoderPair(src: EncoderPairSource, progress: (p: ImportProgress) => void, folder?: string): Promise<ImportPlan> {
  const c = src.config ?? {};
  const imageFile = path.resolve(src.imageEncoder);
  const textFile = path.resolve(src.textEncoder);
  const tokenizerFile = path.resolve(src.tokenizer);
  const missing = [
    !(await isFile(imageFile)) && imageFile,
    !(await isFile(textFile)) && textFile,
    !(await isFile(tokenizerFile)) && tokenizerFile,
  ].filter(Boolean);
  if (missing.length) {
    throw new AppError('not_found', `Encoder pair incomplete: ${missing.join(', ')} not found. An encoder pair needs an image encoder ONNX, a text encoder ONNX and a tokenizer.json.`);
  }
  const tok = await readTokenizerFiles(tokenizerFile);
  const padId = c.text?.padId ?? padIdOf(tok);
  const declaredMax = num(tok.json.truncation?.max_length);
  const maxLength = c.text?.maxLength ?? Math.min(declaredMax ?? PAIR_DEFAULTS.maxLength, PAIR_DEFAULTS.maxLength);

  progress({ stage: 'Checking the image encoder', done: 0, total: 2 });
  const image = await inspectImageTower(imageFile, { input: c.image?.input, output: c.image?.output, size: c.image?.size ?? PAIR_DEFAULTS.size, strictSize: c.image?.size !== undefined });
  progress({ stage: 'Checking the text encoder', done: 1, total: 2 });
  const textT = await inspectTextTower(textFile, {
    inputIds: c.text?.inputIds,
    attentionMask: c.text?.attentionMask,
    output: c.text?.output,
    maxLength,
    padId,
    outputKind: c.text?.outputKind,
  });
  progress({ stage: 'Checked the encoders', done: 2, total: 2 });

  const embedDim = c.heads?.embedDim ?? PAIR_DEFAULTS.embedDim;
  const files: FileCopy[] = [
    ...(await towerFiles(imageFile, 'image')),
    ...(await towerFiles(textFile, 'text')),
    ...(await tokenizerFiles(tokenizerFile)),
  ];
  const stem = (f: string) => path.basename(f, '.onnx');
  const name = c.name ?? (folder ? path.basename(folder) : `${stem(imageFile)} + ${stem(textFile)}`);
  return {
    layout: 'encoder-pair',
    source: folder ?? imageFile,
    name,
    defaultId: slug(folder ? path.basename(folder) : `${stem(imageFile)}-${stem(textFile)}`),
    description: 'Imported image/text encoder pair with untrained projection heads: train it on a captioned set before searching.',
    files,
    manifest: towerManifest(
      {
        file: imageFile,
        tower: image,
        preprocess: {
          size: image.size,
          resize: c.image?.resize ?? 'cover',
          rescale: c.image?.rescale ?? 255,
          mean: c.image?.mean ?? PAIR_DEFAULTS.mean,
          std: c.image?.std ?? PAIR_DEFAULTS.std,
          layout: image.layout,
        },
      },
      { file: textFile, tower: textT, padId, outputKind: textT.outputKind },
      embedDim,
    ),
    heads: {
      kind: 'projection',
      embedDim,
      dropout: c.heads?.dropout ?? PAIR_DEFAULTS.dropout,
      imageInDim: image.featureDim,
      textInDim: textT.featureDim,
      textPool: 'none',
      textTokenMlp: null,
      logitScale: 0,
    },
  };
}

/** A native model folder (exported or trained elsewhere): every file copied, the id rewritten. */
async function planNative(dir: string): Promise<ImportPlan> {
  let manifest: ModelManifest;
  try {
    manifest = parseManifest(JSON.parse(await readRegularTextFile(path.join(dir, MANIFEST_FILE))), path.join(dir, MANIFEST_FILE));
  } catch (e) {
    throw new AppError('model_error', firstLine(e));
  }
  const files: FileCopy[] = [];
  for (const rel of await listFolderFiles(dir)) {
    if (rel !== MANIFEST_FILE) files.push({ from: path.join(dir, rel), to: rel });
  }
  for (const needed of [manifest.image.file, manifest.text.file, manifest.text.tokenizer, manifest.heads]) {
    if (!needed || path.isAbsolute(needed) || !(await isFile(path.join(dir, needed)))) {
      throw new AppError('model_error', `${dir}: model.json names ${needed || '(no heads file)'}, which is not a file inside the folder. Re-export the model folder complete.`);
    }
  }
  const { id: _id, name, createdAt: _c, source: _s, ...rest } = manifest;
  void _id;
  void _c;
  void _s;
  return {
    layout: 'native',
    source: dir,
    name,
    defaultId: slug(manifest.id),
    description: manifest.description ?? 'Imported model folder.',
    files,
    manifest: rest,
    heads: null,
  };
}

// ---- tower inspection -------------------------------------------------------------------------------

interface ImageTowerInfo {
  input: string;
  output: string;
  featureDim: number;
  size: number;
  layout: 'nchw' | 'nhwc';
}

interface TextTowerInfo {
  inputs: { inputIds: string; attentionMask?: string };
  output: string;
  featureDim: number;
  maxLength: number;
  idsType: 'int64' | 'int32';
  outputKind: 'pooled' | 'cls';
}

type Meta = ort.InferenceSession.ValueMetadata;
type TensorMeta = Extract<Meta, { isTensor: true }>;

function tensorMeta(list: readonly Meta[], name: string): TensorMeta | null {
  const m = list.find((x) => x.name === name);
  return m && m.isTensor ? m : null;
}

/** Pick a name: the configured one (must exist), else the first preferred one present, else the only one. */
function pickName(file: string, what: 'input' | 'output', names: readonly string[], configured: string | undefined, preferred: string[]): string {
  if (configured) {
    if (!names.includes(configured)) {
      throw new AppError('model_error', `${file} has no ${what} named "${configured}" (it has: ${names.join(', ')}). Fix the name in encoders.json.`);
    }
    return configured;
  }
  const hit = preferred.find((p) => names.includes(p));
  if (hit) return hit;
  if (names.length === 1) return names[0];
  throw new AppError('model_error', `${file} has several ${what}s (${names.join(', ')}) and none is a known name. Name the right one in encoders.json.`);
}

async function openTower(file: string): Promise<ort.InferenceSession> {
  try {
    return await createSessionFromFile(file);
  } catch (e) {
    throw new AppError('model_error', firstLine(e));
  }
}

/** Image tower: input [b,3,S,S] (or NHWC) float32 → one flat feature vector per image; probed once. */
async function inspectImageTower(
  file: string,
  want: { input?: string; output?: string; size: number; strictSize?: boolean },
): Promise<ImageTowerInfo> {
  const session = await openTower(file);
  try {
    const floatInputs = session.inputNames.filter((n) => tensorMeta(session.inputMetadata, n)?.type === 'float32');
    const input = pickName(file, 'input', floatInputs.length ? floatInputs : session.inputNames, want.input, ['pixel_values', 'image', 'input', 'images']);
    const output = pickName(file, 'output', session.outputNames, want.output, ['image_embeds', 'embedding', 'pooler_output', 'pooled', 'features', 'output']);
    if (session.inputNames.length !== 1) {
      throw new AppError('unsupported', `${file} takes several inputs (${session.inputNames.join(', ')}); an image tower must take one image tensor.`);
    }
    const meta = tensorMeta(session.inputMetadata, input);
    if (meta && meta.type !== 'float32') {
      throw new AppError('unsupported', `${file}: input "${input}" is ${meta.type}, but image towers must take float32 pixels (export the model without built-in normalisation).`);
    }
    const shape = meta?.shape ?? [];
    let layout: 'nchw' | 'nhwc' = 'nchw';
    let size = want.size;
    if (shape.length === 4) {
      if (shape[3] === 3 && shape[1] !== 3) layout = 'nhwc';
      const h = layout === 'nchw' ? shape[2] : shape[1];
      if (typeof h === 'number' && h > 0) {
        if (want.strictSize && h !== want.size) {
          throw new AppError('model_error', `${file} takes ${h}×${h} images but encoders.json says size ${want.size}. Fix the size.`);
        }
        size = h; // the graph's own size wins over a config that disagrees
      }
    } else if (shape.length !== 0) {
      throw new AppError('unsupported', `${file}: input "${input}" has ${shape.length} dimensions; an image tower takes [batch, 3, size, size].`);
    }
    const dims = layout === 'nchw' ? [1, 3, size, size] : [1, size, size, 3];
    const out = await probe(session, file, { [input]: new ort.Tensor('float32', new Float32Array(3 * size * size), dims) }, output);
    const featureDim = out.dims.slice(1).reduce((a, b) => a * b, 1);
    if (out.dims[0] !== 1 || featureDim < 1) {
      throw new AppError('model_error', `${file}: output "${output}" has shape [${out.dims.join(', ')}] for one image; expected [1, features].`);
    }
    return { input, output, featureDim, size, layout };
  } finally {
    await session.release();
  }
}

/** Text tower: ids (+ mask) → [b, D] pooled or [b, L, D] hidden states (take [CLS]); probed once. */
async function inspectTextTower(
  file: string,
  want: { inputIds?: string; attentionMask?: string | null; output?: string; maxLength: number; padId: number; outputKind?: 'pooled' | 'cls' },
): Promise<TextTowerInfo> {
  const session = await openTower(file);
  try {
    const names = session.inputNames;
    const inputIds = pickName(file, 'input', names, want.inputIds, ['input_ids', 'text', 'input']);
    let attentionMask: string | undefined;
    if (want.attentionMask) attentionMask = pickName(file, 'input', names, want.attentionMask, []);
    else if (want.attentionMask === undefined && names.includes('attention_mask')) attentionMask = 'attention_mask';
    const others = names.filter((n) => n !== inputIds && n !== attentionMask);
    if (others.length) {
      throw new AppError('unsupported', `${file} needs inputs this app does not provide (${others.join(', ')}); a text tower takes input_ids and optionally attention_mask.`);
    }
    const meta = tensorMeta(session.inputMetadata, inputIds);
    const idsType = meta?.type === 'int32' ? 'int32' : meta?.type === 'int64' || !meta ? 'int64' : null;
    if (!idsType) throw new AppError('unsupported', `${file}: input "${inputIds}" is ${meta?.type}; token ids must be int64 or int32.`);
    // A graph exported with a fixed sequence length (immich's OpenCLIP: 77) dictates the padding length.
    const seq = meta?.shape[1];
    const maxLength = typeof seq === 'number' && seq > 0 ? seq : want.maxLength;
    const output = pickName(file, 'output', session.outputNames, want.output, ['text_embeds', 'embedding', 'last_hidden_state', 'pooler_output', 'output']);

    const n = maxLength;
    const ids = idsType === 'int64' ? new BigInt64Array(n).fill(BigInt(want.padId)) : new Int32Array(n).fill(want.padId);
    const mask = idsType === 'int64' ? new BigInt64Array(n).fill(1n) : new Int32Array(n).fill(1);
    const feeds: Record<string, ort.Tensor> = { [inputIds]: new ort.Tensor(idsType, ids, [1, n]) };
    if (attentionMask) feeds[attentionMask] = new ort.Tensor(idsType, mask, [1, n]);
    const out = await probe(session, file, feeds, output);
    let outputKind: 'pooled' | 'cls';
    if (out.dims.length === 2) outputKind = 'pooled';
    else if (out.dims.length === 3 && out.dims[1] === n) outputKind = 'cls';
    else throw new AppError('model_error', `${file}: output "${output}" has shape [${out.dims.join(', ')}]; expected [1, features] or [1, ${n}, hidden].`);
    if (want.outputKind && want.outputKind !== outputKind) {
      throw new AppError('model_error', `${file}: encoders.json says outputKind "${want.outputKind}" but output "${output}" has shape [${out.dims.join(', ')}]. Fix outputKind.`);
    }
    return {
      inputs: attentionMask ? { inputIds, attentionMask } : { inputIds },
      output,
      featureDim: out.dims[out.dims.length - 1],
      maxLength,
      idsType,
      outputKind,
    };
  } finally {
    await session.release();
  }
}

async function probe(session: ort.InferenceSession, file: string, feeds: Record<string, ort.Tensor>, output: string): Promise<ort.Tensor> {
  try {
    const r = await session.run(feeds, [output]);
    return r[output];
  } catch (e) {
    throw new AppError('model_error', `${file} failed on a test input (${firstLine(e)}). It does not take the input this app feeds; check encoders.json or the export.`);
  }
}

function alignedDim(dir: string, image: number, text: number, imageName: string, textName: string): number {
  if (image !== text) {
    throw new AppError(
      'model_error',
      `${dir}: ${imageName} has ${image} values but ${textName} has ${text}: the towers are not one aligned CLIP model. Use towers from the same export, or import them as an encoder pair (encoders.json) and train.`,
    );
  }
  return image;
}

function adapterSpec(dim: number): HeadsSpec {
  return { kind: 'adapter', embedDim: dim, dropout: 0.1, imageInDim: dim, textInDim: dim, textPool: 'none', textTokenMlp: null, logitScale: CLIP_LOGIT_SCALE };
}

/**
 * The manifest of an imported two-tower model. Tower paths are the source files' names under image/ and text/,
 * where towerFiles copies them; outputKind is the caller's (the CLIP layouts always declare pooled).
 */
function towerManifest(
  image: { file: string; tower: ImageTowerInfo; preprocess: ImagePreprocess },
  text: { file: string; tower: TextTowerInfo; padId: number; outputKind: 'pooled' | 'cls' },
  embedDim: number,
): ImportPlan['manifest'] {
  const t = text.tower;
  return {
    format: 'photo-search-model',
    formatVersion: 1,
    parent: null,
    image: { file: `image/${path.basename(image.file)}`, input: image.tower.input, output: image.tower.output, featureDim: image.tower.featureDim, preprocess: image.preprocess },
    text: {
      file: `text/${path.basename(text.file)}`,
      tokenizer: 'text/tokenizer.json',
      maxLength: t.maxLength,
      padId: text.padId,
      inputs: t.inputs,
      output: t.output,
      outputKind: text.outputKind,
      featureDim: t.featureDim,
      idsType: t.idsType,
    },
    heads: 'heads.json',
    embedDim,
  };
}

// ---- files ------------------------------------------------------------------------------------------

/** An ONNX file and its external-data files (kept beside it: the graph names them relative to itself). */
async function towerFiles(file: string, sub: string): Promise<FileCopy[]> {
  const out: FileCopy[] = [{ from: file, to: `${sub}/${path.basename(file)}` }];
  for (const loc of await externalDataLocations(file)) {
    out.push({ from: path.join(path.dirname(file), loc), to: `${sub}/${loc}` });
  }
  return out;
}

/**
 * External-data file names an ONNX graph refers to. Graphs with external data are small (the weights live
 * outside), so only files under 64 MB are parsed; a large file holds its weights itself.
 */
async function externalDataLocations(file: string): Promise<string[]> {
  const st = await fs.stat(file);
  if (!st.isFile() || st.size > 64 * 1024 * 1024) return [];
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(await readRegularFile(file, 64 * 1024 * 1024));
  } catch {
    return []; // onnxruntime already accepted it; an exotic encoding just means no external data found
  }
  const locations = new Set<string>();
  for (const t of model.graph?.initializer ?? []) {
    for (const kv of t.externalData ?? []) {
      if (kv.key === 'location' && kv.value) {
        const norm = path.posix.normalize(kv.value.replace(/\\/g, '/'));
        if (norm.startsWith('..') || path.posix.isAbsolute(norm)) {
          throw new AppError('unsupported', `${file} keeps its weights outside its folder (${kv.value}). Move them next to the ONNX file.`);
        }
        locations.add(norm);
      }
    }
  }
  for (const loc of locations) {
    if (!(await isFile(path.join(path.dirname(file), loc)))) {
      throw new AppError('model_error', `${file} needs its weights file ${loc}, which is missing next to it. Download it too.`);
    }
  }
  return [...locations];
}

/** tokenizer.json and, when present, tokenizer_config.json (pad token, max length) next to it. */
async function tokenizerFiles(file: string): Promise<FileCopy[]> {
  const out: FileCopy[] = [{ from: file, to: 'text/tokenizer.json' }];
  const cfg = path.join(path.dirname(file), 'tokenizer_config.json');
  if (await isFile(cfg)) out.push({ from: cfg, to: 'text/tokenizer_config.json' });
  return out;
}

/** Provenance copies of the source's small config files. */
async function optionalFiles(dir: string, rels: string[], sub: string): Promise<FileCopy[]> {
  const out: FileCopy[] = [];
  for (const rel of rels) {
    if (await isFile(path.join(dir, rel))) out.push({ from: path.join(dir, rel), to: `${sub}/${rel}` });
  }
  return out;
}

// ---- writing ----------------------------------------------------------------------------------------

async function writePlan(modelsDir: string, id: string, plan: ImportPlan, o: ImportOptions, progress: (p: ImportProgress) => void): Promise<ImportResult> {
  const manifest: ModelManifest = {
    ...plan.manifest,
    id,
    name: o.name ?? plan.name,
    createdAt: new Date().toISOString(),
    description: plan.description,
    source: plan.source,
  };
  let bytes = 0;
  try {
    const written = await writeModelFolder({
      modelsDir,
      manifest,
      files: plan.files,
      heads: plan.heads ? initHeads(plan.heads, o.seed ?? 42) : null,
      onStage: (stage) => {
        checkAborted(o.signal);
        if (stage === 'heads') progress({ stage: 'Writing the manifest', done: bytes, total: bytes });
      },
      onProgress: (done, total) => {
        bytes = total;
        progress({ stage: 'Copying model files', done, total });
      },
    });
    return { ...written, layout: plan.layout };
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError('model_error', `Import into ${modelsDir} failed: ${firstLine(e)}.`, { cause: e });
  }
}

// ---- small helpers ----------------------------------------------------------------------------------

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AppError('cancelled', 'Import cancelled.');
}

async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function readJsonIfAny(file: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await readRegularTextFile(file);
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new AppError('model_error', `${file} is not valid JSON (${firstLine(e)}). Re-download or fix it.`);
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function triple3(v: unknown): [number, number, number] | undefined {
  return Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number') ? [v[0], v[1], v[2]] : undefined;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].slice(0, 300);
}
