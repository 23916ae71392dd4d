/**
 * Fits the heads on cached tower features with a contrastive loss (TensorFlow.js).
 *
 * Batches are built by photo: each step takes B distinct photos and `captionsPerPhoto` random captions of
 * each (shared positives in the loss). AdamW (decoupled weight decay on weight matrices only), learning rate
 * halved when validation recall plateaus, early stopping on validation recall with the best weights kept.
 * Everything random is seeded (shuffles, caption picks, dropout masks).
 */
import type { EvalResult, TrainEpoch } from '../../../shared/api';
import { AppError, Cancelled } from '../errors';
import { memberCount, memberPrefix, type Heads, type HeadsWeights } from '../model/heads-format';
import { pairedHitDifference, recallScore } from './evaluate';
import type { CaptionFeatures } from './features';
import { AdamW } from './adamw';
import { TrainingBatches, type RehearsalRows } from './batches';
import { TfHeads, MAX_LOGIT_SCALE } from './heads-tf';
import type { LossKind } from './loss';
import { DEFAULT_TRAINING } from './recipe';
import { makeRng, shuffleInPlace } from './split';
import { tf } from './tf';
import { HeadsValidator } from './validate-heads';
import { BaseCheck } from './base-check';

/** What a cancelled training run says, wherever it stopped (in the trainer or in its worker's relay). */
export const TRAINING_CANCELLED = 'Training cancelled.';

export interface StepInfo {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  lr: number;
  etaSeconds: number | null;
}

export interface TrainHeadsOptions {
  heads: Heads;
  /** Image tower features, one per photo. */
  imageFeatures: Float32Array[];
  /**
   * Extra views of the photos for augmentation (e.g. the features of the horizontally flipped photo):
   * `imageViews[v][p]` has the size of `imageFeatures[p]`. Each training step uses the original or one of
   * the views of each photo, uniformly at random; validation always uses the original.
   */
  imageViews?: Float32Array[][];
  /** Dropout on the image tower features during training (0 = none). */
  featureDropout?: number;
  captions: CaptionFeatures[];
  trainPhotos: number[];
  valPhotos: number[];
  epochs?: number;
  /** Photos per step. */
  batchSize?: number;
  /** Captions drawn per photo and step (shared positives); the tutorial loss always uses 1. */
  captionsPerPhoto?: number;
  loss?: LossKind;
  seed?: number;
  lr?: number;
  weightDecay?: number;
  /** Epochs without a better validation recall before stopping. */
  patience?: number;
  /** Epochs without improvement before the learning rate is multiplied by `plateauFactor`. */
  plateauPatience?: number;
  plateauFactor?: number;
  /**
   * 'plateau' (default): learning rate halved when validation recall stalls, early stopping, best epoch kept.
   * 'cosine': a fixed schedule (linear warm-up over the first epoch, cosine decay to 0 at the last) that runs
   * every epoch and keeps the best epoch on the validation photos; validation is then optional (without it
   * the last weights are kept), so a final model can train on all photos with a recipe chosen on a held-out split.
   */
  schedule?: 'plateau' | 'cosine';
  /** Temperature of the tutorial loss. */
  temperature?: number;
  /**
   * Cosine schedule only: ramp the learning rate up over the first epoch (default). Fine-tuning already
   * trained heads turns it off: the rate starts low and only decays.
   */
  warmup?: boolean;
  /**
   * Fine-tuning (WiSE-FT): the result is w = (1 − α)·w_start + α·w_last with this fixed α, the last epoch's
   * heads blended with the starting ones, instead of the best epoch; the start is kept when the blend is
   * clearly worse on the validation photos (see the end of trainHeads).
   */
  blend?: number;
  /**
   * With validation photos: after every epoch, score these shares of the current heads blended with the starting
   * ones (WiSE-FT) on the validation photos (returned as `curve`), so the epoch and the share can be chosen.
   */
  scoreShares?: number[];
  /** With `scoreShares`: stop when no epoch and share did better on the validation photos for this many epochs. */
  stopWhenFlat?: number;
  /** Stop after this epoch, on the schedule of `epochs` epochs (a final run replaying a choice made on held-out photos). */
  stopAt?: number;
  /**
   * Heads that mix several members (an ensemble): train the first member and the mix only, the others staying as
   * they are. A fine-tune then costs about what it costs for one head (the others run forward only), and the mix can
   * still lean on the member that learns the new photos.
   */
  tuneFirstMember?: boolean;
  /**
   * Pairs the base was trained on (a model's caption memory: a photo and the mean of its captions), replayed in every
   * step next to the new photos, `perStep` at a time, so that learning a new kind of photo does not unlearn the
   * base's (rehearsal). They are drawn without repeats until all have been seen, from their own seeded stream: a run
   * without them is unchanged.
   */
  rehearsal?: RehearsalRows & {
    perStep: number;
    /** Replayed rows are also held to where the starting heads put them, with this weight (batches.ts keepRehearsal). */
    keep?: number;
    /**
     * The last `check` rows are never replayed: they check what the base knew (base-check.ts), scored for the
     * start (`startBaseRanks`) and with every share of every epoch (`scoreShares`).
     */
    check?: number;
  };
  /**
   * With `scoreShares`: asked after each blend of each epoch is scored (in the order epochs, then shares); when it
   * says yes, that blend is kept and returned as `kept` (the last one kept), so a caller choosing a blend as it goes
   * needs no second run to get its heads.
   */
  keepShare?: (c: ShareCandidate) => boolean;
  onEpoch?: (e: TrainEpoch) => void;
  onStep?: (s: StepInfo) => void;
  signal?: AbortSignal;
}

/** One scored blend, as `keepShare` sees it. */
export interface ShareCandidate {
  epoch: number;
  /** Index of the share in `scoreShares`. */
  index: number;
  ranks: Int32Array;
  /** The base check's ranks of the blend and of the start (with `rehearsal.check`). */
  baseRanks?: Int32Array;
  startBaseRanks?: Int32Array;
}

/** One epoch's blends with the start, scored on the validation photos (`scoreShares`). */
export interface ShareScores {
  epoch: number;
  /** `baseRanks`: the base check's ranks (with `rehearsal.check`). */
  shares: { share: number; val: EvalResult; ranks: Int32Array; baseRanks?: Int32Array }[];
}

export interface TrainHeadsResult {
  /** The best heads (by validation recall; the initial ones when no epoch beat them). */
  heads: Heads;
  history: TrainEpoch[];
  best: { epoch: number; val: EvalResult; score: number };
  /** Validation recall of the initial heads (tfjs forward). */
  initial: EvalResult;
  /** Share of the trained heads in the result (`blend`, 0 when the start was kept); 1 without blending. */
  blend: number;
  /** `scoreShares`: every epoch's blends, scored; with `startRanks`, the starting heads' ranks on the same captions. */
  curve?: ShareScores[];
  startRanks?: Int32Array;
  /** With `rehearsal.check`: the starting heads' ranks on the base check. */
  startBaseRanks?: Int32Array;
  /** The last blend `keepShare` kept. */
  kept?: Heads;
  seconds: number;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The settings of one run, defaults filled in. */
interface RunSettings {
  epochs: number;
  batchSize: number;
  perPhoto: number;
  lossKind: LossKind;
  seed: number;
  schedule: 'plateau' | 'cosine';
  featureDropout: number;
  warmup: boolean;
}

function runSettings(opts: TrainHeadsOptions): RunSettings {
  const lossKind = opts.loss ?? 'default';
  return {
    epochs: opts.epochs ?? DEFAULT_TRAINING.epochs,
    batchSize: Math.max(2, opts.batchSize ?? DEFAULT_TRAINING.maxBatchSize),
    perPhoto: lossKind === 'tutorial' ? 1 : Math.max(1, opts.captionsPerPhoto ?? DEFAULT_TRAINING.captionsPerPhoto),
    lossKind,
    seed: opts.seed ?? 0,
    schedule: opts.schedule ?? DEFAULT_TRAINING.schedule,
    featureDropout: opts.featureDropout ?? DEFAULT_TRAINING.featureDropout,
    warmup: opts.warmup ?? true,
  };
}

/** Cosine schedule: linear warm-up over the first epoch (when on), then cosine decay to 0 at the end of the last one. */
export function cosineRate(baseLr: number, step: number, stepsPerEpoch: number, totalSteps: number, warmup: boolean): number {
  const warm = warmup ? stepsPerEpoch : 0;
  return step <= warm ? (baseLr * step) / warm : 0.5 * baseLr * (1 + Math.cos((Math.PI * (step - 1 - warm)) / Math.max(1, totalSteps - warm)));
}

/** The steps of one epoch: a shuffled pass over the training photos, one optimizer step per batch. */
class EpochRunner {
  private doneSteps = 0;
  /** Rehearsal rows still to replay in this pass over them, and the stream that shuffles them. */
  private replayQueue: number[] = [];
  private readonly replayRng: () => number;
  private readonly started = Date.now();
  readonly steps: number;
  readonly totalSteps: number;
  private readonly baseLr: number;

  constructor(
    private readonly s: RunSettings,
    private readonly data: TrainingBatches,
    private readonly heads: TfHeads,
    private readonly optimizer: AdamW,
    private readonly vars: tf.Variable[],
    private readonly trainPhotos: number[],
    private readonly rng: () => number,
    private readonly opts: TrainHeadsOptions,
  ) {
    this.steps = Math.ceil(trainPhotos.length / s.batchSize);
    this.totalSteps = this.steps * s.epochs;
    this.baseLr = optimizer.lr;
    this.replayRng = makeRng(s.seed + 7919);
  }

  /** The next `n` rehearsal rows (a fresh shuffle of all of them whenever a pass is used up). */
  private nextReplays(n: number): number[] {
    const out: number[] = [];
    const R = this.data.rehearsalCount - (this.opts.rehearsal?.check ?? 0);
    while (out.length < Math.min(n, R)) {
      if (!this.replayQueue.length) this.replayQueue = shuffleInPlace(Array.from({ length: R }, (_, m) => m), this.replayRng);
      out.push(this.replayQueue.pop()!);
    }
    return out;
  }

  /** Train one epoch; returns the mean training loss per photo. */
  async run(epoch: number): Promise<number> {
    const { s, data, rng } = this;
    const B = s.batchSize;
    const order = shuffleInPlace([...this.trainPhotos], rng);
    let lossSum = 0;
    let lossCount = 0;
    for (let step = 0; step < this.steps; step++) {
      if (this.opts.signal?.aborted) throw new Cancelled(TRAINING_CANCELLED);
      let photos = order.slice(step * B, (step + 1) * B);
      // A last batch of one photo has no negatives: top it up from the start of the order.
      if (photos.length < 2) photos = photos.concat(order.slice(0, 2 - photos.length));
      const caps = data.pickCaptions(photos, s.perPhoto, rng);
      const dropSeed = Math.floor(rng() * 2 ** 31);
      const N = data.photoCount;
      const rows = data.viewCount > 1 ? photos.map((p) => Math.floor(rng() * data.viewCount) * N + p) : photos;
      const replays = this.nextReplays(this.opts.rehearsal?.perStep ?? 0);
      const batch = replays.length ? data.withRehearsal(photos, rows, caps, replays) : { photos, rows, caps };
      if (s.schedule === 'cosine') this.optimizer.lr = cosineRate(this.baseLr, this.doneSteps + 1, this.steps, this.totalSteps, s.warmup);
      const { value, grads } = tf.variableGrads(() => data.loss(this.heads, batch.photos, batch.caps, true, dropSeed, s.featureDropout, batch.rows, replays), this.vars);
      this.optimizer.step(grads);
      if (s.lossKind !== 'tutorial') tf.tidy(() => this.heads.logitScale.assign(tf.minimum(this.heads.logitScale, MAX_LOGIT_SCALE)));
      const loss = (await value.data())[0]!;
      tf.dispose([value, ...Object.values(grads)]);
      if (!Number.isFinite(loss)) throw new AppError('invalid_input', `Training diverged at epoch ${epoch} (loss ${loss}). Lower the learning rate.`);
      lossSum += loss * photos.length;
      lossCount += photos.length;
      this.doneSteps++;
      const perStep = (Date.now() - this.started) / 1000 / this.doneSteps;
      this.opts.onStep?.({ epoch, epochs: s.epochs, step: step + 1, steps: this.steps, loss, lr: this.optimizer.lr, etaSeconds: perStep * (this.totalSteps - this.doneSteps) });
      await tick(); // let cancel messages and progress events through
    }
    return lossSum / Math.max(1, lossCount);
  }
}

/** Blends of the current heads with the starting ones, scored after each epoch (`scoreShares`), and when to stop. */
class ShareCurve {
  readonly points: ShareScores[] = [];
  /** The last blend `keep` said yes to. */
  kept: Heads | undefined;
  private best = -1;
  private sinceBest = 0;

  constructor(
    private readonly start: Heads,
    private readonly shares: number[],
    private readonly stopWhenFlat: number | undefined,
    private readonly check: BaseCheck | null,
    private readonly keep: { ask: (c: ShareCandidate) => boolean; startBaseRanks?: Int32Array } | null = null,
  ) {}

  /** Score this epoch's blends; true when the run should stop (no blend improved for `stopWhenFlat` epochs). */
  async add(epoch: number, live: TfHeads, own: { val: EvalResult; ranks: Int32Array }, validator: HeadsValidator): Promise<boolean> {
    const current = live.toHeads();
    const shares: ShareScores['shares'] = [];
    for (const [index, share] of this.shares.entries()) {
      // One copy of each blend serves the held-out photos and the base check; the whole share is the live heads.
      const blend = share === 1 ? current : blendHeads(this.start, current, share);
      const probe = share === 1 ? live : new TfHeads(blend);
      try {
        const r = share === 1 ? own : await validator.validate(probe);
        const baseRanks = this.check ? await this.check.ranks(probe) : undefined;
        shares.push({ share, val: r.val!, ranks: r.ranks!, ...(baseRanks ? { baseRanks } : {}) });
        if (this.keep?.ask({ epoch, index, ranks: r.ranks!, ...(baseRanks ? { baseRanks } : {}), ...(this.keep.startBaseRanks ? { startBaseRanks: this.keep.startBaseRanks } : {}) })) this.kept = blend;
      } finally {
        if (probe !== live) probe.dispose();
      }
    }
    this.points.push({ epoch, shares });
    const top = Math.max(...shares.map((x) => rankScore(x.ranks)));
    if (top > this.best) [this.best, this.sinceBest] = [top, 0];
    else if (this.stopWhenFlat && ++this.sinceBest >= this.stopWhenFlat) return true;
    return false;
  }
}

/** The 'plateau' schedule's bookkeeping: halve the rate when validation stalls, stop after `patience` epochs without a better one. */
class Plateau {
  private sinceBest = 0;
  private sincePlateau = 0;

  constructor(
    private readonly patience: number,
    private readonly plateauPatience: number,
    private readonly factor: number,
  ) {}

  /** After an epoch: true when the run should stop. */
  next(improved: boolean, optimizer: AdamW): boolean {
    if (improved) {
      this.sinceBest = 0;
      this.sincePlateau = 0;
      return false;
    }
    this.sinceBest++;
    this.sincePlateau++;
    if (this.sincePlateau >= this.plateauPatience) {
      optimizer.lr = Math.max(1e-6, optimizer.lr * this.factor);
      this.sincePlateau = 0;
    }
    return this.sinceBest >= this.patience;
  }
}

const NO_EVAL: EvalResult = { textToImage: { r1: 0, r5: 0, r10: 0 }, imageToText: { r1: 0, r5: 0, r10: 0 }, images: 0, captions: 0 };

export async function trainHeads(opts: TrainHeadsOptions): Promise<TrainHeadsResult> {
  const started = Date.now();
  const s = runSettings(opts);
  const rng = makeRng(s.seed);
  const heads = new TfHeads(opts.heads);
  let data: TrainingBatches;
  try {
    data = new TrainingBatches(opts.imageFeatures, opts.imageViews, opts.captions, heads, s.lossKind, opts.temperature ?? 1, opts.rehearsal);
  } catch (e) {
    heads.dispose();
    throw e;
  }
  const trainPhotos = data.captioned(opts.trainPhotos);
  const valPhotos = data.captioned(opts.valPhotos);
  // An ensemble's other members (tensors m1., m2., …) stay as they are when only the first is tuned.
  const others = Array.from({ length: memberCount(heads.spec) - 1 }, (_, m) => memberPrefix(heads.spec, m + 1));
  const frozen = new Set(opts.tuneFirstMember ? [...heads.vars].filter(([name]) => others.some((p) => name.startsWith(p))).map(([, v]) => v) : []);
  // Their outputs do not change: computed once instead of at every step.
  if (frozen.size) data.fixOtherMembers(heads);
  if (opts.rehearsal?.keep) data.keepRehearsal(heads, opts.rehearsal.keep);
  const vars = (s.lossKind === 'tutorial' ? [...heads.vars.values()] : heads.trainables()).filter((v) => !frozen.has(v));
  const decayed = new Set([...heads.vars].filter(([name]) => heads.isDecayed(name)).map(([, v]) => v.name));
  const optimizer = new AdamW(vars, decayed, opts.lr ?? DEFAULT_TRAINING.lr, opts.weightDecay ?? DEFAULT_TRAINING.weightDecay);
  let check: BaseCheck | null = null;
  try {
    if (trainPhotos.length < 2) throw new AppError('bad_dataset', `Training needs at least 2 photos with captions (got ${trainPhotos.length}). Use a bigger captioned set.`);
    if (valPhotos.length < 1 && s.schedule === 'plateau') throw new AppError('bad_dataset', 'Validation needs at least 1 photo with captions. Use a bigger captioned set.');
    const validator = new HeadsValidator(data, valPhotos, { batchSize: s.batchSize, captionsPerPhoto: s.perPhoto, seed: s.seed });
    const first = await validator.validate(heads);
    const initial = first.val ?? NO_EVAL;
    const startRanks = first.ranks;
    let best = { epoch: 0, val: initial, score: recallScore(initial) };
    let bestHeads = heads.toHeads();
    const runner = new EpochRunner(s, data, heads, optimizer, vars, trainPhotos, rng, opts);
    const plateau = new Plateau(opts.patience ?? DEFAULT_TRAINING.patience, opts.plateauPatience ?? DEFAULT_TRAINING.plateauPatience, opts.plateauFactor ?? DEFAULT_TRAINING.plateauFactor);
    const checkRows = Math.min(opts.rehearsal?.check ?? 0, data.rehearsalCount);
    check = checkRows > 0 && opts.scoreShares?.length ? new BaseCheck(data, Array.from({ length: checkRows }, (_, i) => data.rehearsalCount - checkRows + i)) : null;
    const startBaseRanks = check ? await check.ranks(heads) : null;
    const keep = opts.keepShare ? { ask: opts.keepShare, ...(startBaseRanks ? { startBaseRanks } : {}) } : null;
    const curve = opts.scoreShares?.length ? new ShareCurve(opts.heads, opts.scoreShares, opts.stopWhenFlat, check, keep) : null;
    const history: TrainEpoch[] = [];
    const lastEpoch = Math.min(s.epochs, opts.stopAt ?? s.epochs);

    for (let epoch = 1; epoch <= lastEpoch; epoch++) {
      const loss = await runner.run(epoch);
      const { val, loss: valLoss, ranks } = await validator.validate(heads);
      const e: TrainEpoch = { epoch, epochs: s.epochs, loss, valLoss, val, lr: optimizer.lr };
      history.push(e);
      opts.onEpoch?.(e);
      if (curve && val && ranks && (await curve.add(epoch, heads, { val, ranks }, validator))) break;
      if (!val) {
        // No held-out photos (fixed schedule only): the last weights are the result.
        if (epoch === lastEpoch) [best, bestHeads] = [{ epoch, val: NO_EVAL, score: 0 }, heads.toHeads()];
        continue;
      }
      // Both schedules keep the best epoch on the held-out photos; only 'plateau' adapts the rate and stops early.
      const score = recallScore(val);
      const improved = score > best.score + 1e-9;
      if (improved) [best, bestHeads] = [{ epoch, val, score }, heads.toHeads()];
      if (s.schedule === 'plateau' && plateau.next(improved, optimizer)) break;
    }
    const traced = curve ? { curve: curve.points, ...(startRanks ? { startRanks } : {}), ...(startBaseRanks ? { startBaseRanks } : {}), ...(curve.kept ? { kept: curve.kept } : {}) } : {};
    const result = (h: Heads, blend: number, b: typeof best): TrainHeadsResult => ({ heads: h, history, best: b, initial, blend, ...traced, seconds: (Date.now() - started) / 1000 });
    if (opts.blend === undefined) return result(bestHeads, 1, best);
    const blended = await fixedBlend(opts.heads, heads.toHeads(), opts.blend, validator, startRanks);
    if (!blended) return result(opts.heads, 0, { epoch: 0, val: initial, score: recallScore(initial) });
    const epoch = history.length;
    return result(blended.heads, opts.blend, { epoch, val: blended.val ?? NO_EVAL, score: blended.val ? recallScore(blended.val) : 0 });
  } finally {
    optimizer.dispose();
    check?.dispose();
    heads.dispose();
    data.dispose();
  }
}

/**
 * WiSE-FT with a fixed share: the start and the LAST epoch averaged in weight space. Nothing here is chosen on
 * the validation photos (picking an epoch or a share on ~100 photos chases their noise), so their recall is an
 * honest measure of the result. One guard: a result clearly worse than the start on them (text→image R@5, paired
 * per caption, more than two standard errors below) keeps the start (returns null).
 */
async function fixedBlend(start: Heads, last: Heads, alpha: number, validator: HeadsValidator, startRanks: Int32Array | null): Promise<{ heads: Heads; val: EvalResult | null } | null> {
  const mixed = blendHeads(start, last, alpha);
  if (validator.photos.length === 0) return { heads: mixed, val: null };
  const after = await validator.score(mixed);
  const diff = pairedHitDifference(startRanks!, after.ranks!, 5);
  if (diff.mean < 0 && diff.mean < -2 * diff.se) return null;
  return { heads: mixed, val: after.val! };
}

/**
 * How well ranks place each caption's own photo: its hits in the top 1, 5 and 10 added up. Choices between
 * trained heads use it (R@5 alone ties when a set is easy: every candidate finds 100% in the top 5).
 */
export function rankScore(ranks: Int32Array): number {
  let s = 0;
  for (const r of ranks) s += (r < 1 ? 1 : 0) + (r < 5 ? 1 : 0) + (r < 10 ? 1 : 0);
  return s;
}

/** (1 − α)·a + α·b for every weight and the temperature (same spec and shapes). */
export function blendHeads(a: Heads, b: Heads, alpha: number): Heads {
  const weights: HeadsWeights = new Map();
  for (const [name, ta] of a.weights) {
    const tb = b.weights.get(name);
    if (!tb || tb.data.length !== ta.data.length) throw new AppError('model_error', `Cannot blend heads: "${name}" differs in shape.`);
    const data = new Float32Array(ta.data.length);
    for (let i = 0; i < data.length; i++) data[i] = (1 - alpha) * ta.data[i]! + alpha * tb.data[i]!;
    weights.set(name, { shape: [...ta.shape], data });
  }
  return { spec: { ...b.spec, logitScale: (1 - alpha) * a.spec.logitScale + alpha * b.spec.logitScale }, weights };
}

