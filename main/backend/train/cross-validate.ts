/**
 * A fine-tune measured by cross-validation, then trained on every photo.
 *
 * A fine-tune's gain on a set like the one its base was trained on is a point or two of R@5. Measured on one
 * held-out tenth (~100 photos) it is lost in noise of ±1–2 points, and the tenth is not trained on. Here each of
 * k folds fine-tunes the starting heads on the other photos and is scored on its own (the starting heads too,
 * on the same photos, caption by caption), so the gain is measured on every photo of the set; the saved heads
 * are then fine-tuned with the same recipe on all of them. A recipe clearly worse than the start across the
 * folds (paired R@5 more than two standard errors below) keeps the starting heads.
 *
 * How far to move from the start (the share of the trained heads in the WiSE-FT blend) depends on the set: a
 * set like the base's own training photos gains from a small step and loses from a big one, a new kind of
 * photo the other way round. With `blendCandidates` the share is chosen on the folds' photos (R@5 hits), and
 * the figures stay honest: each fold is scored with the share the OTHER folds chose.
 */
import type { EvalResult, RecallFigures, TrainEpoch } from '../../../shared/api';
import type { Heads } from '../model/heads-format';
import { pairedHitDifference } from './evaluate';
import type { PhotoSplit } from './split';
import { trainHeads, type StepInfo, type TrainHeadsOptions } from './trainer';

export interface CrossValidatedResult {
  heads: Heads;
  /** Per epoch, pooled over the folds (loss averaged, held-out recall pooled over the folds' captions). */
  history: TrainEpoch[];
  before: EvalResult;
  after: EvalResult;
  gainR5: { mean: number; se: number };
  /** The trained heads' share in the saved heads (0: the start kept). */
  blend: number;
  seconds: number;
}

type FoldOptions = Omit<TrainHeadsOptions, 'trainPhotos' | 'valPhotos' | 'onEpoch' | 'onStep' | 'keepStartIfWorse'>;

export interface CrossValidateOptions extends FoldOptions {
  folds: PhotoSplit[];
  /** Every photo the saved heads train on. */
  allPhotos: number[];
  onEpoch?: (e: TrainEpoch) => void;
  /** `fold` is 1..k while measuring, null for the final run on every photo. */
  onStep?: (s: StepInfo, fold: number | null) => void;
  /** Shares of the trained heads to choose from (with 3 folds or more); `blend` is used otherwise. */
  blendCandidates?: number[];
}

export async function crossValidatedFineTune(opts: CrossValidateOptions): Promise<CrossValidatedResult> {
  const { folds, allPhotos, onEpoch, onStep, blendCandidates, ...recipe } = opts;
  const choose = blendCandidates && blendCandidates.length > 0 && folds.length >= 3 && recipe.blend !== undefined;
  type Scored = { val: EvalResult; ranks: Int32Array };
  const started = Date.now();
  const histories: TrainEpoch[][] = [];
  const starts: Scored[] = [];
  /** Per fold: the recipe's share, or every candidate share (in `blendCandidates` order). */
  const results: Scored[][] = [];
  /** One epoch pooled over the folds that reached it (the chart's line firms up fold by fold). */
  const pooled = (reached: TrainEpoch[]): TrainEpoch => ({ ...poolEpoch(reached), folds: { done: reached.length, of: folds.length } });
  for (let k = 0; k < folds.length; k++) {
    const fold = folds[k]!;
    const history: TrainEpoch[] = [];
    histories.push(history);
    const r = await trainHeads({
      ...recipe,
      trainPhotos: fold.train,
      valPhotos: fold.val,
      keepStartIfWorse: false,
      ...(choose ? { blendCandidates } : {}),
      onStep: (s) => onStep?.(s, k + 1),
      onEpoch: (e) => {
        history.push(e);
        onEpoch?.(pooled(histories.map((h) => h.find((x) => x.epoch === e.epoch)).filter((x): x is TrainEpoch => !!x)));
      },
    });
    const none = new Int32Array(0);
    starts.push({ val: r.initial, ranks: r.ranks?.before ?? none });
    results.push(r.candidates ?? [{ val: r.best.val, ranks: r.ranks?.after ?? none }]);
  }
  // Fold k is scored with the share that did best on the other folds; the saved heads use the best on all.
  const hits = (c: Scored) => c.ranks.reduce((a, r) => a + (r < 5 ? 1 : 0), 0);
  const best = (foldsUsed: number[]) => {
    let pick = 0;
    let top = -1;
    results[0]!.forEach((_, i) => {
      const h = foldsUsed.reduce((a, k) => a + hits(results[k]![i]!), 0);
      if (h > top) [pick, top] = [i, h];
    });
    return pick;
  };
  const all = folds.map((_, k) => k);
  const scored = results.map((candidates, k) => candidates[best(all.filter((j) => j !== k))]!);
  const blend = choose ? blendCandidates![best(all)]! : recipe.blend;
  const concat = (list: Scored[]) => Int32Array.from(list.flatMap((x) => [...x.ranks]));
  const gainR5 = pairedHitDifference(concat(starts), concat(scored), 5);
  const epochs = Math.max(0, ...histories.map((h) => h.length));
  const history = Array.from({ length: epochs }, (_, i) => pooled(histories.map((h) => h[i]).filter((x): x is TrainEpoch => !!x)));
  const before = poolResults(starts.map((x) => x.val));
  const after = poolResults(scored.map((x) => x.val));
  if (gainR5.mean < 0 && gainR5.mean < -2 * gainR5.se) {
    return { heads: recipe.heads, history, before, after, gainR5, blend: 0, seconds: (Date.now() - started) / 1000 };
  }
  const final = await trainHeads({ ...recipe, blend, trainPhotos: allPhotos, valPhotos: [], onStep: (s) => onStep?.(s, null) });
  return { heads: final.heads, history, before, after, gainR5, blend: final.blend, seconds: (Date.now() - started) / 1000 };
}

/** Recall figures of several disjoint sets of photos as one: text→image weighted by captions, image→text by photos. */
export function poolResults(results: EvalResult[]): EvalResult {
  const captions = results.reduce((a, r) => a + r.captions, 0);
  const images = results.reduce((a, r) => a + r.images, 0);
  const pool = (dir: 'textToImage' | 'imageToText', weight: (r: EvalResult) => number, total: number): RecallFigures => {
    const avg = (k: keyof RecallFigures) => (total ? Math.round((100 * results.reduce((a, r) => a + r[dir][k] * weight(r), 0)) / total) / 100 : 0);
    return { r1: avg('r1'), r5: avg('r5'), r10: avg('r10') };
  };
  return { textToImage: pool('textToImage', (r) => r.captions, captions), imageToText: pool('imageToText', (r) => r.images, images), images, captions };
}

/** One epoch of several folds as one: losses averaged, held-out recall pooled. */
function poolEpoch(list: TrainEpoch[]): TrainEpoch {
  const first = list[0]!;
  const vals = list.map((e) => e.val).filter((v): v is EvalResult => !!v);
  const valLosses = list.map((e) => e.valLoss).filter((v): v is number => v !== null);
  return {
    epoch: first.epoch,
    epochs: first.epochs,
    loss: list.reduce((a, e) => a + e.loss, 0) / list.length,
    valLoss: valLosses.length ? valLosses.reduce((a, v) => a + v, 0) / valLosses.length : null,
    val: vals.length ? poolResults(vals) : null,
    lr: first.lr,
  };
}
