/**
 * The text gate: a cheap first look that keeps the text reader off photos that almost surely hold no text. The
 * detector alone costs more per small photo than all of indexing (docs/BENCHMARKS.md, "Words in photos"), and
 * most photos have no words in them. The gate is a linear classifier (logistic regression) over the image
 * tower's features, which indexing already computed and cached (the `features` table): a dot product per photo,
 * no decoding. Trained offline by scripts/train-text-gate.ts on what the reader itself reads in Flickr8k train
 * photos and in generated receipts, screenshots, documents and signs.
 *
 * A gate belongs to one image tower: its file names the tower's key and feature size, and it is used only when
 * the active model's image tower is that one. Otherwise (another model, a rebuilt tower) and for a photo whose
 * features are not cached (compacted away), the photo is read as without a gate. A photo the gate passes over is
 * stored as "not read, gate <id>": `PHOTO_SEARCH_READ_TEXT=all` (or a new gate) takes it up again.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { sha256 } from '../fs/hash';
import { MAX_TEXT_BYTES, readRegularFileSync } from '../fs/safe-read';

export const TEXT_GATE_FILE = 'text-gate.json';
export const TEXT_GATE_FORMAT = 'photo-search-text-gate';

/** What the gate file holds (written by scripts/train-text-gate.ts). */
export interface TextGateFile {
  format: typeof TEXT_GATE_FORMAT;
  formatVersion: 1;
  /** The image tower whose features it reads (model.ts towerKeys) and their size. */
  towerKey: string;
  featureDim: number;
  /** The photo may hold text when bias + weights · features ≥ threshold (a logit). */
  threshold: number;
  bias: number;
  weights: number[];
  /** How it was trained and what it kept on held-out photos (for people; not read here). */
  training?: unknown;
}

/** How the text pass treats photos: `gate` (the default), `all` (read every photo), `off` (no text pass). */
export type TextReadMode = 'gate' | 'all' | 'off';

/** PHOTO_SEARCH_READ_TEXT: `0` turns the text pass off, `all` reads every photo, anything else uses the gate. */
export function textReadMode(env: NodeJS.ProcessEnv = process.env): TextReadMode {
  const v = (env.PHOTO_SEARCH_READ_TEXT ?? '').trim().toLowerCase();
  if (v === '0' || v === 'off' || v === 'false' || v === 'no') return 'off';
  if (v === 'all') return 'all';
  return 'gate';
}

// float16 bits → float32, for every 16-bit pattern: scoring reads the cached bytes without converting a vector.
let halfTable: Float32Array | null = null;
function halfToFloat(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    t[h] = e === 0 ? s * f * 2 ** -24 : e === 31 ? (f ? NaN : s * Infinity) : s * (1 + f / 1024) * 2 ** (e - 15);
  }
  return (halfTable = t);
}

/** A cached feature row as stored: its bytes and their type. */
export interface RawFeature {
  dim: number;
  length: number;
  dtype: 'float32' | 'float16';
  data: Buffer;
}

export class TextGate {
  /** Names this gate in the rows it writes (a retrained gate looks at the photos it did not pass again). */
  readonly id: string;
  private readonly w: Float32Array;

  constructor(readonly file: TextGateFile) {
    this.w = Float32Array.from(file.weights);
    this.id = `gate-${sha256(JSON.stringify([file.towerKey, file.threshold, file.bias, file.weights])).slice(0, 12)}`;
  }

  get towerKey(): string {
    return this.file.towerKey;
  }

  get threshold(): number {
    return this.file.threshold;
  }

  /** Whether this gate reads the features of that image tower. */
  fits(towerKey: string, featureDim: number): boolean {
    return this.file.towerKey === towerKey && this.file.featureDim === featureDim;
  }

  /** The logit of "this photo holds text" from its tower features (float32 values). */
  score(features: Float32Array): number {
    let s = this.file.bias;
    for (let i = 0; i < this.w.length; i++) s += this.w[i]! * features[i]!;
    return s;
  }

  /** The logit from a cached row's bytes, or null when the row is not this tower's size or not a number. */
  scoreRaw(row: RawFeature): number | null {
    if (row.length !== 1 || row.dim !== this.w.length) return null;
    const n = this.w.length;
    const b = row.data;
    let s = this.file.bias;
    if (row.dtype === 'float16') {
      if (b.byteLength !== n * 2) return null;
      const t = halfToFloat();
      for (let i = 0; i < n; i++) s += this.w[i]! * t[b[2 * i]! | (b[2 * i + 1]! << 8)]!;
    } else {
      if (b.byteLength !== n * 4) return null;
      for (let i = 0; i < n; i++) s += this.w[i]! * b.readFloatLE(4 * i);
    }
    return Number.isFinite(s) ? s : null;
  }

  /** Whether the photo should be read: missing or unreadable features are read (null score). */
  passes(score: number | null): boolean {
    return score === null || score >= this.file.threshold;
  }
}

/** Parse a gate file; a clear one-line error when it is not one. */
export function parseTextGate(json: string, where: string): TextGate {
  let f: TextGateFile;
  try {
    f = JSON.parse(json) as TextGateFile;
  } catch (e) {
    throw new Error(`The text gate ${where} is not JSON (${(e as Error).message}).`, { cause: e });
  }
  const ok =
    f &&
    f.format === TEXT_GATE_FORMAT &&
    f.formatVersion === 1 &&
    typeof f.towerKey === 'string' &&
    Number.isInteger(f.featureDim) &&
    Array.isArray(f.weights) &&
    f.weights.length === f.featureDim &&
    f.weights.every((x) => typeof x === 'number' && Number.isFinite(x)) &&
    Number.isFinite(f.bias) &&
    Number.isFinite(f.threshold);
  if (!ok) throw new Error(`The text gate ${where} is not a ${TEXT_GATE_FORMAT} file of version 1 with ${f?.featureDim ?? '?'} finite weights.`);
  return new TextGate(f);
}

/**
 * The gate for a model's image tower: the model folder's own text-gate.json, else the built-in one, whichever
 * reads this tower's features; null when none does (then every photo is read). A damaged gate file is passed
 * over the same way (reading every photo is always right, only slower).
 */
export function findTextGate(dirs: readonly string[], towerKey: string, featureDim: number): TextGate | null {
  for (const dir of dirs) {
    const file = path.join(dir, TEXT_GATE_FILE);
    if (!existsSync(file)) continue;
    try {
      const gate = parseTextGate(readRegularFileSync(file, MAX_TEXT_BYTES).toString('utf8'), file);
      if (gate.fits(towerKey, featureDim)) return gate;
    } catch {
      // not usable: try the next, else read every photo
    }
  }
  return null;
}
