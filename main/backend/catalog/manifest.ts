/**
 * model.json: its schema, reading it with clear errors, and a manifest synthesized for a Hugging Face /
 * transformers.js CLIP export folder so such a folder loads as a model without conversion.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Heads } from '../model/heads-format';
import { initHeads } from '../model/heads';
import { checkSessionIO, createSessionFromFile, ort, outputShape } from '../model/ort';
import { padIdOf, readTokenizerFiles } from '../model/tokenizer';
import type { ImagePreprocess, ModelManifest } from '../model/types';
import { readRegularTextFile, UnsafeFileError } from '../fs/safe-read';

const triple = z.tuple([z.number(), z.number(), z.number()]);
const relFile = z.string().min(1, 'a file name is required');

export const imagePreprocessSchema = z.object({
  size: z.number().int().min(1).max(4096),
  resize: z.enum(['cover', 'contain', 'squash']),
  rescale: z.number().positive(),
  mean: triple,
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  layout: z.enum(['nchw', 'nhwc']),
});

export const manifestSchema = z.object({
  format: z.literal('photo-search-model'),
  formatVersion: z.literal(1),
  id: z.string().min(1).max(200),
  name: z.string().min(1),
  createdAt: z.string(),
  parent: z.string().nullable(),
  description: z.string().optional(),
  image: z.object({
    file: relFile,
    input: z.string().min(1),
    output: z.string().min(1),
    featureDim: z.number().int().positive(),
    preprocess: imagePreprocessSchema,
  }),
  text: z.object({
    file: relFile,
    tokenizer: relFile,
    maxLength: z.number().int().min(1).max(4096),
    padId: z.number().int().nonnegative(),
    inputs: z.object({ inputIds: z.string().min(1), attentionMask: z.string().min(1).optional() }),
    output: z.string().min(1),
    outputKind: z.enum(['pooled', 'cls', 'sequence']),
    maskOutput: z.string().min(1).optional(),
    knownWords: relFile.optional(),
    featureDim: z.number().int().positive(),
    idsType: z.enum(['int64', 'int32']),
  }),
  // Empty only for synthesized (Hugging Face) manifests, whose identity heads live in memory.
  heads: z.string(),
  embedDim: z.number().int().positive(),
  training: z
    .object({
      dataset: z.string().optional(),
      options: z.record(z.string(), z.unknown()).optional(),
      metrics: z.record(z.string(), z.unknown()).optional(),
      trainSeconds: z.number().optional(),
      backend: z.string().optional(),
    })
    .optional(),
  source: z.string().optional(),
});

// Keeps the schema and the contract type in step: a compile error here means they drifted.
const _schemaMatchesType: ModelManifest = {} as z.infer<typeof manifestSchema>;
void _schemaMatchesType;

export const MANIFEST_FILE = 'model.json';

/** A model folder resolved to a manifest; `heads` is set when they are synthesized in memory (HF folders). */
export interface ResolvedModel {
  dir: string;
  manifest: ModelManifest;
  layout: 'native' | 'huggingface';
  heads: Heads | null;
}

/** One-line description of the first few schema problems. */
function issues(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

export function parseManifest(json: unknown, file = MANIFEST_FILE): ModelManifest {
  const r = manifestSchema.safeParse(json);
  if (!r.success) throw new Error(`Model manifest ${file} is invalid (${issues(r.error)}). Fix the file or re-install the model.`);
  return r.data;
}

/** Read `<dir>/model.json`. */
export async function readManifest(dir: string): Promise<ModelManifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readRegularTextFile(file);
  } catch (e) {
    if (e instanceof UnsafeFileError) throw new Error(`Model manifest ${e.message} Replace it with the model's model.json file.`, { cause: e });
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`Model folder ${dir} has no model.json and is not a Hugging Face CLIP export (onnx/vision_model.onnx, onnx/text_model.onnx, tokenizer.json). Choose a model folder, or add one with "photo-search models add".`, { cause: e });
    }
    throw new Error(`Cannot read ${file} (${(e as Error).message}). Check the folder's permissions.`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`Model manifest ${file} is not valid JSON (${(e as Error).message}). Fix the file or re-install the model.`, { cause: e });
  }
  return parseManifest(json, file);
}

/** Write model.json atomically (temp file + rename), so a crash never leaves half a manifest. */
export async function writeManifest(dir: string, manifest: ModelManifest): Promise<void> {
  const m = parseManifest(manifest);
  const file = path.join(dir, MANIFEST_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(m, null, 2) + '\n');
  await fs.rename(tmp, file);
}

// ---- Hugging Face / transformers.js CLIP export ------------------------------------------------------

// Plain export first, then the quantized variants transformers.js publishes (fp16 needs float16 inputs: not used).
const VARIANTS = ['', '_quantized', '_int8', '_uint8', '_q8', '_q4'];

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function findOnnx(dir: string, base: string): Promise<string | null> {
  for (const sub of ['onnx', '.']) {
    for (const v of VARIANTS) {
      const rel = path.posix.join(sub === '.' ? '' : sub, `${base}${v}.onnx`);
      if (await exists(path.join(dir, rel))) return rel;
    }
  }
  return null;
}

async function readJson(file: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await readRegularTextFile(file)) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** True when the folder looks like a Hugging Face CLIP export (no model.json, a vision_model*.onnx). */
export async function isHuggingFaceFolder(dir: string): Promise<boolean> {
  if (await exists(path.join(dir, MANIFEST_FILE))) return false;
  return (await findOnnx(dir, 'vision_model')) !== null;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** CLIPImageProcessor settings → our preprocessing (resize shortest edge + center crop = 'cover'). */
export function preprocessFromHf(cfg: Record<string, unknown> | null): ImagePreprocess {
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
      if (!(name in all)) throw new Error(`Model file ${file} needs an input "${name}" this app does not provide. Use a CLIP export with pixel_values / input_ids inputs.`);
      feed[name] = all[name];
    }
    const dims = (await session.run(feed))[output].dims;
    return dims[dims.length - 1];
  } finally {
    await session.release();
  }
}

/** Build a manifest (and identity adapter heads) for a Hugging Face CLIP export folder. */
export async function synthesizeHfManifest(dir: string): Promise<ResolvedModel> {
  const vision = await findOnnx(dir, 'vision_model');
  const text = await findOnnx(dir, 'text_model');
  const missing: string[] = [];
  if (!vision) missing.push('onnx/vision_model.onnx');
  if (!text) missing.push('onnx/text_model.onnx');
  if (!(await exists(path.join(dir, 'tokenizer.json')))) missing.push('tokenizer.json');
  if (missing.length) {
    throw new Error(`Model folder ${dir} looks like a Hugging Face CLIP export but lacks ${missing.join(', ')}. Download the complete export (with its onnx/ folder).`);
  }
  const pre = preprocessFromHf(await readJson(path.join(dir, 'preprocessor_config.json')));
  const tok = await readTokenizerFiles(path.join(dir, 'tokenizer.json'));
  const padId = padIdOf(tok);
  const cfgMax = num(tok.config.model_max_length) ?? num(tok.json.truncation?.max_length);
  const maxLength = cfgMax && cfgMax <= 512 ? cfgMax : 77;
  const config = await readJson(path.join(dir, 'config.json'));
  const projection = num(config?.projection_dim);

  const visionFile = path.join(dir, vision as string);
  const textFile = path.join(dir, text as string);
  // config.json's projection_dim gives the width without opening the towers (they open lazily, and the
  // model checks their input/output names then); without it, open each once to read the width.
  const imageDim =
    projection ??
    (await probeFeatureDim(visionFile, 'pixel_values', 'image_embeds', () => ({
      pixel_values: new ort.Tensor('float32', new Float32Array(3 * pre.size * pre.size), [1, 3, pre.size, pre.size]),
    })));
  const textDim =
    projection ??
    (await probeFeatureDim(textFile, 'input_ids', 'text_embeds', () => ({
      input_ids: new ort.Tensor('int64', new BigInt64Array(maxLength).fill(BigInt(padId)), [1, maxLength]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(maxLength).fill(1n), [1, maxLength]),
    })));
  if (imageDim !== textDim) {
    throw new Error(`Model folder ${dir}: image_embeds has ${imageDim} values but text_embeds has ${textDim}. Both towers must come from the same CLIP model.`);
  }
  const stat = await fs.stat(visionFile);
  const name = (typeof config?._name_or_path === 'string' && config._name_or_path) || path.basename(path.resolve(dir));
  const manifest: ModelManifest = {
    format: 'photo-search-model',
    formatVersion: 1,
    id: `hf-${path.basename(path.resolve(dir)).replace(/[^A-Za-z0-9._-]+/g, '-')}`,
    name,
    createdAt: stat.mtime.toISOString(),
    parent: null,
    description: 'Hugging Face CLIP export (zero-shot; identity heads).',
    image: { file: vision as string, input: 'pixel_values', output: 'image_embeds', featureDim: imageDim, preprocess: pre },
    text: {
      file: text as string,
      tokenizer: 'tokenizer.json',
      maxLength,
      padId,
      // attention_mask is fed too when the session has one (checked when the tower opens).
      inputs: { inputIds: 'input_ids' },
      output: 'text_embeds',
      outputKind: 'pooled',
      featureDim: textDim,
      idsType: 'int64',
    },
    heads: '',
    embedDim: imageDim,
    source: 'huggingface',
  };
  // Identity adapter (fc2 = 0): the CLIP embedding space is used as is until the user retrains.
  const heads = initHeads(
    { kind: 'adapter', embedDim: imageDim, dropout: 0.1, imageInDim: imageDim, textInDim: textDim, textPool: 'none', logitScale: Math.log(100), adapterHidden: Math.max(16, Math.round(imageDim / 2)) },
    0,
  );
  return { dir, manifest, layout: 'huggingface', heads };
}

/** A model folder → its manifest: model.json when present, else a Hugging Face CLIP export. */
export async function resolveModelFolder(dir: string): Promise<ResolvedModel> {
  const st = await fs.stat(dir).catch(() => null);
  if (!st) throw new Error(`Model folder ${dir} not found. Check the path.`);
  if (!st.isDirectory()) throw new Error(`${dir} is a file, not a model folder. Pass the folder that holds model.json.`);
  if (await isHuggingFaceFolder(dir)) return synthesizeHfManifest(dir);
  return { dir, manifest: await readManifest(dir), layout: 'native', heads: null };
}
