/**
 * What every source layout of an import shares: the plan a layout produces, inspecting each tower with
 * onnxruntime (names, types, widths, one probe run), the manifest of a two-tower model, and the files to
 * take along (a tower's external-data files, the tokenizer's config, provenance copies of configs).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { AppError } from '../errors';
import type { HeadsSpec } from '../model/heads-format';
import { createSessionFromFile, ort } from '../model/ort';
import type { ImagePreprocess, ModelManifest } from '../model/types';
import { readRegularFile, readRegularTextFile } from '../fs/safe-read';
import type { FileCopy } from './model-folder';
import { oneLine } from '../../../shared/format';

export type SourceLayout = 'huggingface' | 'immich' | 'encoder-pair' | 'native';

export interface ImportProgress {
  stage: string;
  done: number;
  total: number;
}

/** Manifest without id / name / createdAt / source (filled at write time). */
type PlannedManifest = Omit<ModelManifest, 'id' | 'name' | 'createdAt' | 'source'>;

/** Everything needed to write the model folder, decided before anything is written. */
export interface ImportPlan {
  layout: SourceLayout;
  source: string;
  name: string;
  /** The name the id is made from (model-id.ts). */
  idName: string;
  description: string;
  files: FileCopy[];
  manifest: PlannedManifest;
  /** Heads to initialise; null when the files carry them (a native copy). */
  heads: HeadsSpec | null;
}

/** Seed of freshly initialised heads, the same whether a folder is imported or loaded in place. */
export const HEADS_SEED = 42;

/** CLIP's trained temperature (logit scale 100); the tutorial's pair starts at temperature 1. */
const CLIP_LOGIT_SCALE = Math.log(100);

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
    throw new AppError('model_error', oneLine(e, 300));
  }
}

/** Image tower: input [b,3,S,S] (or NHWC) float32 → one flat feature vector per image; probed once. */
export async function inspectImageTower(
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
export async function inspectTextTower(
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
    throw new AppError('model_error', `${file} failed on a test input (${oneLine(e, 300)}). It does not take the input this app feeds; check encoders.json or the export.`);
  }
}

export function alignedDim(dir: string, image: number, text: number, imageName: string, textName: string): number {
  if (image !== text) {
    throw new AppError(
      'model_error',
      `${dir}: ${imageName} has ${image} values but ${textName} has ${text}: the towers are not one aligned CLIP model. Use towers from the same export, or import them as an encoder pair (encoders.json) and train.`,
    );
  }
  return image;
}

/** Identity adapter heads for an aligned CLIP (fc2 = 0): zero-shot search works before any training. */
export function adapterSpec(dim: number): HeadsSpec {
  return { kind: 'adapter', embedDim: dim, dropout: 0.1, imageInDim: dim, textInDim: dim, textPool: 'none', textTokenMlp: null, logitScale: CLIP_LOGIT_SCALE };
}

/**
 * The manifest of an imported two-tower model. Tower paths are the source files' names under image/ and text/,
 * where towerFiles copies them; outputKind is the caller's (the CLIP layouts always declare pooled).
 */
export function towerManifest(
  image: { file: string; tower: ImageTowerInfo; preprocess: ImagePreprocess },
  text: { file: string; tower: TextTowerInfo; padId: number; outputKind: 'pooled' | 'cls' },
  embedDim: number,
): PlannedManifest {
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
export async function towerFiles(file: string, sub: string): Promise<FileCopy[]> {
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
export async function tokenizerFiles(file: string): Promise<FileCopy[]> {
  const out: FileCopy[] = [{ from: file, to: 'text/tokenizer.json' }];
  const cfg = path.join(path.dirname(file), 'tokenizer_config.json');
  if (await isFile(cfg)) out.push({ from: cfg, to: 'text/tokenizer_config.json' });
  return out;
}

/** Provenance copies of the source's small config files. */
export async function optionalFiles(dir: string, rels: string[], sub: string): Promise<FileCopy[]> {
  const out: FileCopy[] = [];
  for (const rel of rels) {
    if (await isFile(path.join(dir, rel))) out.push({ from: path.join(dir, rel), to: `${sub}/${rel}` });
  }
  return out;
}

// ---- small helpers ----------------------------------------------------------------------------------

export async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** A JSON config file, or null when absent; invalid JSON is an error naming the file. */
export async function readJsonIfAny(file: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await readRegularTextFile(file);
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new AppError('model_error', `${file} is not valid JSON (${oneLine(e, 300)}). Re-download or fix it.`);
  }
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function triple3(v: unknown): [number, number, number] | undefined {
  return Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number') ? [v[0], v[1], v[2]] : undefined;
}
