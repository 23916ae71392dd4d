/**
 * A separate image encoder and text encoder (the tutorial's ResNet50 + DistilBERT): a folder with
 * image_encoder.onnx, text_encoder.onnx, tokenizer.json and an optional encoders.json. Its projection heads
 * start freshly initialised (seeded): `train` fits them.
 */
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../errors';
import { readRegularTextFile, UnsafeFileError } from '../fs/safe-read';
import { padIdOf, readTokenizerFiles } from '../model/tokenizer';
import type { FileCopy } from './model-folder';
import { oneLine } from '../../../shared/format';
import {
  type ImportPlan,
  type ImportProgress,
  inspectImageTower,
  inspectTextTower,
  isFile,
  num,
  tokenizerFiles,
  towerFiles,
  towerManifest,
} from './towers';

const triple = z.tuple([z.number(), z.number(), z.number()]);

/** encoders.json: everything optional; names default to what the ONNX graphs declare. */
const encodersConfigSchema = z
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
type EncodersConfig = z.infer<typeof encodersConfigSchema>;

/** The tutorial's defaults: ImageNet normalisation at 224 px, 256-d projection heads with dropout 0.1. */
const PAIR_DEFAULTS = {
  size: 224,
  mean: [0.485, 0.456, 0.406] as [number, number, number],
  std: [0.229, 0.224, 0.225] as [number, number, number],
  maxLength: 64,
  embedDim: 256,
  dropout: 0.1,
};

async function readEncodersConfig(file: string): Promise<EncodersConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await readRegularTextFile(file));
  } catch (e) {
    if (e instanceof UnsafeFileError) throw new AppError('model_error', `${e.message} Use a regular encoders.json file.`);
    throw new AppError('model_error', `${file} is not valid JSON (${oneLine(e, 300)}). Fix the file.`);
  }
  const r = encodersConfigSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new AppError('model_error', `${file}: ${i.path.join('.') || '(root)'}: ${i.message}. Fix the file (see the README for encoders.json).`);
  }
  return r.data;
}

/** An encoder-pair folder (or its encoders.json): file names and settings from encoders.json, else the defaults. */
export async function planEncoderPair(dir: string, progress: (p: ImportProgress) => void): Promise<ImportPlan> {
  const cfgFile = path.join(dir, 'encoders.json');
  const c: EncodersConfig = (await isFile(cfgFile)) ? await readEncodersConfig(cfgFile) : {};
  const imageFile = path.resolve(dir, c.image?.file ?? 'image_encoder.onnx');
  const textFile = path.resolve(dir, c.text?.file ?? 'text_encoder.onnx');
  const tokenizerFile = path.resolve(dir, c.text?.tokenizer ?? 'tokenizer.json');
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
  return {
    layout: 'encoder-pair',
    source: dir,
    name: c.name ?? path.basename(dir),
    idName: path.basename(dir),
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
