/**
 * A loaded model: prepare → tower (onnxruntime) → heads → L2-normalized embeddings. The towers open lazily
 * (search only needs the text side); the tower keys identify the exact tower + preprocessing for the
 * feature cache, so changing either means recomputing features.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sha256, sha256File } from '../fs/hash';
import type { DecodeOptions } from '../photos/decode';
import { HeadsRunner } from './heads';
import { hasKnownWord, readKnownWords } from './known-words';
import { type Heads, loadHeads } from './heads-format';
import { checkSessionIO, createSessionFromFile, ort } from './ort';
import { prepareImage } from './preprocess';
import { expandQueries, loadCaptionMemory, type CaptionMemory } from './caption-memory';
import { loadQueryBank, type QueryBank } from './query-bank';
import { TextTokenizer } from './tokenizer';
import type { EmbeddingModel, ImageView, ModelManifest, PreparedImage, TextFeatures } from './types';
import { combineViews, photoFeatureKey, photoViewsProblem, viewOf } from './views';

export interface LoadModelOptions extends DecodeOptions {
  /** Texts per text-tower run (bounds memory for long caption lists). */
  textBatch?: number;
}

// Hashes of big ONNX files are kept per (path, size, mtime) so reloading a model does not re-read them.
const fileHashes = new Map<string, Promise<string>>();

async function hashFile(file: string, what: string): Promise<string> {
  const st = await fs.stat(file).catch(() => null);
  if (!st || !st.isFile()) throw new Error(`Model file ${file} (${what}) not found. Re-install the model or fix the path in its model.json.`);
  const key = `${file}\0${st.size}\0${st.mtimeMs}`;
  let p = fileHashes.get(key);
  if (!p) {
    p = sha256File(file).catch((e: Error) => {
      throw new Error(`Cannot read model file ${file} (${e.message}). Check its permissions.`);
    });
    p.catch(() => fileHashes.delete(key));
    fileHashes.set(key, p);
  }
  return p;
}

function shortKey(parts: unknown): string {
  return sha256(JSON.stringify(parts)).slice(0, 16);
}

/** Tower key: the ONNX bytes plus every setting that changes what the tower sees. */
export async function towerKeys(dir: string, m: ModelManifest): Promise<{ image: string; text: string }> {
  const file = (f: string) => path.resolve(dir, f);
  const [img, txt, tok] = await Promise.all([
    hashFile(file(m.image.file), 'image tower'),
    hashFile(file(m.text.file), 'text tower'),
    hashFile(file(m.text.tokenizer), 'tokenizer'),
  ]);
  // The views a photo is averaged over change a photo's features, not the tower's (see photoFeatureKey).
  const { file: _i, views: _v, ...imageSettings } = m.image;
  // The word list only gates queries, the template only shapes them, the bank only re-ranks, the caption memory
  // only moves queries: no feature changes.
  const { file: _t, tokenizer: _k, knownWords: _w, queryTemplate: _q, queryBank: _b, captionMemory: _c, ...textSettings } = m.text;
  return { image: shortKey(['image', img, imageSettings]), text: shortKey(['text', txt, tok, textSettings]) };
}

interface TextTower {
  session: ort.InferenceSession;
  tokenizer: TextTokenizer;
  maskInput: string | null;
}

class OnnxEmbeddingModel implements EmbeddingModel {
  readonly id: string;
  readonly embedDim: number;
  readonly photoFeatureKey: string;
  private image: Promise<ort.InferenceSession> | null = null;
  private words: Promise<Set<string> | null> | null = null;
  private text: Promise<TextTower> | null = null;
  private bank: Promise<QueryBank | null> | null = null;
  private memory: Promise<CaptionMemory | null> | null = null;

  constructor(
    readonly dir: string,
    readonly manifest: ModelManifest,
    readonly imageTowerKey: string,
    readonly textTowerKey: string,
    private readonly runner: HeadsRunner,
    private readonly opts: LoadModelOptions,
  ) {
    this.id = manifest.id;
    this.embedDim = manifest.embedDim;
    this.photoFeatureKey = photoFeatureKey(imageTowerKey, manifest.image.views);
  }

  get heads(): Heads {
    return this.runner.heads;
  }

  private file(f: string): string {
    return path.resolve(this.dir, f);
  }

  private imageSession(): Promise<ort.InferenceSession> {
    this.image ??= (async () => {
      const spec = this.manifest.image;
      const file = this.file(spec.file);
      const s = await createSessionFromFile(file);
      checkSessionIO(s, file, [spec.input], [spec.output]);
      const extra = s.inputNames.filter((n) => n !== spec.input);
      if (extra.length) throw new Error(`Model file ${file} needs inputs this app does not provide (${extra.join(', ')}). Its image tower must take only "${spec.input}".`);
      return s;
    })();
    this.image.catch(() => (this.image = null));
    return this.image;
  }

  private textTower(): Promise<TextTower> {
    this.text ??= (async () => {
      const spec = this.manifest.text;
      const file = this.file(spec.file);
      const tokenizer = await TextTokenizer.load(this.file(spec.tokenizer), spec);
      const session = await createSessionFromFile(file);
      checkSessionIO(session, file, [spec.inputs.inputIds, ...(spec.inputs.attentionMask ? [spec.inputs.attentionMask] : [])], [spec.output]);
      // Hugging Face exports may or may not take attention_mask; feed it when the graph has it.
      const maskInput = spec.inputs.attentionMask ?? (session.inputNames.includes('attention_mask') ? 'attention_mask' : null);
      const extra = session.inputNames.filter((n) => n !== spec.inputs.inputIds && n !== maskInput);
      if (extra.length) throw new Error(`Model file ${file} needs inputs this app does not provide (${extra.join(', ')}). Name them in model.json or use another export.`);
      return { session, tokenizer, maskInput };
    })();
    this.text.catch(() => (this.text = null));
    return this.text;
  }

  prepareImage(input: string | Buffer): Promise<PreparedImage> {
    return prepareImage(input, this.manifest.image.preprocess, this.opts);
  }

  async imageFeatures(batch: PreparedImage[]): Promise<Float32Array[]> {
    if (batch.length === 0) return [];
    const spec = this.manifest.image;
    const S = spec.preprocess.size;
    const per = 3 * S * S;
    const flat = new Float32Array(batch.length * per);
    batch.forEach((p, i) => {
      if (p.tensor.length !== per) throw new Error(`Prepared image has ${p.tensor.length} values, the image tower needs ${per}: prepare it with the same model.`);
      flat.set(p.tensor, i * per);
    });
    const dims = spec.preprocess.layout === 'nchw' ? [batch.length, 3, S, S] : [batch.length, S, S, 3];
    const session = await this.imageSession();
    const out = (await session.run({ [spec.input]: new ort.Tensor('float32', flat, dims) }))[spec.output];
    const data = out.data as Float32Array;
    const dim = data.length / batch.length;
    if (dim !== spec.featureDim) {
      throw new Error(`Image tower ${this.file(spec.file)} gives ${dim} values per image but model.json says featureDim ${spec.featureDim}. Fix featureDim.`);
    }
    const res: Float32Array[] = [];
    for (let i = 0; i < batch.length; i++) res.push(data.slice(i * dim, (i + 1) * dim));
    return res;
  }

  async photoFeatures(batch: PreparedImage[]): Promise<Float32Array[]> {
    const pv = this.manifest.image.views;
    if (!pv || batch.length === 0) return this.imageFeatures(batch);
    // One tower run over the photos and every view of them, then each photo's views averaged.
    const layout = this.manifest.image.preprocess.layout;
    const all = await this.imageFeatures([...batch, ...pv.views.flatMap((v) => batch.map(viewOf(v, layout)))]);
    const n = batch.length;
    return batch.map((_, i) => combineViews(pv, all[i]!, new Map(pv.views.map((v, k): [ImageView, Float32Array] => [v, all[(k + 1) * n + i]!]))));
  }

  async textFeatures(texts: string[]): Promise<TextFeatures[]> {
    const chunk = this.opts.textBatch ?? 256;
    const res: TextFeatures[] = [];
    for (let i = 0; i < texts.length; i += chunk) res.push(...(await this.textChunk(texts.slice(i, i + chunk))));
    return res;
  }

  private async textChunk(texts: string[]): Promise<TextFeatures[]> {
    if (texts.length === 0) return [];
    const spec = this.manifest.text;
    const { session, tokenizer, maskInput } = await this.textTower();
    const enc = tokenizer.encode(texts);
    const shape = [enc.batch, enc.maxLength];
    const type = spec.idsType;
    const feeds: Record<string, ort.Tensor> = { [spec.inputs.inputIds]: new ort.Tensor(type, enc.ids, shape) };
    if (maskInput) feeds[maskInput] = new ort.Tensor(type, enc.mask, shape);
    const outputs = await session.run(feeds);
    const out = outputs[spec.output];
    const tokenMask = spec.outputKind === 'sequence' && spec.maskOutput ? (outputs[spec.maskOutput]?.data as Float32Array | undefined) : undefined;
    if (spec.maskOutput && spec.outputKind === 'sequence' && !tokenMask) throw new Error(`Text tower ${this.file(spec.file)} has no output "${spec.maskOutput}" (maskOutput in model.json).`);
    const data = out.data as Float32Array;
    const D = spec.featureDim;
    const bad = () => new Error(`Text tower ${this.file(spec.file)} output has shape [${out.dims}], which does not fit outputKind "${spec.outputKind}" with featureDim ${D}. Fix model.json.`);
    const res: TextFeatures[] = [];
    if (spec.outputKind === 'pooled') {
      if (data.length !== enc.batch * D) throw bad();
      for (let b = 0; b < enc.batch; b++) res.push({ data: data.slice(b * D, (b + 1) * D), length: 1 });
    } else {
      if (out.dims.length !== 3 || out.dims[2] !== D) throw bad();
      const L = out.dims[1];
      for (let b = 0; b < enc.batch; b++) {
        const start = b * L * D;
        if (spec.outputKind === 'cls') res.push({ data: data.slice(start, start + D), length: 1 });
        else {
          // Strip the padding: the heads pool over the real tokens only.
          const n = Math.min(enc.lengths[b], L);
          if (!tokenMask) {
            res.push({ data: data.slice(start, start + n * D), length: n });
            continue;
          }
          // Keep only the tokens the tower marks as known (drops [UNK] and punctuation).
          const kept: number[] = [];
          for (let l = 0; l < n; l++) if (tokenMask[b * L + l] > 0.5) kept.push(l);
          const rows = new Float32Array(kept.length * D);
          kept.forEach((l, k) => rows.set(data.subarray(start + l * D, start + (l + 1) * D), k * D));
          res.push({ data: rows, length: kept.length });
        }
      }
    }
    return res;
  }

  embedImageFeatures(features: Float32Array[]): Promise<Float32Array[]> {
    return this.runner.embedImage(features);
  }

  embedTextFeatures(features: TextFeatures[]): Promise<Float32Array[]> {
    return this.runner.embedText(features);
  }

  async knowsAnyWord(text: string): Promise<boolean> {
    const list = this.manifest.text.knownWords;
    if (!list) return true;
    this.words ??= readKnownWords(this.file(list));
    this.words.catch(() => (this.words = null));
    return hasKnownWord(text, (await this.words)!);
  }

  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    return this.embedTextFeatures(await this.textFeatures(texts));
  }

  private captionMemory(): Promise<CaptionMemory | null> {
    this.memory ??= loadCaptionMemory(this.manifest, (f) => this.file(f), (x) => this.embedImageFeatures(x), (x) => this.embedTextFeatures(x));
    this.memory.catch(() => (this.memory = null));
    return this.memory;
  }

  async expandQueries(vectors: readonly Float32Array[]): Promise<Float32Array[]> {
    const memory = vectors.length ? await this.captionMemory() : null;
    return memory ? expandQueries(memory, vectors) : vectors.map((v) => v.slice());
  }

  async embedQueries(texts: string[]): Promise<Float32Array[]> {
    return this.expandQueries(await this.embedTexts(texts));
  }

  queryBank(): Promise<QueryBank | null> {
    // The bank stands for typical queries, so it is embedded as queries are (with the caption memory).
    this.bank ??= loadQueryBank(this.manifest, this.heads, (f) => this.file(f), (t) => this.embedQueries(t));
    this.bank.catch(() => (this.bank = null));
    return this.bank;
  }

  async dispose(): Promise<void> {
    const img = await this.image?.catch(() => null);
    const txt = await this.text?.catch(() => null);
    this.image = this.text = this.bank = this.memory = null;
    await img?.release();
    await txt?.session.release();
    await this.runner.dispose();
  }
}

/** Check the heads fit the towers, so a mismatch fails at load with a message instead of at embed time. */
function checkHeads(heads: Heads, m: ModelManifest, where: string): void {
  const s = heads.spec;
  const problems: string[] = [];
  if (s.imageInDim !== m.image.featureDim) problems.push(`image input ${s.imageInDim} ≠ image featureDim ${m.image.featureDim}`);
  if (s.textInDim !== m.text.featureDim) problems.push(`text input ${s.textInDim} ≠ text featureDim ${m.text.featureDim}`);
  if (s.embedDim !== m.embedDim) problems.push(`embedDim ${s.embedDim} ≠ model embedDim ${m.embedDim}`);
  if (m.text.outputKind === 'sequence' && s.textPool === 'none') problems.push('sequence text features need textPool "mean" or "attention"');
  const views = m.image.views ? photoViewsProblem(m.image.views, m.image.featureDim) : null;
  if (views) problems.push(views);
  if (problems.length) throw new Error(`Heads ${where} do not fit the model (${problems.join('; ')}). Re-train or re-install the model.`);
}

/** A model folder already read: its manifest, and its heads when they live in memory (catalog/resolve.ts reads it). */
export interface ModelFolder {
  dir: string;
  manifest: ModelManifest;
  /** Set when the heads are not a file (a Hugging Face export's identity adapters), else read from manifest.heads. */
  heads: Heads | null;
}

/** Load a resolved model folder (catalog/open-model.ts opens one by path). Towers open on first use. */
export async function loadModel(resolved: ModelFolder, opts: LoadModelOptions = {}): Promise<EmbeddingModel> {
  const dir = resolved.dir;
  const m = resolved.manifest;
  const headsFile = m.heads ? path.resolve(dir, m.heads) : null;
  if (!resolved.heads && !headsFile) throw new Error(`Model manifest ${path.join(dir, 'model.json')} names no heads file. Set "heads" or re-install the model.`);
  const heads = resolved.heads ?? (await loadHeads(headsFile as string));
  checkHeads(heads, m, headsFile ?? 'in memory');
  const runner = new HeadsRunner(heads, m.text.outputKind === 'sequence' ? 'sequence' : 'pooled');
  const keys = await towerKeys(dir, m);
  return new OnnxEmbeddingModel(dir, m, keys.image, keys.text, runner, opts);
}
