/** The text tower's tokenizer: padding, masks, WordPiece pieces, truncation and bad files. */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TextTokenizer, padIdOf } from '../../main/backend/model/tokenizer';
import { testTokenizerJson } from '../helpers/generate-model';

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ps-tok-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('TextTokenizer', () => {
  const files = { json: testTokenizerJson(), config: {} };
  it('pads, marks real tokens and maps unknown words to [UNK]', () => {
    const tok = new TextTokenizer(files, { maxLength: 8, padId: 0, idsType: 'int64' });
    const enc = tok.encode(['Red DOG', 'a qwertyuiop zebra', '']);
    const unk = tok.tokenToId('[UNK]') as number;
    const row = (b: number) => Array.from(enc.ids.slice(b * 8, b * 8 + 8), Number);
    expect(row(0)).toEqual([2, tok.tokenToId('red'), tok.tokenToId('dog'), 3, 0, 0, 0, 0]);
    expect(row(1)).toEqual([2, tok.tokenToId('a'), unk, unk, 3, 0, 0, 0]);
    expect(row(2)).toEqual([2, 3, 0, 0, 0, 0, 0, 0]);
    expect(enc.lengths).toEqual([4, 5, 2]);
    expect(Array.from(enc.mask.slice(0, 8), Number)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    expect(enc.ids).toBeInstanceOf(BigInt64Array);
  });

  it('splits words into WordPiece pieces', () => {
    const tok = new TextTokenizer(files, { maxLength: 16, padId: 0, idsType: 'int32' });
    expect(tok.tokenize('Balls running!')).toEqual(['ball', '##s', 'running', '!']);
  });

  it('truncates to maxLength and keeps the end token', () => {
    const tok = new TextTokenizer(files, { maxLength: 5, padId: 0, idsType: 'int32' });
    const enc = tok.encode(['one two three four five six seven']);
    expect(enc.ids).toBeInstanceOf(Int32Array);
    expect(Array.from(enc.ids)).toEqual([2, tok.tokenToId('one'), tok.tokenToId('two'), tok.tokenToId('three'), 3]);
    expect(enc.lengths).toEqual([5]);
  });

  it('finds the pad id from the tokenizer files', () => {
    expect(padIdOf({ json: { padding: { pad_id: 7 } }, config: {} })).toBe(7);
    expect(padIdOf({ json: testTokenizerJson(), config: { pad_token: '[SEP]' } })).toBe(3);
    const clip = { json: { added_tokens: [{ id: 49407, content: '<|endoftext|>', special: true }] }, config: { pad_token: '<|endoftext|>' } };
    expect(padIdOf(clip)).toBe(49407);
  });

  it('says which file is wrong', async () => {
    await expect(TextTokenizer.load(path.join(tmp, 'none.json'), { maxLength: 4, padId: 0, idsType: 'int64' })).rejects.toThrow(/Tokenizer file .*none\.json not found/);
    const bad = path.join(tmp, 'bad-tokenizer.json');
    await fs.writeFile(bad, '{');
    await expect(TextTokenizer.load(bad, { maxLength: 4, padId: 0, idsType: 'int64' })).rejects.toThrow(/bad-tokenizer\.json is not valid JSON/);
  });
});
