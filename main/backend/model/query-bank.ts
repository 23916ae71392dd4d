/**
 * Hubness correction with a bank of typical queries (as QB-Norm does): in a learned joint space some photos sit
 * close to most captions ("hubs") and come up for queries they do not answer. How much of a hub a photo is, is
 * read off a bank of captions embedded by the model itself:
 *
 *   hub(p) = (1/β) · log( mean_b exp(β · cos(p, b)) )        (a soft maximum of its similarity to the bank)
 *
 * and a text query ranks photos by cos(q, p) − λ · hub(p) instead of the cosine alone. A photo close to every
 * caption loses a little; one close to few gains. β and λ were chosen on held-out Flickr8k train photos
 * (docs/BENCHMARKS.md, "Hubness correction"); the bank is a file of captions in the model folder (`text.queryBank`),
 * embedded with the model's own towers and heads on first use, so a retrained model (same file, new heads)
 * re-embeds it in its own space. A model may also ship the bank already embedded (`vectors`, float32 rows, with
 * the digest of the heads that embedded it): used when the digest is the model's heads', which saves embedding
 * the captions in every process that searches (about a second for 1,024 of them).
 */
import { createHash } from 'node:crypto';
import { seededRandom, shuffleInPlace } from '../../../shared/random';
import { readRegularFile, readRegularTextFile } from '../fs/safe-read';
import type { Heads } from './heads-format';
import type { ModelManifest } from './types';

export interface QueryBank {
  /** Unit-length caption embeddings, row after row (count × dim). */
  vectors: Float32Array;
  count: number;
  dim: number;
  beta: number;
  lambda: number;
}

/** Captions per embedding call, so a bank never becomes one giant tensor. */
const EMBED_CHUNK = 256;
/** A bank needs enough captions to say what "typical" is; more than this only costs time. */
export const MIN_BANK = 16;
export const MAX_BANK = 8192;

/** The bank's captions, one per line, blank lines skipped. */
export function parseBank(content: string): string[] {
  return content
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Read the model's bank file and embed it; null when the model has none. */
export async function loadQueryBank(
  manifest: ModelManifest,
  heads: Heads,
  file: (rel: string) => string,
  embedTexts: (texts: string[]) => Promise<Float32Array[]>,
): Promise<QueryBank | null> {
  const spec = manifest.text.queryBank;
  if (!spec) return null;
  let captions: string[];
  try {
    captions = parseBank(await readRegularTextFile(file(spec.file)));
  } catch (e) {
    throw new Error(`The model's query bank ${file(spec.file)} cannot be read (${(e as Error).message}). Re-install the model.`, { cause: e });
  }
  if (captions.length < MIN_BANK) throw new Error(`The model's query bank ${file(spec.file)} has ${captions.length} captions; it needs at least ${MIN_BANK}. Re-install the model.`);
  captions = captions.slice(0, MAX_BANK);
  const dim = manifest.embedDim;
  const shipped = spec.vectors && spec.headsDigest === headsDigest(heads) ? await readVectors(file(spec.vectors), captions.length * dim) : null;
  if (shipped) return { vectors: shipped, count: captions.length, dim, beta: spec.beta, lambda: spec.lambda };
  const vectors = new Float32Array(captions.length * dim);
  for (let i = 0; i < captions.length; i += EMBED_CHUNK) {
    const rows = await embedTexts(captions.slice(i, i + EMBED_CHUNK));
    rows.forEach((r, j) => vectors.set(r, (i + j) * dim));
  }
  return { vectors, count: captions.length, dim, beta: spec.beta, lambda: spec.lambda };
}

/** The embedded bank as shipped, or null when its file is missing or of the wrong size (then it is embedded anew). */
async function readVectors(file: string, values: number): Promise<Float32Array | null> {
  const buf = await readRegularFile(file, values * 4).catch(() => null);
  if (!buf || buf.byteLength !== values * 4) return null;
  const out = new Float32Array(values);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/** A digest of the heads' weights (names, shapes and values): which heads embedded a shipped bank. */
export function headsDigest(heads: Heads): string {
  const h = createHash('sha256');
  for (const [name, t] of [...heads.weights].sort(([a], [b]) => a.localeCompare(b))) {
    h.update(`${name}:${t.shape.join('x')};`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex').slice(0, 16);
}

/** hub(p) of one unit-length photo embedding (see the file comment), computed stably. */
export function hubOf(bank: QueryBank, v: Float32Array): number {
  const { vectors, count, dim, beta } = bank;
  const sims = new Float64Array(count);
  let top = -Infinity;
  for (let b = 0; b < count; b++) {
    let s = 0;
    const o = b * dim;
    for (let j = 0; j < dim; j++) s += v[j]! * vectors[o + j]!;
    sims[b] = s;
    if (s > top) top = s;
  }
  let sum = 0;
  for (let b = 0; b < count; b++) sum += Math.exp(beta * (sims[b]! - top));
  return top + Math.log(sum / count) / beta;
}

/** The score a text query ranks a photo by: its cosine less λ times how much of a hub the photo is. */
export function correctedScore(bank: QueryBank, cosine: number, hub: number): number {
  return cosine - bank.lambda * hub;
}

/** What ranking as search does takes off each photo's score (λ · hub), for recall figures; none without a bank. */
export function hubPenalties(bank: QueryBank | null, photos: readonly Float32Array[]): Float32Array | undefined {
  return bank ? Float32Array.from(photos, (v) => bank.lambda * hubOf(bank, v)) : undefined;
}

/** Captions of a captioned set a retrained model's bank takes in beside its base's (see grownBank). */
export const BANK_FROM_SET = 1024;

/**
 * A retrained model's bank: its base's captions and up to BANK_FROM_SET of the captions it was trained on (picked
 * with a fixed seed), so that what is typical of the new kind of photo is in it too. On 2,000 generated scenes the
 * base's Flickr8k bank alone cost 1 point of held-out R@1 against no correction; with the set's captions beside it
 * the correction gained 1 (docs/BENCHMARKS.md, "Hubness correction").
 */
export async function grownBank(baseFile: string, trainedTexts: readonly string[], seed = 1): Promise<string> {
  // A base whose bank cannot be read (search says so in one line) still gets one from the set.
  const base = parseBank(await readRegularTextFile(baseFile).catch(() => ''));
  const pool = shuffleInPlace(
    trainedTexts.map((t) => t.replace(/\s+/g, ' ').trim()).filter(Boolean),
    seededRandom(seed),
  );
  const lines = [...base, ...pool.slice(0, BANK_FROM_SET)].slice(0, MAX_BANK);
  return `${lines.join('\n')}\n`;
}
