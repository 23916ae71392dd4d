/**
 * The heads: the small trainable part of a model. This file is the contract between the trainer
 * (TensorFlow.js, `train/`) and the runtime (an ONNX graph built in memory, `model/heads.ts`); both must
 * compute exactly the forward pass described here (a test checks they agree to 1e-4).
 *
 * kind 'projection' (the tutorial's ProjectionHead, per side s ∈ {image, text}):
 *     p = x @ s.fc1.weight + s.fc1.bias            // [in] → [embedDim]
 *     h = gelu(p) @ s.fc2.weight + s.fc2.bias      // [embedDim] → [embedDim]
 *     h = dropout(h)                                // training only
 *     y = layerNorm(h + p) * s.ln.gamma + s.ln.beta (epsilon 1e-5)
 *
 * kind 'adapter' (for an already aligned CLIP: zero-shot works before training):
 *     y = x + (gelu(x @ s.fc1.weight + s.fc1.bias) @ s.fc2.weight + s.fc2.bias)
 *     with s.fc2.* initialised at zero, so the untrained adapter is the identity; embedDim = inDim.
 *
 * Text features that are sequences ([L, D] with a mask, e.g. word vectors per token) are pooled first:
 *     textPool 'mean':      masked mean over tokens
 *     textPool 'attention': a = softmax_masked( tanh(x @ text.pool.key.weight + text.pool.key.bias) @ text.pool.query )
 *                           pooled = Σ_l a_l x_l
 *   and when `textTokenMlp` is set, before pooling each token goes through a residual MLP:
 *                           x = x + gelu(x @ text.tok.fc1.weight + text.tok.fc1.bias) @ text.tok.fc2.weight + text.tok.fc2.bias
 * Pooled / CLS text features skip pooling.
 *
 * `members` k > 1 (projection heads on pooled text only): k projection heads trained apart (an ensemble), their
 * tensors named with a prefix `m0.` … `m{k-1}.`; each member's output is L2-normalized, the k unit vectors are
 * concatenated and divided by √k, and one matrix `mix.weight` [k·embedDim, embedDim] (shared by both sides) maps
 * them back to embedDim:
 *     y = concat(unit(y_0), …, unit(y_{k-1})) / √k @ mix.weight
 * With `mix.weight` the stacked identities, y is the members' mean; fitted to the members' principal directions it
 * keeps the ensemble's ranking in embedDim values.
 *
 * Finally every embedding is L2-normalized. `logitScale` is the learned temperature (exp of it, clamped
 * at 100, multiplies the cosine similarities in the loss); it is stored for provenance only.
 *
 * Weight matrices are stored [in, out] (x @ W), row-major float32.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MAX_MODEL_BYTES, readRegularFile, readRegularTextFile, UnsafeFileError } from '../fs/safe-read';

export interface HeadsSpec {
  kind: 'projection' | 'adapter';
  embedDim: number;
  /** Dropout probability used in training (0.1 in the tutorial). */
  dropout: number;
  imageInDim: number;
  textInDim: number;
  /** How sequence text features are pooled; ignored for pooled/cls features. */
  textPool: 'none' | 'mean' | 'attention';
  /** Hidden size of the attention-pooling key. */
  textPoolHidden?: number;
  /** Residual token MLP before pooling (sequence features only). */
  textTokenMlp?: { hidden: number } | null;
  /** Hidden size of the adapter MLP (kind 'adapter'). */
  adapterHidden?: number;
  /** log of the learned temperature. */
  logitScale: number;
  /** Projection heads trained apart and mixed into one embedding (an ensemble); 1 when absent. */
  members?: number;
}

/** The most heads an ensemble may mix. */
export const MAX_MEMBERS = 16;

/** How many heads the spec mixes (1: a single head). */
export function memberCount(spec: Pick<HeadsSpec, 'members'>): number {
  return spec.members ?? 1;
}

/** The tensor-name prefix of member m ('' for a single head). */
export function memberPrefix(spec: Pick<HeadsSpec, 'members'>, m: number): string {
  return memberCount(spec) > 1 ? `m${m}.` : '';
}

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export type HeadsWeights = Map<string, NamedTensor>;

export interface Heads {
  spec: HeadsSpec;
  weights: HeadsWeights;
}

interface HeadsFileJson {
  format: 'photo-search-heads';
  version: 1;
  spec: HeadsSpec;
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
}

/**
 * On disk: `<base>.json` (spec + tensor index) and `<base>.bin` (float32 little-endian, concatenated).
 * `file` is the path of the json file.
 */
export async function saveHeads(file: string, heads: Heads): Promise<void> {
  const tensors: HeadsFileJson['tensors'] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of heads.weights) {
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.data.length) throw new Error(`Heads tensor ${name}: shape [${t.shape}] does not match ${t.data.length} values`);
    tensors.push({ name, shape: t.shape, offset, length: t.data.length });
    chunks.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    offset += t.data.length;
  }
  const json: HeadsFileJson = { format: 'photo-search-heads', version: 1, spec: heads.spec, tensors };
  const bin = binPath(file);
  await fs.writeFile(bin, Buffer.concat(chunks));
  await fs.writeFile(file, JSON.stringify(json, null, 2));
}

export async function loadHeads(file: string): Promise<Heads> {
  let json: HeadsFileJson;
  try {
    json = JSON.parse(await readRegularTextFile(file)) as HeadsFileJson;
  } catch (e) {
    throw new Error(`Heads file ${file} is missing or not valid JSON (${(e as Error).message}). Re-install or re-train the model.`, { cause: e });
  }
  if (json.format !== 'photo-search-heads') throw new Error(`Heads file ${file} is not a photo-search heads file.`);
  const buf = await readRegularFile(binPath(file), MAX_MODEL_BYTES).catch((e: unknown) => {
    if (e instanceof UnsafeFileError) throw new Error(`Heads weights ${e.message} Re-install or re-train the model.`, { cause: e });
    throw new Error(`Heads weights ${binPath(file)} are missing. Re-install or re-train the model.`);
  });
  // Copy into an aligned buffer (the file buffer may not be 4-byte aligned).
  const all = new Float32Array(buf.byteLength / 4);
  new Uint8Array(all.buffer).set(buf);
  const weights: HeadsWeights = new Map();
  for (const t of json.tensors) {
    if (t.offset + t.length > all.length) throw new Error(`Heads weights ${binPath(file)} are truncated. Re-install or re-train the model.`);
    weights.set(t.name, { shape: t.shape, data: all.slice(t.offset, t.offset + t.length) });
  }
  return { spec: json.spec, weights };
}

export function binPath(jsonFile: string): string {
  return path.join(path.dirname(jsonFile), path.basename(jsonFile, '.json') + '.bin');
}
