/**
 * immich's CLIP layout: visual/model.onnx + visual/preprocess_cfg.json, textual/model.onnx +
 * textual/tokenizer.json, and config.json (OpenCLIP's embed_dim, vision_cfg, text_cfg).
 */
import path from 'node:path';
import { AppError } from '../errors';
import { padIdOf, readTokenizerFiles } from '../model/tokenizer';
import type { ImagePreprocess } from '../model/types';
import type { FileCopy } from './model-folder';
import {
  adapterSpec,
  alignedDim,
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
  triple3,
} from './towers';

export async function planImmich(dir: string, progress: (p: ImportProgress) => void): Promise<ImportPlan> {
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
  return {
    layout: 'immich',
    source: dir,
    name: path.basename(dir),
    idName: path.basename(dir),
    description: 'Imported immich CLIP model (identity adapter heads: zero-shot until retrained).',
    files,
    manifest: towerManifest({ file: visualFile, tower: image, preprocess }, { file: textualFile, tower: textT, padId, outputKind: 'pooled' }, embedDim),
    heads: adapterSpec(embedDim),
  };
}
