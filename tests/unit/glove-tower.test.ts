/**
 * GloVe text tower on a small seeded vocabulary: vocabulary selection, tokenizer.json loaded by
 * @huggingface/tokenizers, and the int8 lookup graph run by onnxruntime.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  GLOVE_DIM,
  GLOVE_MASK_OUTPUT,
  GLOVE_OUTPUT,
  PAD_ID,
  UNK_ID,
  buildGloveTowerOnnx,
  buildTokenizerJson,
  captionWords,
  quantizeRows,
  selectVocabulary,
  vectorTable,
  type GloveSource,
} from '../../main/backend/model/glove-tower';

/** GloVe-like source: frequency-ordered words with punctuation mixed in, seeded vectors. */
function fakeGlove(): GloveSource {
  const words = ['the', ',', '.', 'on', 'two', 'a', "'s", 'dogs', 'running', 'beach', 'x-ray', 'cafe', '2', 'zebra', 'frisbee'];
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return (seed / 2147483648) * 4 - 2;
  };
  const vectors: Record<string, number[]> = {};
  for (const w of words) vectors[w] = [...Array.from({ length: GLOVE_DIM }, rnd), 1, 0];
  return { dimensions: GLOVE_DIM, words, vectors };
}

describe('GloVe text tower', () => {
  const glove = fakeGlove();

  it('keeps the first N plain words in frequency order, then the extra words GloVe knows', () => {
    const vocab = selectVocabulary(glove, 6, ['Frisbee', 'notinglove', 'two', 'zebra']);
    // Punctuation, "'s" and "x-ray" can never come out of the BertPreTokenizer, so they are skipped.
    expect(vocab).toEqual(['the', 'on', 'two', 'a', 'dogs', 'running', 'frisbee', 'zebra']);
  });

  it('tokenizes to whole words, with punctuation and unknown words as [UNK]', () => {
    const vocab = selectVocabulary(glove, 100);
    const tok = new Tokenizer(buildTokenizerJson(vocab), {});
    const enc = tok.encode('Two dogs, running on the beach!', { add_special_tokens: false });
    expect(enc.tokens).toEqual(['two', 'dogs', '[UNK]', 'running', 'on', 'the', 'beach', '[UNK]']);
    expect(enc.ids[0]).toBe(vocab.indexOf('two') + 2);
    // Accents stripped and lowercased; a word not in the vocabulary is one [UNK], not pieces.
    expect(tok.encode('CAFÉ zebras', { add_special_tokens: false }).tokens).toEqual(['cafe', '[UNK]']);
  });

  it('looks up dequantized vectors, zero for [PAD]/[UNK], and masks both', async () => {
    const vocab = selectVocabulary(glove, 100);
    const table = vectorTable(glove, vocab);
    const session = await ort.InferenceSession.create(buildGloveTowerOnnx(table));
    const dogs = vocab.indexOf('dogs') + 2;
    const beach = vocab.indexOf('beach') + 2;
    const ids = BigInt64Array.from([dogs, UNK_ID, beach, PAD_ID, beach, dogs, PAD_ID, PAD_ID].map(BigInt));
    const res = await session.run({ input_ids: new ort.Tensor('int64', ids, [2, 4]) });
    expect(res[GLOVE_OUTPUT].dims).toEqual([2, 4, GLOVE_DIM]);
    expect(Array.from(res[GLOVE_MASK_OUTPUT].data as Float32Array)).toEqual([1, 0, 1, 0, 1, 1, 0, 0]);
    const out = res[GLOVE_OUTPUT].data as Float32Array;
    const row = (b: number, l: number) => out.subarray((b * 4 + l) * GLOVE_DIM, (b * 4 + l + 1) * GLOVE_DIM);
    const maxErr = (got: Float32Array, word: string) => {
      const want = glove.vectors[word].slice(0, GLOVE_DIM);
      return Math.max(...want.map((v, d) => Math.abs(got[d] - v)));
    };
    const bound = Math.max(...glove.vectors.dogs.slice(0, GLOVE_DIM).map(Math.abs)) / 254 + 1e-6;
    expect(maxErr(row(0, 0), 'dogs')).toBeLessThanOrEqual(bound);
    expect(maxErr(row(1, 1), 'dogs')).toBeLessThanOrEqual(bound);
    expect(maxErr(row(0, 2), 'beach')).toBeLessThan(0.02);
    for (const [b, l] of [[0, 1], [0, 3], [1, 2]]) expect(Math.max(...row(b, l).map(Math.abs))).toBe(0);
    await session.release();
  });

  it('quantizes each row symmetrically to int8 with a zero scale for zero rows', () => {
    const { q, scale } = quantizeRows(Float32Array.from([0, 0, 0, 1, -0.5, 0.25]), 3);
    expect(scale[0]).toBe(0);
    expect(Array.from(q.slice(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(q.slice(3))).toEqual([127, -63, 32]); // -63.5 rounds up
    expect(scale[1]).toBeCloseTo(1 / 127, 8);
  });

  it('splits caption words the way the tokenizer does', () => {
    expect(captionWords("A girl's Café-trip, 2 dogs!")).toEqual(['a', 'girl', 's', 'cafe', 'trip', '2', 'dogs']);
  });
});
