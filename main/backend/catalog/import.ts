/**
 * Import a pretrained model into `<modelsDir>/<id>` in the one native layout everything downstream reads
 * (model.json + heads.json/.bin + the tower files, hard-linked when possible). This file detects the source's
 * layout and hands it to that layout's planner, one file each:
 *  - huggingface.ts: a Hugging Face / transformers.js CLIP export (onnx/vision_model.onnx, onnx/text_model.onnx, ...);
 *  - immich.ts: an immich CLIP folder (visual/model.onnx, textual/model.onnx, config.json, visual/preprocess_cfg.json);
 *  - encoder-pair.ts: a separate encoder pair (the tutorial's ResNet50 + DistilBERT): image_encoder.onnx,
 *    text_encoder.onnx, tokenizer.json and an optional encoders.json;
 *  - native.ts: a native model folder (model.json), copied under a new id;
 * and `hf:OWNER/NAME[@revision]` is downloaded from the hub (hub.ts), then planned as the Hugging Face layout.
 * Aligned CLIP towers get identity adapter heads (zero-shot search works at once); an encoder pair gets
 * freshly initialised projection heads that `train` fits.
 *
 * The pipeline: resolve the source → inspect each tower with onnxruntime (towers.ts) → plan the manifest and
 * heads → write through the one model-folder writer (model-folder.ts: temp folder, then rename). A failure or
 * a cancel at any step leaves no model folder behind.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AppError, Cancelled } from '../errors';
import { initHeads } from '../model/heads';
import type { ModelManifest } from '../model/types';
import { planEncoderPair } from './encoder-pair';
import { downloadFromHub, HF_CLIP_FILES, parseHubRepo } from './hub';
import { isHuggingFaceFolder, planHuggingFace } from './huggingface';
import { planImmich } from './immich';
import { MANIFEST_FILE } from './manifest';
import { writeModelFolder } from './model-folder';
import { newModelId, takenModelIds } from './model-id';
import { planNative } from './native';
import { HEADS_SEED, type ImportPlan, type ImportProgress, isFile, type SourceLayout } from './towers';
import { oneLine } from '../../../shared/format';

export type { ImportProgress } from './towers';

export interface ImportOptions {
  /** A folder path or `hf:OWNER/NAME[@revision]`. */
  source: string;
  modelsDir: string;
  /** Folder name and model id; default derived from the source (made unique). An explicit id must be free. */
  id?: string;
  /** Seed of freshly initialised heads (default HEADS_SEED, the seed a Hugging Face folder loaded in place uses). */
  seed?: number;
  onProgress?: (p: ImportProgress) => void;
  signal?: AbortSignal;
  /** Hub endpoint (default PHOTO_SEARCH_HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
}

export interface ImportResult {
  id: string;
  dir: string;
  manifest: ModelManifest;
  layout: SourceLayout;
}

export async function importModel(o: ImportOptions): Promise<ImportResult> {
  const progress = o.onProgress ?? (() => {});
  const modelsDir = path.resolve(o.modelsDir);
  await fs.mkdir(modelsDir, { recursive: true });

  let source = o.source;
  let hubRepo: string | null = null;
  let cacheDir: string | null = null;
  if (source.startsWith('hf:')) {
    const { repo, revision } = parseHfSource(source);
    hubRepo = repo;
    // Kept until the import succeeds, so a failed or cancelled import resumes the download.
    cacheDir = path.join(modelsDir, '.cache', 'hf', repo.replace('/', '--'));
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
    plan.idName = hubRepo.split('/')[1];
  }
  checkAborted(o.signal);

  const id = newModelId(plan.idName, await takenModelIds(modelsDir), o.id);
  const result = await writePlan(modelsDir, id, plan, o, progress);
  // The download lives on in the model folder (hard links or copies): the cache is no longer needed.
  if (cacheDir) {
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

/** Detect the layout of a source and plan it. Throws one clear line when it is not a model. */
async function planImport(source: string, progress: (p: ImportProgress) => void): Promise<ImportPlan> {
  const dir = path.resolve(source);
  const st = await fs.stat(dir).catch(() => null);
  if (!st) throw new AppError('not_found', `${dir} not found. Check the path (or use hf:OWNER/NAME for a model on the Hugging Face hub).`);
  if (st.isFile()) {
    if (path.basename(dir) === 'encoders.json') return planEncoderPair(path.dirname(dir), progress);
    throw new AppError('invalid_input', `${dir} is a file, not a model folder. Pass the folder that holds the model's files.`);
  }
  const layout = await detectModelLayout(dir);
  switch (layout) {
    case 'native':
      return planNative(dir);
    case 'huggingface':
      return planHuggingFace(dir, progress);
    case 'immich':
      return planImmich(dir, progress);
    case 'encoder-pair':
      return planEncoderPair(dir, progress);
    default:
      throw new AppError(
        'model_error',
        `${dir} is not a model folder: expected onnx/vision_model.onnx (Hugging Face layout), visual/model.onnx (immich layout), image_encoder.onnx + text_encoder.onnx + tokenizer.json (encoder pair) or model.json.`,
      );
  }
}

/** Which layout a folder is in, or null. */
export async function detectModelLayout(dir: string): Promise<SourceLayout | null> {
  if (await isFile(path.join(dir, MANIFEST_FILE))) return 'native';
  if (await isHuggingFaceFolder(dir)) return 'huggingface';
  if (await isFile(path.join(dir, 'visual', 'model.onnx'))) return 'immich';
  if ((await isFile(path.join(dir, 'encoders.json'))) || (await isFile(path.join(dir, 'image_encoder.onnx')))) return 'encoder-pair';
  return null;
}

async function writePlan(modelsDir: string, id: string, plan: ImportPlan, o: ImportOptions, progress: (p: ImportProgress) => void): Promise<ImportResult> {
  const manifest: ModelManifest = {
    ...plan.manifest,
    id,
    name: plan.name,
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
      heads: plan.heads ? initHeads(plan.heads, o.seed ?? HEADS_SEED) : null,
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
    throw new AppError('model_error', `Import into ${modelsDir} failed: ${oneLine(e, 300)}.`, { cause: e });
  }
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new Cancelled('Import cancelled.');
}
