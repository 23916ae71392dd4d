/** model.json: its schema, and reading and writing it with clear errors. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { ModelManifest } from '../model/types';
import { IMAGE_VIEWS } from '../model/views';
import { readRegularTextFile, UnsafeFileError } from '../fs/safe-read';

const triple = z.tuple([z.number(), z.number(), z.number()]);
const relFile = z.string().min(1, 'a file name is required');

const imagePreprocessSchema = z.object({
  size: z.number().int().min(1).max(4096),
  resize: z.enum(['cover', 'contain', 'squash']),
  rescale: z.number().positive(),
  mean: triple,
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  layout: z.enum(['nchw', 'nhwc']),
});

const imageView = z.enum(IMAGE_VIEWS);

const manifestSchema = z.object({
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
    views: z
      .object({
        views: z.array(imageView).max(8),
        average: z.array(z.object({ from: z.number().int().nonnegative(), to: z.number().int().positive(), over: z.array(z.union([z.literal('photo'), imageView])).min(1).max(8) })).max(64),
      })
      .optional(),
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
    queryTemplate: z.string().max(100).regex(/\{\}/, 'must contain {} where the query goes').optional(),
    queryBank: z
      .object({ file: relFile, beta: z.number().positive().max(1000), lambda: z.number().min(0).max(10), vectors: relFile.optional(), headsDigest: z.string().max(64).optional() })
      .optional(),
    captionMemory: z
      .object({ file: relFile, k: z.number().int().min(1).max(256), temperature: z.number().min(0).max(1000), weight: z.number().min(0).max(10) })
      .optional(),
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
