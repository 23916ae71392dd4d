/**
 * Text → fixed-length id tensors, with the Hugging Face tokenizers (pure JS) reading a standard
 * tokenizer.json, so a real CLIP export and our generated models tokenize the same way.
 */
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { readRegularTextFile, UnsafeFileError } from '../fs/safe-read';

export interface TokenizedBatch {
  /** [batch, maxLength] row-major. */
  ids: BigInt64Array | Int32Array;
  /** [batch, maxLength], 1 for real tokens, in the same integer type as ids. */
  mask: BigInt64Array | Int32Array;
  /** Real tokens per text (after truncation). */
  lengths: number[];
  batch: number;
  maxLength: number;
}

export interface TokenizerJson {
  model?: { type?: string; vocab?: unknown; unk_token?: string };
  added_tokens?: { id: number; content: string; special?: boolean }[];
  padding?: { pad_id?: number; pad_token?: string } | null;
  truncation?: { max_length?: number } | null;
  [key: string]: unknown;
}

export interface TokenizerFiles {
  json: TokenizerJson;
  /** tokenizer_config.json next to tokenizer.json, or {}. */
  config: Record<string, unknown>;
}

export async function readTokenizerFiles(file: string): Promise<TokenizerFiles> {
  let text: string;
  try {
    text = await readRegularTextFile(file);
  } catch (e) {
    if (e instanceof UnsafeFileError) throw new Error(`Tokenizer file ${e.message} Use a real tokenizer.json file.`, { cause: e });
    throw new Error(`Tokenizer file ${file} not found. Re-install the model or fix "tokenizer" in its model.json.`, { cause: e });
  }
  let json: TokenizerJson;
  try {
    json = JSON.parse(text) as TokenizerJson;
  } catch (e) {
    throw new Error(`Tokenizer file ${file} is not valid JSON (${(e as Error).message}). Re-download it.`, { cause: e });
  }
  let config: Record<string, unknown> = {};
  try {
    config = JSON.parse(await readRegularTextFile(path.join(path.dirname(file), 'tokenizer_config.json'))) as Record<string, unknown>;
  } catch {
    // tokenizer_config.json is optional.
  }
  return { json, config };
}

/** The pad id a tokenizer declares: padding.pad_id, else tokenizer_config's pad_token, else a known pad token, else 0. */
export function padIdOf(files: TokenizerFiles): number {
  if (typeof files.json.padding?.pad_id === 'number') return files.json.padding.pad_id;
  const byToken = (tok: unknown): number | undefined => {
    const content = typeof tok === 'string' ? tok : (tok as { content?: string } | undefined)?.content;
    if (!content) return undefined;
    const added = files.json.added_tokens?.find((t) => t.content === content);
    if (added) return added.id;
    const vocab = files.json.model?.vocab;
    if (vocab && !Array.isArray(vocab) && typeof vocab === 'object') return (vocab as Record<string, number>)[content];
    return undefined;
  };
  return byToken(files.config.pad_token) ?? byToken('[PAD]') ?? byToken('<pad>') ?? byToken('<|endoftext|>') ?? 0;
}

export class TextTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly specialIds: Set<number>;

  constructor(
    files: TokenizerFiles,
    readonly opts: { maxLength: number; padId: number; idsType: 'int64' | 'int32'; source?: string },
  ) {
    try {
      this.tokenizer = new Tokenizer(files.json, files.config);
    } catch (e) {
      throw new Error(`Tokenizer ${opts.source ?? ''} could not be loaded (${(e as Error).message}). It must be a Hugging Face tokenizer.json.`, { cause: e });
    }
    this.specialIds = new Set((files.json.added_tokens ?? []).filter((t) => t.special).map((t) => t.id));
  }

  static async load(file: string, opts: { maxLength: number; padId: number; idsType: 'int64' | 'int32' }): Promise<TextTokenizer> {
    return new TextTokenizer(await readTokenizerFiles(file), { ...opts, source: file });
  }

  /** Token ids of one text, truncated to maxLength; a trailing special token (CLIP's end, BERT's [SEP]) is kept. */
  encodeOne(text: string): number[] {
    const ids = this.tokenizer.encode(text).ids;
    const max = this.opts.maxLength;
    if (ids.length <= max) return ids;
    const last = ids[ids.length - 1];
    // CLIP pools at the end token: losing it would pool a random word instead.
    return this.specialIds.has(last) ? [...ids.slice(0, max - 1), last] : ids.slice(0, max);
  }

  encode(texts: string[]): TokenizedBatch {
    const L = this.opts.maxLength;
    const n = texts.length * L;
    const int64 = this.opts.idsType === 'int64';
    const ids = int64 ? new BigInt64Array(n) : new Int32Array(n);
    const mask = int64 ? new BigInt64Array(n) : new Int32Array(n);
    const lengths: number[] = [];
    texts.forEach((text, b) => {
      const row = this.encodeOne(text);
      lengths.push(row.length);
      for (let i = 0; i < L; i++) {
        const id = i < row.length ? row[i] : this.opts.padId;
        const m = i < row.length ? 1 : 0;
        if (int64) {
          (ids as BigInt64Array)[b * L + i] = BigInt(id);
          (mask as BigInt64Array)[b * L + i] = BigInt(m);
        } else {
          (ids as Int32Array)[b * L + i] = id;
          (mask as Int32Array)[b * L + i] = m;
        }
      }
    });
    return { ids, mask, lengths, batch: texts.length, maxLength: L };
  }

  tokenize(text: string): string[] {
    return this.tokenizer.tokenize(text);
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }
}
