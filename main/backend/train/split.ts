/**
 * Train/validation split by photo (never by caption: captions of one photo in both halves would leak the
 * answer into validation). Seeded, so a run can be repeated.
 */

import { seededRandom as makeRng, shuffleInPlace } from '../../../shared/random';
import { AppError } from '../errors';

/** The shared mulberry32 PRNG under the name the trainer and tests use. */
export { makeRng, shuffleInPlace };

export interface PhotoSplit {
  /** Indices of photos (into the set's image list), sorted. */
  train: number[];
  val: number[];
}

/** Split photo indices 0..n-1; `valFraction` of them (at least 1 when n ≥ 2) go to validation. */
export function splitByPhoto(n: number, opts: { seed?: number; valFraction?: number } = {}): PhotoSplit {
  const valFraction = opts.valFraction ?? 0.2;
  if (!(valFraction >= 0 && valFraction < 1)) throw new AppError('invalid_input', `Validation fraction ${valFraction} must be in [0, 1).`);
  const order = shuffleInPlace(
    Array.from({ length: n }, (_, i) => i),
    makeRng(opts.seed ?? 0),
  );
  let nVal = Math.round(n * valFraction);
  if (valFraction > 0 && n >= 2) nVal = Math.min(n - 1, Math.max(1, nVal));
  const val = order.slice(0, nVal).sort((a, b) => a - b);
  const train = order.slice(nVal).sort((a, b) => a - b);
  return { train, val };
}

/**
 * K-fold cross-validation by photo: `folds` splits of photo indices 0..n-1 in which every photo is held out
 * exactly once (fold sizes differ by at most one). Seeded like splitByPhoto. A set of fewer than 2·folds photos
 * gets floor(n / 2) folds instead; n < 4 is an error (two folds of two photos at least).
 */
export function foldsByPhoto(n: number, opts: { seed?: number; folds: number }): PhotoSplit[] {
  const k = Math.min(opts.folds, Math.floor(n / 2));
  if (!(Number.isInteger(opts.folds) && opts.folds >= 2) || k < 2) throw new AppError('invalid_input', `Cross-validation needs at least 2 folds of at least 2 photos (asked ${opts.folds} folds of ${n} photos).`);
  const order = shuffleInPlace(
    Array.from({ length: n }, (_, i) => i),
    makeRng(opts.seed ?? 0),
  );
  return Array.from({ length: k }, (_, f) => {
    const val = order.filter((_, i) => i % k === f).sort((a, b) => a - b);
    const held = new Set(val);
    return { val, train: order.filter((p) => !held.has(p)).sort((a, b) => a - b) };
  });
}
