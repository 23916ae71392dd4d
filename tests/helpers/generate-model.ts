/**
 * Small seeded-random models for tests and as a stand-in until a real one is installed. They have the
 * same files, inputs and outputs as the real thing (native model.json folder, or the Hugging Face CLIP
 * export layout), run in milliseconds, and give clearly different features for different images/words.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { GraphBuilder } from '../../main/backend/onnx/builder';
import { initHeads, seededRandom } from '../../main/backend/model/heads';
import { formatKnownWords } from '../../main/backend/model/known-words';
import { saveHeads } from '../../main/backend/model/heads-format';
import { writeManifest } from '../../main/backend/catalog/manifest';
import type { ModelManifest } from '../../main/backend/model/types';

export interface GenerateOptions {
  seed?: number;
  layout?: 'native' | 'hf';
  /** Native: heads output size. HF: the projection size of image_embeds / text_embeds. Default 64. */
  embedDim?: number;
  /** Square input side of the image tower (even). Default 32. */
  imageSize?: number;
  /** Native only: text tower output kind. Default 'sequence'. */
  textKind?: 'sequence' | 'pooled';
  /** Model id written in model.json (native). */
  id?: string;
  /** HF only: write config.json with projection_dim (real exports have it). Default true. */
  hfConfig?: boolean;
  /** Native only: list the vocabulary's words as the model's known words (`text.knownWords`). */
  knownWords?: boolean;
  /** Native only: a query bank of these captions (`text.queryBank`, model/query-bank.ts), embedded on first use. */
  queryBank?: { captions: string[]; beta: number; lambda: number };
}

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'];
const WORDS = (
  'a an the of in on with and is are at to by for from near under over his her their its this that ' +
  'red green blue yellow orange purple pink black white gray grey brown dark light bright colorful ' +
  'circle square triangle star line lines stripe stripes dot dots shape shapes ring box ' +
  'left right top bottom center middle up down corner side front back ' +
  'one two three four five six seven eight nine ten 0 1 2 3 4 5 6 7 8 9 many some ' +
  'dog dogs cat cats man men woman women child children boy girl people person baby bird horse ball ' +
  'beach water sea ocean lake river grass field snow sand sky sun tree trees park street road city mountain rock ' +
  'run running runs jump jumping jumps play playing plays sit sitting stand standing walk walking swim swimming ' +
  'big small large little tall short young old happy wet ' +
  'shirt hat jacket dress car bike boat building house wall door photo picture image background'
).split(/\s+/);
const PIECES = ['##s', '##es', '##ing', '##ed', '##er', '##ly', '##y', '##n', '##e'];
const PUNCT = ['.', ',', '!', '?', '-', "'", '"', '(', ')'];

/** The generated vocabulary (id = index): [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, then words, pieces, punctuation. */
export function testVocab(): string[] {
  return [...SPECIALS, ...Array.from(new Set(WORDS)), ...PIECES, ...PUNCT];
}

/** A Hugging Face tokenizer.json: WordPiece, BertNormalizer (lowercase), BertPreTokenizer, [CLS] … [SEP]. */
export function testTokenizerJson(vocab = testVocab()): Record<string, unknown> {
  return wordPieceTokenizerJson(Object.fromEntries(vocab.map((t, i) => [t, i])), SPECIALS);
}

/**
 * A BERT-style WordPiece tokenizer.json over `vocab` (token → id), `specials` as added tokens (they must include
 * [CLS], [SEP] and [UNK]); `maxLength` null means no truncation. Also used by the tests' generated encoders.
 */
export function wordPieceTokenizerJson(vocab: Record<string, number>, specials: readonly string[], maxLength: number | null = null): Record<string, unknown> {
  const id = (t: string) => vocab[t];
  return {
    version: '1.0',
    truncation: maxLength === null ? null : { direction: 'Right', max_length: maxLength, strategy: 'LongestFirst', stride: 0 },
    padding: null,
    added_tokens: specials.map((content) => ({ id: id(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

function uniform(rand: () => number, n: number, limit: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * limit);
}

const CONV_CHANNELS = 52; // + a 2x2 colour grid (12) = 64 image features

/** Image tower: Conv → Relu → GlobalAveragePool, concatenated with the mean colour of each image quadrant. */
function imageTower(rand: () => number, S: number, project: { dim: number; output: string } | null): { bytes: Uint8Array; featureDim: number } {
  if (S < 4 || S % 2) throw new Error(`imageSize must be an even number ≥ 4 (got ${S}).`);
  const g = new GraphBuilder('image_tower');
  const x = g.input('pixel_values', 'float32', ['batch', 3, S, S]);
  const w = g.constant(uniform(rand, CONV_CHANNELS * 3 * 9, Math.sqrt(6 / 27)), [CONV_CHANNELS, 3, 3, 3]);
  const b = g.constant(uniform(rand, CONV_CHANNELS, 0.1), [CONV_CHANNELS]);
  const conv = g.op('Relu', [g.op('Conv', [x, w, b], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] })]);
  const pooled = g.op('Flatten', [g.op('GlobalAveragePool', [conv])], { axis: 1 });
  // Where the colours are: a coarse statistic that makes "red on the left" differ from "red on the right".
  const grid = g.op('Flatten', [g.op('AveragePool', [x], { kernel_shape: [S / 2, S / 2], strides: [S / 2, S / 2] })], { axis: 1 });
  const featureDim = CONV_CHANNELS + 12;
  if (!project) {
    g.op('Concat', [pooled, grid], { axis: 1 }, ['features']);
    g.output('features', 'float32', ['batch', featureDim]);
    return { bytes: g.toBytes(), featureDim };
  }
  const feats = g.op('Concat', [pooled, grid], { axis: 1 });
  g.linear(feats, uniform(rand, featureDim * project.dim, Math.sqrt(6 / (featureDim + project.dim))), null, featureDim, project.dim, project.output);
  g.output(project.output, 'float32', ['batch', project.dim]);
  return { bytes: g.toBytes(), featureDim: project.dim };
}

/** Text tower: a random embedding table looked up per token; pooled = masked mean (+ projection for HF). */
function textTower(rand: () => number, vocabSize: number, dim: number, kind: 'sequence' | 'pooled', padId: number, output: string, project: number | null): Uint8Array {
  const g = new GraphBuilder('text_tower');
  const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const table = g.constant(uniform(rand, vocabSize * dim, 1), [vocabSize, dim]);
  if (kind === 'sequence') {
    g.op('Gather', [table, ids], { axis: 0 }, [output]);
    g.output(output, 'float32', ['batch', 'sequence', dim]);
    return g.toBytes();
  }
  const tokens = g.op('Gather', [table, ids], { axis: 0 });
  const mask = g.op('Cast', [g.op('Not', [g.op('Equal', [ids, g.constant(BigInt64Array.of(BigInt(padId)), [])])])], { to: 1 });
  const sum = g.op('ReduceSum', [g.op('Mul', [tokens, g.op('Unsqueeze', [mask, g.ints([-1])])]), g.ints([1])], { keepdims: 0 });
  const count = g.op('Max', [g.op('ReduceSum', [mask, g.ints([1])], { keepdims: 1 }), g.scalar(1)]);
  const mean = g.op('Div', [sum, count], {}, project ? undefined : [output]);
  if (project) g.linear(mean, uniform(rand, dim * project, Math.sqrt(6 / (dim + project))), null, dim, project, output);
  g.output(output, 'float32', ['batch', project ?? dim]);
  return g.toBytes();
}

const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** Write a small seeded-random model into `dir` (created if needed); returns `dir`. */
export async function generateTestModel(dir: string, opts: GenerateOptions = {}): Promise<string> {
  const seed = opts.seed ?? 1;
  const S = opts.imageSize ?? 32;
  const embedDim = opts.embedDim ?? 64;
  const rand = seededRandom(seed * 7919 + 17);
  const vocab = testVocab();
  const padId = 0;
  const textDim = 48;
  await fs.mkdir(dir, { recursive: true });
  const tokenizer = testTokenizerJson(vocab);

  if (opts.layout === 'hf') {
    const maxLength = 77;
    await fs.mkdir(path.join(dir, 'onnx'), { recursive: true });
    const img = imageTower(rand, S, { dim: embedDim, output: 'image_embeds' });
    const txt = textTower(rand, vocab.length, textDim, 'pooled', padId, 'text_embeds', embedDim);
    await Promise.all([
      fs.writeFile(path.join(dir, 'onnx', 'vision_model.onnx'), img.bytes),
      fs.writeFile(path.join(dir, 'onnx', 'text_model.onnx'), txt),
      fs.writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer)),
      fs.writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: maxLength, pad_token: '[PAD]', unk_token: '[UNK]', do_lower_case: true, tokenizer_class: 'BertTokenizer' }, null, 2)),
      fs.writeFile(
        path.join(dir, 'preprocessor_config.json'),
        JSON.stringify(
          {
            crop_size: { height: S, width: S },
            do_center_crop: true,
            do_normalize: true,
            do_rescale: true,
            do_resize: true,
            image_mean: CLIP_MEAN,
            image_std: CLIP_STD,
            image_processor_type: 'CLIPImageProcessor',
            resample: 3,
            rescale_factor: 1 / 255,
            size: { shortest_edge: S },
          },
          null,
          2,
        ),
      ),
      opts.hfConfig === false
        ? Promise.resolve()
        : fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'clip', projection_dim: embedDim, _name_or_path: `generated-clip-seed${seed}` }, null, 2)),
    ]);
    return dir;
  }

  const kind = opts.textKind ?? 'sequence';
  const img = imageTower(rand, S, null);
  const txt = textTower(rand, vocab.length, textDim, kind, padId, 'features', null);
  const heads = initHeads(
    { kind: 'projection', embedDim, dropout: 0.1, imageInDim: img.featureDim, textInDim: textDim, textPool: kind === 'sequence' ? 'mean' : 'none', logitScale: Math.log(1 / 0.07) },
    seed,
  );
  const manifest: ModelManifest = {
    format: 'photo-search-model',
    formatVersion: 1,
    id: opts.id ?? `generated-${kind}-seed${seed}`,
    name: `Generated test model (seed ${seed})`,
    createdAt: new Date(0).toISOString(), // fixed: generation is deterministic
    parent: null,
    description: 'Small seeded-random model for tests; it does not understand photos.',
    image: {
      file: 'image_tower.onnx',
      input: 'pixel_values',
      output: 'features',
      featureDim: img.featureDim,
      preprocess: { size: S, resize: 'cover', rescale: 255, mean: CLIP_MEAN, std: CLIP_STD, layout: 'nchw' },
    },
    text: {
      file: 'text_tower.onnx',
      tokenizer: 'tokenizer.json',
      maxLength: 32,
      padId,
      inputs: { inputIds: 'input_ids' },
      output: 'features',
      outputKind: kind,
      featureDim: textDim,
      idsType: 'int64',
      ...(opts.knownWords ? { knownWords: 'known-words.txt' } : {}),
      ...(opts.queryBank ? { queryBank: { file: 'query-bank.txt', beta: opts.queryBank.beta, lambda: opts.queryBank.lambda } } : {}),
    },
    heads: 'heads.json',
    embedDim,
    source: 'generated',
  };
  await Promise.all([
    fs.writeFile(path.join(dir, 'image_tower.onnx'), img.bytes),
    fs.writeFile(path.join(dir, 'text_tower.onnx'), txt),
    fs.writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer)),
    saveHeads(path.join(dir, 'heads.json'), heads),
    ...(opts.knownWords ? [fs.writeFile(path.join(dir, 'known-words.txt'), formatKnownWords(WORDS))] : []),
    ...(opts.queryBank ? [fs.writeFile(path.join(dir, 'query-bank.txt'), `${opts.queryBank.captions.join('\n')}\n`)] : []),
  ]);
  await writeManifest(dir, manifest);
  return dir;
}
