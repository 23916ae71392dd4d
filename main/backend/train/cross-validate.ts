/**
 * A fine-tune whose size is chosen on the set's own held-out photos, measured by cross-validation, then trained
 * on every photo.
 *
 * How far to move from the starting heads depends on the set: a set like the base's own training photos gains
 * a point from a small step and loses from a big one; a new kind of photo (coloured shapes and where they are,
 * words the heads never saw) needs the whole step, trained until its held-out recall stops rising. So nothing
 * about the size is fixed. Each fold trains every step candidate (a learning rate and a schedule: the small
 * fine-tuning step and the whole step of heads trained anew) on the other photos, scoring after every epoch
 * the blends of the trained heads with the starting ones (WiSE-FT shares) on its own photos; a run stops when
 * its held-out recall has not risen for a few epochs. The candidate, the epoch and the share with the best
 * held-out recall over the folds are chosen, and the saved heads replay that choice on every photo.
 *
 * The figures stay honest: with 3 folds or more each fold is scored with the choice made on the OTHER folds,
 * and its start on the same captions, paired caption by caption. A result clearly worse than the start across
 * the folds (paired R@5 more than two standard errors below) keeps the starting heads. With one held-out split
 * (sets of 2,000 photos or more) the choice is made on it, and its figures carry that (small) optimism.
 *
 * When search ranks differently from the trainer's held-out score (a model with a caption memory moves every query
 * toward the photos of its nearest captions, and a retrained model's memory also holds the photos it was trained
 * on), `rescore` measures what search will do: each fold is trained again up to its choice (the same seeded run,
 * so the same heads; with one held-out split the chosen blend is kept when it is scored instead) and it and its
 * start are scored by the caller, with the fold's own training photos in the result's memory. How far the result's
 * queries lean on the memory (its weight) is chosen on the folds as the share is, each fold scored with the weight the
 * others chose. The figures, and the guard against a result worse than the start, are then those.
 */
import type { EvalResult, RecallFigures, TrainChoice, TrainEpoch } from '../../../shared/api';
import type { Heads } from '../model/heads-format';
import { BASE_CHECK_K, BASE_CHECK_TOLERANCE } from './base-check';
import { pairedHitDifference } from './evaluate';
import type { PhotoSplit } from './split';
import { rankScore, trainHeads, type ShareCandidate, type ShareScores, type StepInfo, type TrainHeadsOptions } from './trainer';

/** One size of step: a learning rate on a warm-up-free or warmed-up cosine schedule of `epochs` epochs. */
export interface StepCandidate {
  name: TrainChoice['step'];
  lr: number;
  epochs: number;
  warmup: boolean;
}

export interface CrossValidatedResult {
  heads: Heads;
  /** Per epoch of the chosen step, pooled over the folds (loss averaged, held-out recall pooled over their captions). */
  history: TrainEpoch[];
  before: EvalResult;
  after: EvalResult;
  gainR5: { mean: number; se: number };
  /** What was chosen; `share` 0 when the start was kept. */
  choice: TrainChoice;
  seconds: number;
}

type FoldOptions = Omit<TrainHeadsOptions, 'trainPhotos' | 'valPhotos' | 'onEpoch' | 'onStep' | 'keepStartIfWorse' | 'lr' | 'epochs' | 'warmup' | 'blend' | 'schedule'>;

export interface CrossValidateOptions extends FoldOptions {
  folds: PhotoSplit[];
  /** Every photo the saved heads train on. */
  allPhotos: number[];
  steps: StepCandidate[];
  /** Shares of the trained heads (blended with the start) to choose from. */
  shares: number[];
  /** A run stops after this many epochs without better held-out recall. */
  patience: number;
  onEpoch?: (e: TrainEpoch) => void;
  /** `fold` is 1..k while measuring, null for the final run on every photo; `step` is the candidate's name. */
  onStep?: (s: StepInfo, fold: number | null, step: StepCandidate) => void;
  /** Measure as search ranks with a caption memory, and choose the memory's weight on the folds (see the file comment). */
  memory?: {
    /**
     * Scores heads on a fold's held-out photos as search ranks them, once per memory weight (`memoryFrom`: the photos
     * whose captions join the memory; none for the start). Each caption's rank of its own photo, in the fold's
     * caption order.
     */
    rescore: (heads: Heads, fold: PhotoSplit, memoryFrom: number[], weights: readonly number[]) => Promise<{ val: EvalResult; ranks: Int32Array }[]>;
    /** The start's weight (the base model's), first among the candidates: ties keep it. */
    startWeight: number;
    /** Other weights the result may take. */
    weights: number[];
  };
}

interface Run {
  curve: ShareScores[];
  history: TrainEpoch[];
  /** The start's ranks on the base check (rehearsal.check), when there is one. */
  startBase?: Int32Array;
}

/** A choice: step candidate, epoch (1-based) and share index. */
interface Pick {
  c: number;
  epoch: number;
  s: number;
}

export async function crossValidatedFineTune(opts: CrossValidateOptions): Promise<CrossValidatedResult> {
  const { folds, allPhotos, onEpoch, onStep, steps, shares, patience, memory, ...recipe } = opts;
  const started = Date.now();
  const starts: { val: EvalResult; ranks: Int32Array }[] = [];
  /** runs[c][k]: step candidate c on fold k. */
  const runs: Run[][] = steps.map(() => []);
  // With one held-out split the choice below can be made as the runs go (the same order: steps, epochs, shares; a
  // strictly better score wins), so the chosen blend is kept when it is scored and needs no second run for `rescore`.
  const online: { top: number; pick: Pick | null; heads: Heads | null } = { top: -1, pick: null, heads: null };
  for (let c = 0; c < steps.length; c++) {
    const step = steps[c]!;
    const histories = runs[c]!.map((r) => r.history);
    for (let k = 0; k < folds.length; k++) {
      const fold = folds[k]!;
      const history: TrainEpoch[] = [];
      histories.push(history);
      const r = await trainHeads({
        ...recipe,
        lr: step.lr,
        epochs: step.epochs,
        warmup: step.warmup,
        schedule: 'cosine',
        trainPhotos: fold.train,
        valPhotos: fold.val,
        scoreShares: shares,
        stopWhenFlat: patience,
        tuneFirstMember: true,
        ...(folds.length === 1 && memory
          ? {
              keepShare: (x: ShareCandidate) => {
                const score = rankScore(x.ranks);
                if (!(score > online.top) || forgetsBase(x.startBaseRanks, x.baseRanks)) return false;
                [online.top, online.pick] = [score, { c, epoch: x.epoch, s: x.index }];
                return true;
              },
            }
          : {}),
        onStep: (s) => onStep?.(s, k + 1, step),
        onEpoch: (e) => {
          history.push(e);
          onEpoch?.({ ...poolEpochs(histories.map((h) => h.find((x) => x.epoch === e.epoch)).filter((x): x is TrainEpoch => !!x), folds.length), step: step.name });
        },
      });
      if (c === 0) starts.push({ val: r.initial, ranks: r.startRanks ?? new Int32Array(0) });
      if (r.kept) online.heads = r.kept;
      runs[c]!.push({ curve: r.curve ?? [], history, ...(r.startBaseRanks ? { startBase: r.startBaseRanks } : {}) });
    }
  }

  // A fold that stopped early is scored at its last epoch for every later one (its recall had stopped rising).
  const at = (run: Run, epoch: number) => run.curve[Math.min(epoch, run.curve.length) - 1];
  const concat = (list: { ranks: Int32Array }[]) => Int32Array.from(list.flatMap((x) => [...x.ranks]));
  /** The base check's R@1 change of a candidate against the start, over some folds (null without a check). */
  const baseChange = (c: number, epoch: number, s: number, used: number[]) => {
    const pairs = used.map((k) => ({ start: runs[c]![k]!.startBase, after: at(runs[c]![k]!, epoch)?.shares[s]?.baseRanks }));
    if (!pairs.length || pairs.some((x) => !x.start || !x.after)) return null;
    return pairedHitDifference(concat(pairs.map((x) => ({ ranks: x.start! }))), concat(pairs.map((x) => ({ ranks: x.after! }))), BASE_CHECK_K);
  };
  const forgets = (c: number, epoch: number, s: number, used: number[]) => forgotten(baseChange(c, epoch, s, used));
  /** The best candidate over some folds that keeps what the base knew; null when none does (the start is kept). */
  const choose = (used: number[]): Pick | null => {
    let best: Pick | null = null;
    let top = -1;
    // In order of size (smaller steps first, then fewer epochs, then smaller shares): ties go to the smaller move.
    steps.forEach((_, c) => {
      const epochs = Math.max(1, ...used.map((k) => runs[c]![k]!.curve.length));
      for (let epoch = 1; epoch <= epochs; epoch++) {
        shares.forEach((_, s) => {
          const score = used.reduce((a, k) => a + rankScore(at(runs[c]![k]!, epoch)?.shares[s]?.ranks ?? new Int32Array(0)), 0);
          if (score > top && !forgets(c, epoch, s, used)) [best, top] = [{ c, epoch, s }, score];
        });
      }
    });
    return best;
  };
  const all = folds.map((_, k) => k);
  // A choice trained again on some photos without held-out ones (the same seeded run: the same heads at its epoch),
  // blended with the start at its share: each fold's result when measured as search ranks, and the saved heads.
  const replay = (p: Pick, trainPhotos: number[], fold: number | null) => {
    const step = steps[p.c]!;
    return trainHeads({
      ...recipe,
      lr: step.lr,
      epochs: step.epochs,
      warmup: step.warmup,
      schedule: 'cosine',
      stopAt: p.epoch,
      blend: shares[p.s]!,
      tuneFirstMember: true,
      trainPhotos,
      valPhotos: [],
      onStep: (s) => onStep?.({ ...s, epochs: p.epoch }, fold, step),
    });
  };
  const pick = choose(all);
  // Each fold scored with the choice of the others (with 3 folds or more), so the figures are not flattered by it;
  // a fold whose others found nothing that keeps what the base knew is scored as the start.
  const picks = folds.map((_, k) => (folds.length >= 3 ? choose(all.filter((j) => j !== k)) : pick));
  let scored = picks.map((p, k) => {
    if (!p) return starts[k]!;
    const e = at(runs[p.c]![k]!, p.epoch)!.shares[p.s]!;
    return { val: e.val, ranks: e.ranks };
  });
  let memoryWeight: number | undefined;
  if (memory) {
    // Measured as search will rank: each fold trained again up to its choice, it and its start scored by the caller
    // with the memory, the result at every candidate weight; the weight is chosen as the share is.
    const weights = [...new Set([memory.startWeight, ...memory.weights])];
    const byWeight: { val: EvalResult; ranks: Int32Array }[][] = [];
    for (const [k, p] of picks.entries()) {
      const fold = folds[k]!;
      starts[k] = (await memory.rescore(recipe.heads, fold, [], [memory.startWeight]))[0]!;
      if (!p) byWeight.push(weights.map(() => starts[k]!));
      else {
        const kept = folds.length === 1 && online.heads && samePick(online.pick, p) ? online.heads : null;
        byWeight.push(await memory.rescore(kept ?? (await replay(p, fold.train, k + 1)).heads, fold, fold.train, weights));
      }
    }
    const chooseWeight = (used: number[]) => {
      let best = 0;
      let top = -1;
      weights.forEach((_, w) => {
        const score = used.reduce((a, k) => a + rankScore(byWeight[k]![w]!.ranks), 0);
        if (score > top) [best, top] = [w, score];
      });
      return best;
    };
    memoryWeight = weights[chooseWeight(all)]!;
    scored = folds.map((_, k) => byWeight[k]![folds.length >= 3 ? chooseWeight(all.filter((j) => j !== k)) : weights.indexOf(memoryWeight!)]!);
  }
  const gainR5 = pairedHitDifference(concat(starts), concat(scored), 5);
  const shown = pick ?? { c: 0, epoch: 1, s: 0 };
  const chosen = runs[shown.c]!.map((r) => r.history);
  const epochs = Math.max(0, ...chosen.map((h) => h.length));
  const history = Array.from({ length: epochs }, (_, i) => ({ ...poolEpochs(chosen.map((h) => h[i]).filter((x): x is TrainEpoch => !!x), folds.length), step: steps[shown.c]!.name }));
  const before = poolResults(starts.map((x) => x.val));
  const after = poolResults(scored.map((x) => x.val));
  const step = steps[shown.c]!;
  // What the base knew, as the chosen candidate keeps it (the base check's R@1 over the folds).
  const base = pick ? baseChange(pick.c, pick.epoch, pick.s, all) : null;
  const startBase = runs[0]![0]!.startBase;
  const kept = base && startBase ? { photos: startBase.length, before: hitsAt(startBase), after: Math.round((hitsAt(startBase) + base.mean) * 100) / 100 } : undefined;
  const choice: TrainChoice = { step: step.name, lr: step.lr, epochs: shown.epoch, share: shares[shown.s]!, ...(memoryWeight !== undefined ? { memoryWeight } : {}), ...(kept ? { kept } : {}) };
  if (!pick || (gainR5.mean < 0 && gainR5.mean < -2 * gainR5.se)) {
    const startMemory = memory ? { memoryWeight: memory.startWeight } : {};
    return { heads: recipe.heads, history, before, after, gainR5, choice: { ...choice, share: 0, ...startMemory, startKept: pick ? 'worse' : 'forgets' }, seconds: (Date.now() - started) / 1000 };
  }
  const final = await replay(pick, allPhotos, null);
  return { heads: final.heads, history, before, after, gainR5, choice, seconds: (Date.now() - started) / 1000 };
}

/** A candidate that ranks the base's own pairs clearly worse than the start has unlearned what the base knew. */
function forgotten(d: { mean: number; se: number } | null): boolean {
  return !!d && d.mean < -Math.max(BASE_CHECK_TOLERANCE, 2 * d.se);
}

/** `forgotten` for one fold's ranks (no check: nothing to forget). */
function forgetsBase(start: Int32Array | undefined, after: Int32Array | undefined): boolean {
  return !!start && !!after && forgotten(pairedHitDifference(start, after, BASE_CHECK_K));
}

const samePick = (a: Pick | null, b: Pick) => !!a && a.c === b.c && a.epoch === b.epoch && a.s === b.s;

/** Percentage of ranks in the base check's top k. */
function hitsAt(ranks: Int32Array): number {
  let n = 0;
  for (const r of ranks) if (r < BASE_CHECK_K) n++;
  return ranks.length ? Math.round((10000 * n) / ranks.length) / 100 : 0;
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
function poolEpochs(list: TrainEpoch[], of: number): TrainEpoch {
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
    folds: { done: list.length, of },
  };
}
