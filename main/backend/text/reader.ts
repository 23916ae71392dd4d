/**
 * Reading the words in a photo, as a short pipeline: decoded pixels → detector (PP-OCRv4 DB) → boxes
 * (boxes.ts) → no boxes: done, the recognizer never runs → strips (crop.ts) → recognizer (PP-OCRv4 SVTR,
 * batched by width) → CTC decoding (ctc.ts) → lines. Both models run on onnxruntime through model/ort.ts.
 *
 * Bounded work per photo: the detector sees at most DETECT_MAX_SIDE pixels on the longer side, at most
 * MAX_BOXES boxes (the largest) are read, and a strip is at most MAX_STRIP_WIDTH pixels wide.
 *
 * A first look for large photos: the detector's cost grows with the pixels it sees (about 150 ms at 960 × 720
 * here, 40 ms at 480 × 360), and most photos hold no text. A photo the detector would see at LOOK_FROM pixels
 * or more on its longer side is first looked at LOOK_SIDE (`hasTextAt`): only when some pixel of the
 * detector's probability map reaches LOOK_MIN_PROB is it detected again at full size and read. Smaller photos
 * are read at once: shrinking them further loses the small text they hold (docs/BENCHMARKS.md, "A first look").
 */
import { readFileSync } from 'node:fs';
import type { InferenceSession } from 'onnxruntime-node';
import { createSessionFromFile, ort } from '../model/ort';
import type { RgbImage } from '../photos/text-image';
import { boxesFromMap, type BoxOptions, type TextBox } from './boxes';
import { cropStrip, stripWidth } from './crop';
import { ctcDecode } from './ctc';
import { textModelFiles, type TextModelFiles } from './models';

/** The longer side the detector sees (PaddleOCR's default limit): photos are decoded at most this large. */
export const DETECT_MAX_SIDE = 960;
/** Photos the detector would see at least this large (longer side) are first looked at LOOK_SIDE. */
export const LOOK_FROM = 720;
/** The longer side of the first look. */
export const LOOK_SIDE = 480;
/**
 * The first look sees text when a pixel of the detector's map reaches this probability (boxes start at 0.3).
 * Chosen on generated training photos (docs/BENCHMARKS.md, "A first look").
 */
export const LOOK_MIN_PROB = 0.05;
/** Boxes read per photo at most (the largest first). */
export const MAX_BOXES = 200;
const STRIP_HEIGHT = 48;
const MAX_STRIP_WIDTH = 960;
const REC_BATCH = 8;
/** Photos per detector run in `readMany`, and the largest side batched (larger photos gain little from it). */
const DETECT_BATCH = 8;
const BATCH_MAX_SIDE = 320;
/** Lines recognized with a lower mean character probability are dropped (PaddleOCR's drop_score). */
const MIN_LINE_SCORE = 0.5;
const BOX_OPTIONS: BoxOptions = { threshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5, maxBoxes: MAX_BOXES };
// PaddleOCR feeds OpenCV's BGR pixels with ImageNet's mean and std listed in RGB order: the same here.
const DET_MEAN = [0.485, 0.456, 0.406];
const DET_STD = [0.229, 0.224, 0.225];

/** One line of text: the words, how sure the recognizer is, and its box as fractions of the photo's size. */
export interface TextLine {
  text: string;
  score: number;
  /** Four corners (x, y in 0..1 of the EXIF-rotated photo), clockwise from the top-left as the text reads. */
  box: [number, number][];
}

export class TextReader {
  private constructor(
    private readonly det: InferenceSession,
    private readonly rec: InferenceSession,
    private readonly chars: string[],
  ) {}

  static async open(files: TextModelFiles = textModelFiles()): Promise<TextReader> {
    const [det, rec] = await Promise.all([createSessionFromFile(files.detection), createSessionFromFile(files.recognition)]);
    const chars = readFileSync(files.dictionary, 'utf8').split(/\r?\n/);
    if (chars[chars.length - 1] === '') chars.pop();
    chars.push(' ');
    return new TextReader(det, rec, chars);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.det.release(), this.rec.release()]);
  }

  /** Text boxes of a decoded photo (at most MAX_BOXES), in the photo's pixels, in reading order. */
  async detect(img: RgbImage): Promise<TextBox[]> {
    return boxesOf(img, await this.probabilities(img));
  }

  /**
   * The first look: whether the detector's map of this (small) image shows text anywhere (a pixel at least
   * `minProb`). No boxes are made and nothing is recognized.
   */
  async hasTextAt(img: RgbImage, minProb = LOOK_MIN_PROB): Promise<boolean> {
    return (await this.textEvidence(img)) >= minProb;
  }

  /** The highest text probability of the detector's map inside the photo (0 for a photo too small to look at). */
  async textEvidence(img: RgbImage): Promise<number> {
    return (await this.probabilities(img))?.max ?? 0;
  }

  /** The detector's probability map (map pixels are photo pixels, padded to multiples of 32) and its maximum inside the photo. */
  private async probabilities(img: RgbImage): Promise<DetectorMap | null> {
    return (await this.probabilitiesOf([img]))[0]!;
  }

  /**
   * The maps of several photos padded to the same size, in one detector run (a batch of 8 photos of 224 px costs
   * about 6.7 ms a photo here, one at a time 8.7–9.2 ms); null for a photo too small to look at.
   */
  private async probabilitiesOf(imgs: readonly RgbImage[]): Promise<(DetectorMap | null)[]> {
    const out: (DetectorMap | null)[] = imgs.map(() => null);
    const sized = imgs.map((img, i) => ({ img, i })).filter(({ img }) => img.width >= 8 && img.height >= 8);
    if (sized.length === 0) return out;
    // The detector takes sides that are multiples of 32: pad (never stretch) with the mean colour.
    const w = Math.ceil(Math.max(...sized.map(({ img }) => img.width)) / 32) * 32;
    const h = Math.ceil(Math.max(...sized.map(({ img }) => img.height)) / 32) * 32;
    const plane = w * h;
    const input = new Float32Array(sized.length * 3 * plane);
    const lut = detLut();
    sized.forEach(({ img }, n) => {
      const { data } = img;
      const at = n * 3 * plane;
      for (let y = 0; y < img.height; y++) {
        for (let x = 0; x < img.width; x++) {
          const s = (y * img.width + x) * 3;
          const k = at + y * w + x;
          input[k] = lut[0]![data[s + 2]!]!; // B
          input[plane + k] = lut[1]![data[s + 1]!]!; // G
          input[2 * plane + k] = lut[2]![data[s]!]!; // R
        }
      }
    });
    const res = await this.det.run({ [this.det.inputNames[0]!]: new ort.Tensor('float32', input, [sized.length, 3, h, w]) });
    const map = res[this.det.outputNames[0]!]!;
    const [, , mh, mw] = map.dims as number[];
    const all = map.data as Float32Array;
    map.dispose?.();
    sized.forEach(({ img, i }, n) => {
      const prob = sized.length === 1 ? all : all.slice(n * mh! * mw!, (n + 1) * mh! * mw!);
      let max = 0;
      for (let y = 0; y < Math.min(img.height, mh!); y++) {
        for (let x = y * mw!, end = x + Math.min(img.width, mw!); x < end; x++) if (prob[x]! > max) max = prob[x]!;
      }
      out[i] = { prob, width: mw!, height: mh!, max };
    });
    return out;
  }

  /** The text of each box (same order); lines the recognizer is unsure of come back empty. */
  async recognize(img: RgbImage, boxes: readonly TextBox[]): Promise<{ text: string; score: number }[]> {
    const widths = boxes.map((b) => stripWidth(b, STRIP_HEIGHT, MAX_STRIP_WIDTH));
    // Similar widths share a batch: little padding to run over.
    const order = boxes.map((_, i) => i).sort((a, b) => widths[a]! - widths[b]!);
    const results: { text: string; score: number }[] = boxes.map(() => ({ text: '', score: 0 }));
    for (let i = 0; i < order.length; i += REC_BATCH) {
      const idx = order.slice(i, i + REC_BATCH);
      const batchW = Math.max(...idx.map((k) => widths[k]!));
      const plane = STRIP_HEIGHT * batchW;
      const input = new Float32Array(idx.length * 3 * plane); // padding stays 0 (mid grey), as PaddleOCR pads
      idx.forEach((k, n) => {
        const strip = cropStrip(img, boxes[k]!, STRIP_HEIGHT, widths[k]!);
        for (let c = 0; c < 3; c++) {
          for (let y = 0; y < STRIP_HEIGHT; y++) {
            const src = c * STRIP_HEIGHT * strip.width + y * strip.width;
            input.set(strip.data.subarray(src, src + strip.width), n * 3 * plane + c * plane + y * batchW);
          }
        }
      });
      const out = await this.rec.run({ [this.rec.inputNames[0]!]: new ort.Tensor('float32', input, [idx.length, 3, STRIP_HEIGHT, batchW]) });
      const t = out[this.rec.outputNames[0]!]!;
      const [, steps, classes] = t.dims as number[];
      const probs = t.data as Float32Array;
      idx.forEach((k, n) => {
        const used = Math.ceil((steps! * widths[k]!) / batchW);
        const d = ctcDecode(probs, n, steps!, classes!, this.chars, used);
        const text = d.text.trim();
        // Punctuation alone, or one Latin letter alone, is what edges and textures read as ("." on a round
        // shape, "s" on a curve): not text anyone searches for. Digits and CJK characters alone are kept.
        const kept = d.score >= MIN_LINE_SCORE && /[\p{L}\p{N}]/u.test(text) && !/^\p{Script=Latin}$/u.test(text);
        results[k] = kept ? { text, score: d.score } : { text: '', score: d.score };
      });
      t.dispose?.();
    }
    return results;
  }

  /** Every line of text in a decoded photo; no boxes, no recognition. */
  async read(img: RgbImage): Promise<TextLine[]> {
    return this.linesOf(img, await this.detect(img));
  }

  /**
   * Every line of text in each of several decoded photos (the same as `read` on each): photos small enough to batch
   * (at most BATCH_MAX_SIDE, which the 224 px photos of a typical library are) go through the detector together,
   * DETECT_BATCH at a time, grouped by their padded size; larger ones one by one.
   */
  async readMany(imgs: readonly RgbImage[]): Promise<TextLine[][]> {
    const maps: (DetectorMap | null)[] = imgs.map(() => null);
    const groups = new Map<string, number[]>();
    imgs.forEach((img, i) => {
      const key = Math.max(img.width, img.height) <= BATCH_MAX_SIDE ? `${Math.ceil(img.width / 32)}x${Math.ceil(img.height / 32)}` : `alone-${i}`;
      const group = groups.get(key);
      if (group) group.push(i);
      else groups.set(key, [i]);
    });
    for (const members of groups.values()) {
      for (let s = 0; s < members.length; s += DETECT_BATCH) {
        const part = members.slice(s, s + DETECT_BATCH);
        (await this.probabilitiesOf(part.map((i) => imgs[i]!))).forEach((m, n) => (maps[part[n]!] = m));
      }
    }
    const out: TextLine[][] = [];
    for (const [i, img] of imgs.entries()) out.push(await this.linesOf(img, boxesOf(img, maps[i]!)));
    return out;
  }

  private async linesOf(img: RgbImage, boxes: TextBox[]): Promise<TextLine[]> {
    if (boxes.length === 0) return [];
    const texts = await this.recognize(img, boxes);
    const lines: TextLine[] = [];
    boxes.forEach((b, i) => {
      const t = texts[i]!;
      if (!t.text) return;
      const corners = [b.origin, { x: b.origin.x + b.u.x, y: b.origin.y + b.u.y }, { x: b.origin.x + b.u.x + b.v.x, y: b.origin.y + b.u.y + b.v.y }, { x: b.origin.x + b.v.x, y: b.origin.y + b.v.y }];
      const fx = (x: number) => round4(Math.min(1, Math.max(0, x / img.width)));
      const fy = (y: number) => round4(Math.min(1, Math.max(0, y / img.height)));
      lines.push({ text: t.text, score: round4(t.score), box: corners.map((p) => [fx(p.x), fy(p.y)]) });
    });
    return lines;
  }
}

interface DetectorMap {
  prob: Float32Array;
  width: number;
  height: number;
  /** The highest probability inside the photo (not its padding). */
  max: number;
}

/** Boxes of a photo's map (none when no pixel reaches the box threshold), inside the photo. */
function boxesOf(img: RgbImage, map: DetectorMap | null): TextBox[] {
  if (!map || map.max <= BOX_OPTIONS.threshold) return [];
  const boxes = boxesFromMap(map.prob, map.width, map.height, BOX_OPTIONS);
  // Boxes found in the padding are clamped to the photo when cropped; map pixels are photo pixels.
  return boxes.filter((b) => b.origin.x < img.width && b.origin.y < img.height);
}

// The detector's input per channel value: (v / 255 − mean) / std.
let lutCache: Float32Array[] | null = null;
function detLut(): Float32Array[] {
  return (lutCache ??= [0, 1, 2].map((c) => Float32Array.from({ length: 256 }, (_, v) => (v / 255 - DET_MEAN[c]!) / DET_STD[c]!)));
}

function round4(v: number): number {
  return Math.round(v * 10000) / 10000;
}
