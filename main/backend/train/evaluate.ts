/**
 * Retrieval recall on a captioned set, in percent.
 *  - text→image R@K: each caption queries the set's unique photos; a hit when its own photo is in the top K.
 *  - image→text R@K: each photo queries all captions; a hit when any of its captions is in the top K.
 * Ranks are counted (how many candidates score strictly higher), no sort: O(captions × photos).
 */
import type { EvalResult, RecallFigures } from '../../../shared/api';
import { AppError } from '../errors';

const KS = [1, 5, 10] as const;

function figures(ranks: Int32Array): RecallFigures {
  const pct = (k: number) => {
    let hits = 0;
    for (const r of ranks) if (r < k) hits++;
    return ranks.length ? Math.round((10000 * hits) / ranks.length) / 100 : 0;
  };
  return { r1: pct(KS[0]), r5: pct(KS[1]), r10: pct(KS[2]) };
}

/**
 * Recall from a score matrix `scores[c * nImages + i]` (caption c, photo i); `captionPhoto[c]` is the
 * index of caption c's photo.
 */
export function recallFromScores(scores: Float32Array, nImages: number, captionPhoto: ArrayLike<number>): EvalResult {
  const nCaptions = captionPhoto.length;
  const t2i = textToImageRanks(scores, nImages, captionPhoto);
  // Best-scoring own caption of each photo, then how many other captions beat it.
  const best = new Float32Array(nImages).fill(-Infinity);
  for (let c = 0; c < nCaptions; c++) {
    const p = captionPhoto[c]!;
    const s = scores[c * nImages + p]!;
    if (s > best[p]!) best[p] = s;
  }
  const i2tRank = new Int32Array(nImages);
  for (let c = 0; c < nCaptions; c++) {
    const row = c * nImages;
    const p = captionPhoto[c]!;
    for (let i = 0; i < nImages; i++) if (i !== p && scores[row + i]! > best[i]!) i2tRank[i]!++;
  }
  // Photos without captions cannot be queried for image→text.
  const withCaptions: number[] = [];
  for (let i = 0; i < nImages; i++) if (best[i] !== -Infinity) withCaptions.push(i2tRank[i]!);
  return {
    textToImage: figures(t2i),
    imageToText: figures(Int32Array.from(withCaptions)),
    images: nImages,
    captions: nCaptions,
  };
}

/** Each caption's rank of its own photo (0 = first) in a score matrix laid out as for recallFromScores. */
export function textToImageRanks(scores: Float32Array, nImages: number, captionPhoto: ArrayLike<number>): Int32Array {
  const nCaptions = captionPhoto.length;
  if (scores.length !== nImages * nCaptions) throw new AppError('internal', `Score matrix has ${scores.length} values, expected ${nCaptions}×${nImages}.`);
  const t2i = new Int32Array(nCaptions);
  for (let c = 0; c < nCaptions; c++) {
    const row = c * nImages;
    const own = scores[row + captionPhoto[c]!]!;
    let rank = 0;
    for (let i = 0; i < nImages; i++) if (scores[row + i]! > own) rank++;
    t2i[c] = rank;
  }
  return t2i;
}

/**
 * Paired change of text→image R@K between two sets of ranks of the same captions (`after` − `before`), in
 * points, with its standard error over captions: far less noisy than two separate recalls.
 */
export function pairedHitDifference(before: Int32Array, after: Int32Array, k: number): { mean: number; se: number } {
  const n = before.length;
  if (after.length !== n) throw new AppError('internal', `Cannot pair ${before.length} ranks with ${after.length}.`);
  if (n === 0) return { mean: 0, se: 0 };
  let sum = 0;
  let sumSq = 0;
  for (let c = 0; c < n; c++) {
    const d = (after[c]! < k ? 1 : 0) - (before[c]! < k ? 1 : 0);
    sum += d;
    sumSq += d * d;
  }
  const mean = sum / n;
  const variance = n > 1 ? (sumSq - n * mean * mean) / (n - 1) : 0;
  return { mean: 100 * mean, se: (100 * Math.sqrt(Math.max(0, variance))) / Math.sqrt(n) };
}

/** Dot products of row-major [m, d] × [n, d]ᵀ → [m, n], plain loops (embeddings are already L2-normalised). */
export function scoreMatrix(text: Float32Array, image: Float32Array, dim: number): Float32Array {
  const m = text.length / dim;
  const n = image.length / dim;
  const out = new Float32Array(m * n);
  for (let c = 0; c < m; c++) {
    const to = c * dim;
    for (let i = 0; i < n; i++) {
      const io = i * dim;
      let s = 0;
      for (let k = 0; k < dim; k++) s += text[to + k]! * image[io + k]!;
      out[c * n + i] = s;
    }
  }
  return out;
}

/** Rows of equal length, one after another. */
export function flatten(rows: readonly Float32Array[]): { data: Float32Array; dim: number } {
  const dim = rows[0]?.length ?? 0;
  const data = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => data.set(r, i * dim));
  return { data, dim };
}

/** Recall from per-photo and per-caption embeddings (L2-normalised). */
export function evaluateEmbeddings(imageEmb: Float32Array[], textEmb: Float32Array[], captionPhoto: ArrayLike<number>, penalty?: Float32Array): EvalResult {
  return recallFromScores(searchScores(imageEmb, textEmb, penalty), imageEmb.length, captionPhoto);
}

/** Caption × photo scores as search ranks them: dot products, less a per-photo `penalty` when given. */
export function searchScores(imageEmb: Float32Array[], textEmb: Float32Array[], penalty?: Float32Array): Float32Array {
  const img = flatten(imageEmb);
  const txt = flatten(textEmb);
  if (img.dim !== txt.dim) throw new AppError('model_error', `Image embeddings have ${img.dim} values but text embeddings ${txt.dim}.`);
  const scores = scoreMatrix(txt.data, img.data, img.dim);
  // A per-photo amount taken off every caption's score for it (search's hubness correction, model/query-bank.ts).
  if (penalty) {
    const n = imageEmb.length;
    for (let c = 0; c < textEmb.length; c++) for (let i = 0; i < n; i++) scores[c * n + i] -= penalty[i]!;
  }
  return scores;
}

/** One number to pick the best epoch: the mean of the six recalls. */
export function recallScore(r: EvalResult): number {
  const a = r.textToImage;
  const b = r.imageToText;
  return (a.r1 + a.r5 + a.r10 + b.r1 + b.r5 + b.r10) / 6;
}
