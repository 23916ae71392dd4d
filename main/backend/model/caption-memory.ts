/**
 * Caption memory: the captioned photos a model was trained on, kept as tower features, so that a text query can
 * borrow from the photos whose captions say what it says. A query q (unit length) is moved toward the photos of
 * its k nearest captions:
 *
 *   q' = normalize( q + weight · Σ_j softmax_j(temperature · q·c_j) · v_j )
 *
 * c_j is the embedding (the model's text side) of the mean of photo j's caption features, v_j the embedding (image
 * side) of photo j's features. The sentence encoder places a query near captions that say the same thing in other
 * words far more reliably than the heads place it near the photo itself; the photos of those captions carry it
 * across to where photos like them are. On held-out Flickr8k train photos (the built-in heads, three members, with
 * the hubness correction) text→photo R@5 rose from 47.8 to 50.5 (docs/BENCHMARKS.md, "Caption memory").
 *
 * The file keeps tower features, not embeddings, so a retrained model (new heads) embeds the same memory in its own
 * space; a retrained model's memory is its base's and the photos it was trained on (train/save.ts). One row per
 * photo, rows simply concatenated (a retrained model appends its rows to its base's):
 *
 *   float32 image scale, float32 text scale, int8 × image featureDim, int8 × text featureDim
 *
 * each feature value being int8 × its row's scale (symmetric per-row quantization: on the held-out photos above,
 * the int8 rows rank as the float32 ones do).
 */
import { readRegularFile } from '../fs/safe-read';
import { GraphBuilder } from '../onnx/builder';
import { ort, sharedSession } from './ort';
import type { ModelManifest, TextFeatures } from './types';

export interface CaptionMemory {
  /** Unit-length caption embeddings (count × dim): what a query is compared with. */
  keys: Float32Array;
  /** Unit-length photo embeddings (count × dim): what a query borrows. */
  values: Float32Array;
  count: number;
  dim: number;
  k: number;
  temperature: number;
  weight: number;
}

/** One photo of the memory: its features as search sees them and the mean of its captions' text features. */
export interface MemoryEntry {
  image: Float32Array;
  text: Float32Array;
}

/** A new memory's file name, and the settings chosen on held-out Flickr8k train photos (docs/BENCHMARKS.md). */
export const CAPTION_MEMORY_FILE = 'caption-memory.bin';
export const CAPTION_MEMORY_DEFAULTS = { k: 5, temperature: 20, weight: 0.25 } as const;

/**
 * The weights a retrained model's memory may take, chosen on the set's held-out photos (train/cross-validate.ts): a
 * set like the base's keeps about the base's; a new kind whose captions say exactly what its photos show may lean
 * on its own photos more.
 */
export const MEMORY_WEIGHTS = [0, 0.25, 0.5, 1] as const;

/** More rows than this are refused (about 1 GB of file with the built-in towers). */
export const MAX_MEMORY = 400_000;
/** Rows per embedding call, so the memory never becomes one giant tensor. */
const EMBED_CHUNK = 512;

export function memoryRowBytes(imageDim: number, textDim: number): number {
  return 8 + imageDim + textDim;
}

function quantize(v: Float32Array, out: Int8Array): number {
  let top = 0;
  for (let i = 0; i < v.length; i++) top = Math.max(top, Math.abs(v[i]!));
  const scale = top > 0 ? top / 127 : 1;
  for (let i = 0; i < v.length; i++) out[i] = Math.round(v[i]! / scale);
  return scale;
}

/** Rows for `entries` (appended to a base's file as they are). */
export function encodeMemory(entries: readonly MemoryEntry[], imageDim: number, textDim: number): Buffer {
  const row = memoryRowBytes(imageDim, textDim);
  const buf = Buffer.alloc(entries.length * row);
  entries.forEach((e, i) => {
    if (e.image.length !== imageDim || e.text.length !== textDim) throw new Error(`Caption memory row ${i} has ${e.image.length} + ${e.text.length} values; the model needs ${imageDim} + ${textDim}.`);
    const o = i * row;
    const ints = new Int8Array(buf.buffer, buf.byteOffset + o + 8, imageDim + textDim);
    buf.writeFloatLE(quantize(e.image, ints.subarray(0, imageDim)), o);
    buf.writeFloatLE(quantize(e.text, ints.subarray(imageDim)), o + 4);
  });
  return buf;
}

/** The rows of a memory file as features again. */
export function decodeMemory(buf: Uint8Array, imageDim: number, textDim: number, where: string): MemoryEntry[] {
  const row = memoryRowBytes(imageDim, textDim);
  if (buf.byteLength === 0 || buf.byteLength % row !== 0) {
    throw new Error(`The model's caption memory ${where} has ${buf.byteLength} bytes, not a whole number of ${row}-byte rows. Re-install the model.`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: MemoryEntry[] = [];
  for (let o = 0; o < buf.byteLength; o += row) {
    const si = view.getFloat32(o, true);
    const st = view.getFloat32(o + 4, true);
    if (!(si > 0 && st > 0 && Number.isFinite(si) && Number.isFinite(st))) throw new Error(`The model's caption memory ${where} is damaged (row ${o / row}). Re-install the model.`);
    const ints = new Int8Array(buf.buffer, buf.byteOffset + o + 8, imageDim + textDim);
    const image = new Float32Array(imageDim);
    const text = new Float32Array(textDim);
    for (let i = 0; i < imageDim; i++) image[i] = ints[i]! * si;
    for (let i = 0; i < textDim; i++) text[i] = ints[imageDim + i]! * st;
    out.push({ image, text });
  }
  return out;
}

/**
 * A memory entry per photo of a featurised set, for the photos given: the photo's features and the mean of its
 * captions' (pooled) text features. Null when the text features are sequences (a mean of token rows of different
 * lengths is no caption): such a model keeps no memory.
 */
export function memoryEntries(
  f: { imageFeatures: readonly Float32Array[]; captions: readonly { photo: number; features: TextFeatures }[] },
  photos: readonly number[],
): MemoryEntry[] | null {
  if (f.captions.some((c) => c.features.length !== 1)) return null;
  const sums = new Map<number, { sum: Float32Array; n: number }>();
  const wanted = new Set(photos);
  for (const c of f.captions) {
    if (!wanted.has(c.photo)) continue;
    let s = sums.get(c.photo);
    if (!s) sums.set(c.photo, (s = { sum: new Float32Array(c.features.data.length), n: 0 }));
    for (let i = 0; i < s.sum.length; i++) s.sum[i]! += c.features.data[i]!;
    s.n++;
  }
  const out: MemoryEntry[] = [];
  for (const p of photos) {
    const s = sums.get(p);
    if (!s) continue; // a photo without captions says nothing to borrow from
    out.push({ image: f.imageFeatures[p]!, text: s.sum.map((x) => x / s.n) });
  }
  return out;
}

/** The rows of the model's memory file as features; null when the model has none. */
export async function readMemoryEntries(manifest: ModelManifest, file: (rel: string) => string): Promise<MemoryEntry[] | null> {
  const spec = manifest.text.captionMemory;
  if (!spec) return null;
  const where = file(spec.file);
  const imageDim = manifest.image.featureDim;
  const textDim = manifest.text.featureDim;
  let buf: Uint8Array;
  try {
    buf = await readRegularFile(where, MAX_MEMORY * memoryRowBytes(imageDim, textDim));
  } catch (e) {
    throw new Error(`The model's caption memory ${where} cannot be read (${(e as Error).message}). Re-install the model.`, { cause: e });
  }
  return decodeMemory(buf, imageDim, textDim, where);
}

/** Memory rows embedded by some heads (`embedImages`, `embedTexts`), with the model's settings. */
export async function embedMemory(
  entries: readonly MemoryEntry[],
  spec: NonNullable<ModelManifest['text']['captionMemory']>,
  dim: number,
  embedImages: (features: Float32Array[]) => Promise<Float32Array[]>,
  embedTexts: (features: TextFeatures[]) => Promise<Float32Array[]>,
): Promise<CaptionMemory> {
  const keys = new Float32Array(entries.length * dim);
  const values = new Float32Array(entries.length * dim);
  for (let i = 0; i < entries.length; i += EMBED_CHUNK) {
    const chunk = entries.slice(i, i + EMBED_CHUNK);
    const [t, v] = await Promise.all([embedTexts(chunk.map((e) => ({ data: e.text, length: 1 }))), embedImages(chunk.map((e) => e.image))]);
    t.forEach((r, j) => keys.set(r, (i + j) * dim));
    v.forEach((r, j) => values.set(r, (i + j) * dim));
  }
  return { keys, values, count: entries.length, dim, k: Math.min(spec.k, entries.length), temperature: spec.temperature, weight: spec.weight };
}

/** Read and embed the model's memory with its own heads; null when the model has none. */
export async function loadCaptionMemory(
  manifest: ModelManifest,
  file: (rel: string) => string,
  embedImages: (features: Float32Array[]) => Promise<Float32Array[]>,
  embedTexts: (features: TextFeatures[]) => Promise<Float32Array[]>,
): Promise<CaptionMemory | null> {
  const entries = await readMemoryEntries(manifest, file);
  return entries ? embedMemory(entries, manifest.text.captionMemory!, manifest.embedDim, embedImages, embedTexts) : null;
}

/** The k best keys of each query: [n, dim] queries × [count, dim]ᵀ keys, then TopK (one onnxruntime run). */
function nearestSession(dim: number): Promise<ort.InferenceSession> {
  return sharedSession(
    `caption-memory-${dim}`,
    () => {
      const g = new GraphBuilder('caption-memory');
      g.input('queries', 'float32', ['n', dim]);
      g.input('keys', 'float32', ['m', dim]);
      g.input('k', 'int64', [1]);
      g.op('TopK', [g.op('Gemm', ['queries', 'keys'], { transB: 1 }), 'k'], { axis: 1 }, ['sims', 'rows']);
      g.output('sims', 'float32', ['n', 'k']);
      g.output('rows', 'int64', ['n', 'k']);
      return g.toBytes();
    },
    'caption memory',
  );
}

/** Queries (unit length, as the text side embeds them) moved toward the photos of their nearest captions. */
export async function expandQueries(m: CaptionMemory, queries: readonly Float32Array[]): Promise<Float32Array[]> {
  if (queries.length === 0 || m.count === 0 || m.k < 1 || m.weight === 0) return queries.map((q) => q.slice());
  const { dim, k } = m;
  const flat = new Float32Array(queries.length * dim);
  queries.forEach((q, i) => flat.set(q, i * dim));
  const session = await nearestSession(dim);
  const out = await session.run({
    queries: new ort.Tensor('float32', flat, [queries.length, dim]),
    keys: new ort.Tensor('float32', m.keys, [m.count, dim]),
    k: new ort.Tensor('int64', BigInt64Array.from([BigInt(k)]), [1]),
  });
  const sims = out.sims!.data as Float32Array;
  const rows = out.rows!.data as BigInt64Array;
  return queries.map((q, i) => {
    const w = new Float64Array(k);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += w[j] = Math.exp(m.temperature * (sims[i * k + j]! - sims[i * k]!));
    const v = Float32Array.from(q);
    for (let j = 0; j < k; j++) {
      const o = Number(rows[i * k + j]!) * dim;
      const a = (m.weight * w[j]!) / sum;
      for (let d = 0; d < dim; d++) v[d]! += a * m.values[o + d]!;
    }
    let n = 0;
    for (let d = 0; d < dim; d++) n += v[d]! * v[d]!;
    n = Math.sqrt(n) || 1;
    for (let d = 0; d < dim; d++) v[d]! /= n;
    return v;
  });
}
