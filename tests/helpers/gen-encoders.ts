/**
 * Generated stand-ins for real pretrained encoders (no weights can be downloaded here): small seeded random
 * ONNX graphs with exactly the inputs and outputs of
 *  - a ResNet50 image encoder export: pixel_values [b,3,224,224] → pooled [b,2048];
 *  - a DistilBERT text encoder export: input_ids + attention_mask [b,L] → last_hidden_state [b,L,768],
 *    where token 0 ([CLS]) depends on every unmasked token, as in the real model;
 *  - an immich CLIP folder (visual/model.onnx `image` → `embedding`, textual/model.onnx `text` int32 →
 *    `embedding`, batch fixed at 1 like immich's exports, outputs L2-normalized).
 * The convolutions are tiny; only the interface dimensions match the real models.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { GraphBuilder, type Dim } from '../../main/backend/onnx/builder';
import { wordPieceTokenizerJson } from './generate-model';
import { seededRandom } from '../../main/backend/model/heads';

/** Words every generated tokenizer knows (captions in the tests use these). */
export const TEST_WORDS = [
  'a', 'an', 'the', 'dog', 'cat', 'runs', 'sits', 'on', 'in', 'grass', 'beach', 'red', 'blue', 'green', 'car',
  'man', 'woman', 'child', 'ball', 'water', 'snow', 'street', 'photo', 'of', 'with', 'and', 'two', 'black', 'white',
];

function uniform(n: number, limit: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * limit;
  return out;
}

/** A BERT-style WordPiece tokenizer.json (lowercasing, [CLS] … [SEP]) over TEST_WORDS plus single letters. */
export function wordPieceTokenizer(maxLength = 32): { json: Record<string, unknown>; vocabSize: number; padId: number } {
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const letters = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
  const tokens = [...specials, ...TEST_WORDS, ...letters.filter((l) => !TEST_WORDS.includes(l)), ...letters.map((l) => `##${l}`)];
  const vocab: Record<string, number> = {};
  for (const t of tokens) if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  const json = wordPieceTokenizerJson(vocab, specials, maxLength);
  return { json, vocabSize: Object.keys(vocab).length, padId: vocab['[PAD]'] };
}

export interface ImageEncoderOptions {
  seed: number;
  featureDim?: number; // 2048 like ResNet50
  size?: number;
  input?: string;
  output?: string;
  /** 'batch' (symbolic, like HF/optimum exports) or 1 (static, like immich's exports). */
  batch?: Dim;
  /** L2-normalize the output (immich's exports do). */
  normalize?: boolean;
}

/** pixel_values [b,3,S,S] → tiny strided conv → tanh → global average pool → linear → relu → [b, featureDim]. */
export function imageEncoderBytes(o: ImageEncoderOptions): Uint8Array {
  const rand = seededRandom(o.seed);
  const featureDim = o.featureDim ?? 2048;
  const size = o.size ?? 224;
  const batch = o.batch ?? 'batch';
  const channels = 8;
  const k = 8;
  const g = new GraphBuilder('image_encoder');
  const x = g.input(o.input ?? 'pixel_values', 'float32', [batch, 3, size, size]);
  const w = g.constant(uniform(channels * 3 * k * k, Math.sqrt(6 / (3 * k * k)), rand), [channels, 3, k, k]);
  const conv = g.op('Conv', [x, w], { kernel_shape: [k, k], strides: [k, k] });
  const pooled = g.op('GlobalAveragePool', [g.op('Tanh', [conv])]);
  const flat = g.op('Flatten', [pooled], { axis: 1 });
  const lin = g.linear(flat, uniform(channels * featureDim, Math.sqrt(6 / (channels + 1)), rand), uniform(featureDim, 0.1, rand), channels, featureDim);
  const outName = o.output ?? 'pooler_output';
  // ResNet's pooled features are post-ReLU (non-negative); immich's embeddings are normalized instead.
  if (o.normalize) g.l2Normalize(lin, outName);
  else g.op('Relu', [lin], {}, [outName]);
  g.output(outName, 'float32', [batch, featureDim]);
  return g.toBytes();
}

export interface TextEncoderOptions {
  seed: number;
  vocabSize: number;
  hidden?: number; // 768 like DistilBERT
  /** 'cls': last_hidden_state [b,L,hidden]; 'pooled': one vector per text [b,hidden] (CLIP/immich). */
  kind?: 'cls' | 'pooled';
  idsName?: string;
  /** Omit to build a graph without an attention_mask input (the mask is then derived from padId). */
  maskName?: string | null;
  padId?: number;
  idsType?: 'int64' | 'int32';
  output?: string;
  batch?: Dim;
  seqLen?: Dim;
  normalize?: boolean;
}

/**
 * ids → embedding table (small width) → add the masked mean of the sequence to every token → linear → tanh.
 * Token 0 therefore sees the whole text, like a transformer's [CLS].
 */
export function textEncoderBytes(o: TextEncoderOptions): Uint8Array {
  const rand = seededRandom(o.seed);
  const hidden = o.hidden ?? 768;
  const width = 16;
  const kind = o.kind ?? 'cls';
  const batch = o.batch ?? 'batch';
  const seqLen = o.seqLen ?? 'sequence';
  const idsType = o.idsType ?? 'int64';
  const g = new GraphBuilder('text_encoder');
  const ids = g.input(o.idsName ?? 'input_ids', idsType, [batch, seqLen]);
  let maskF: string;
  if (o.maskName !== null) {
    const mask = g.input(o.maskName ?? 'attention_mask', idsType, [batch, seqLen]);
    maskF = g.op('Cast', [mask], { to: 1 });
  } else {
    const padConst = idsType === 'int64' ? g.constant(BigInt64Array.of(BigInt(o.padId ?? 0)), []) : g.constant(Int32Array.of(o.padId ?? 0), []);
    maskF = g.op('Cast', [g.op('Not', [g.op('Equal', [ids, padConst])])], { to: 1 });
  }
  const table = g.constant(uniform(o.vocabSize * width, 1, rand), [o.vocabSize, width]);
  const emb = g.op('Gather', [table, ids], { axis: 0 }); // [b, L, width]
  const mask3 = g.op('Unsqueeze', [maskF, g.ints([-1])]); // [b, L, 1]
  const sum = g.op('ReduceSum', [g.op('Mul', [emb, mask3]), g.ints([1])], { keepdims: 1 }); // [b, 1, width]
  const count = g.op('Max', [g.op('ReduceSum', [mask3, g.ints([1])], { keepdims: 1 }), g.scalar(1)]);
  const mean = g.op('Div', [sum, count]);
  const outName = o.output ?? (kind === 'cls' ? 'last_hidden_state' : 'text_embeds');
  const weight = uniform(width * hidden, Math.sqrt(6 / (width + hidden)) * 2, rand);
  if (kind === 'cls') {
    const mixed = g.op('Add', [emb, mean]);
    const lin = g.linear(mixed, weight, null, width, hidden);
    g.op('Tanh', [lin], {}, [outName]);
    g.output(outName, 'float32', [batch, seqLen, hidden]);
  } else {
    const pooled = g.op('Squeeze', [mean, g.ints([1])]); // [b, width]
    const lin = g.op('Tanh', [g.linear(pooled, weight, null, width, hidden)]);
    if (o.normalize) g.l2Normalize(lin, outName);
    else g.op('Identity', [lin], {}, [outName]);
    g.output(outName, 'float32', [batch, hidden]);
  }
  return g.toBytes();
}

export interface EncoderPairPaths {
  dir: string;
  imageEncoder: string;
  textEncoder: string;
  tokenizer: string;
}

/**
 * The tutorial's separate encoder pair as a folder: image_encoder.onnx (ResNet50-like), text_encoder.onnx
 * (DistilBERT-like) and tokenizer.json — what `photo-search models add FOLDER` takes.
 */
export async function generateEncoderPair(dir: string, opts: { seed?: number; imageFeatureDim?: number; textHidden?: number } = {}): Promise<EncoderPairPaths> {
  const seed = opts.seed ?? 1;
  await fs.mkdir(dir, { recursive: true });
  const tok = wordPieceTokenizer(64);
  const paths: EncoderPairPaths = {
    dir,
    imageEncoder: path.join(dir, 'image_encoder.onnx'),
    textEncoder: path.join(dir, 'text_encoder.onnx'),
    tokenizer: path.join(dir, 'tokenizer.json'),
  };
  await fs.writeFile(paths.imageEncoder, imageEncoderBytes({ seed, featureDim: opts.imageFeatureDim ?? 2048 }));
  await fs.writeFile(paths.textEncoder, textEncoderBytes({ seed: seed + 1, vocabSize: tok.vocabSize, hidden: opts.textHidden ?? 768 }));
  await fs.writeFile(paths.tokenizer, JSON.stringify(tok.json));
  return paths;
}

/**
 * An immich CLIP model folder as immich's exporter writes it (config.json at the top, visual/ and textual/
 * sub-folders). `staticBatch` (default true) fixes the batch dimension at 1 like the real exports.
 */
export async function generateImmichFolder(
  dir: string,
  opts: { seed?: number; embedDim?: number; size?: number; contextLength?: number; staticBatch?: boolean } = {},
): Promise<string> {
  const seed = opts.seed ?? 3;
  const embedDim = opts.embedDim ?? 64;
  const size = opts.size ?? 224;
  const contextLength = opts.contextLength ?? 77;
  const batch: Dim = opts.staticBatch === false ? 'batch' : 1;
  const tok = wordPieceTokenizer(contextLength);
  await fs.mkdir(path.join(dir, 'visual'), { recursive: true });
  await fs.mkdir(path.join(dir, 'textual'), { recursive: true });
  const config = {
    embed_dim: embedDim,
    vision_cfg: { image_size: size, layers: 12, width: 768, patch_size: 32 },
    text_cfg: { context_length: contextLength, vocab_size: tok.vocabSize, width: 512, heads: 8, layers: 12 },
  };
  const preprocess = {
    size: [size, size],
    mode: 'RGB',
    mean: [0.48145466, 0.4578275, 0.40821073],
    std: [0.26862954, 0.26130258, 0.27577711],
    interpolation: 'bicubic',
    resize_mode: 'shortest',
    fill_color: 0,
  };
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  await fs.writeFile(path.join(dir, 'visual', 'preprocess_cfg.json'), JSON.stringify(preprocess, null, 2));
  await fs.writeFile(
    path.join(dir, 'visual', 'model.onnx'),
    imageEncoderBytes({ seed, featureDim: embedDim, size, input: 'image', output: 'embedding', batch, normalize: true }),
  );
  await fs.writeFile(
    path.join(dir, 'textual', 'model.onnx'),
    textEncoderBytes({
      seed: seed + 1, vocabSize: tok.vocabSize, hidden: embedDim, kind: 'pooled', idsName: 'text', maskName: null,
      padId: tok.padId, idsType: 'int32', output: 'embedding', batch, seqLen: contextLength, normalize: true,
    }),
  );
  await fs.writeFile(path.join(dir, 'textual', 'tokenizer.json'), JSON.stringify(tok.json));
  await fs.writeFile(path.join(dir, 'textual', 'tokenizer_config.json'), JSON.stringify({ pad_token: '[PAD]', model_max_length: contextLength }));
  return dir;
}

/**
 * A Hugging Face / transformers.js CLIP export folder: onnx/vision_model.onnx (pixel_values → image_embeds),
 * onnx/text_model.onnx (input_ids → text_embeds, not normalized, like the real export), tokenizer.json,
 * preprocessor_config.json and config.json with projection_dim. `quantizedNames` writes the towers under the
 * *_quantized.onnx names only (repositories that publish just those).
 */
export async function generateHfClipFolder(
  dir: string,
  opts: { seed?: number; embedDim?: number; size?: number; quantizedNames?: boolean } = {},
): Promise<string> {
  const seed = opts.seed ?? 5;
  const embedDim = opts.embedDim ?? 32;
  const size = opts.size ?? 224;
  const tok = wordPieceTokenizer(77);
  const suffix = opts.quantizedNames ? '_quantized' : '';
  await fs.mkdir(path.join(dir, 'onnx'), { recursive: true });
  await fs.writeFile(path.join(dir, 'onnx', `vision_model${suffix}.onnx`), imageEncoderBytes({ seed, featureDim: embedDim, size, output: 'image_embeds' }));
  await fs.writeFile(
    path.join(dir, 'onnx', `text_model${suffix}.onnx`),
    textEncoderBytes({ seed: seed + 1, vocabSize: tok.vocabSize, hidden: embedDim, kind: 'pooled', maskName: null, padId: tok.padId, output: 'text_embeds' }),
  );
  await fs.writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(tok.json));
  await fs.writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ pad_token: '[PAD]', model_max_length: 77 }));
  await fs.writeFile(
    path.join(dir, 'preprocessor_config.json'),
    JSON.stringify({
      crop_size: { height: size, width: size },
      do_center_crop: true,
      do_normalize: true,
      do_rescale: true,
      do_resize: true,
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_std: [0.26862954, 0.26130258, 0.27577711],
      resample: 3,
      rescale_factor: 0.00392156862745098,
      size: { shortest_edge: size },
    }),
  );
  await fs.writeFile(
    path.join(dir, 'config.json'),
    JSON.stringify({ _name_or_path: 'test/clip-generated', model_type: 'clip', projection_dim: embedDim, text_config: { max_position_embeddings: 77 }, vision_config: { image_size: size } }),
  );
  return dir;
}
