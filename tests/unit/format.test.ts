import { describe, expect, it } from 'vitest';
import { describeHeldOutGain, formatBytes } from '../../shared/format';

describe('what the CLI and the Training panel say', () => {
  const r5 = (x: number, images = 1000) => ({ textToImage: { r5: x }, images });
  it('a cross-validated fine-tune: how it was measured, the paired change with its error, the share kept', () => {
    const text = describeHeldOutGain({ before: r5(61.5), val: r5(61.9), blend: 0.25, heldOut: { folds: 5, photos: 1000, gainR5: { mean: 0.42, se: 0.31 }, finalTrainPhotos: 1000 } });
    expect(text).toBe(
      'Held-out text→image R@5 (5-fold cross-validation, each of the 1,000 photos held out once): 61.5 → 61.9 (+0.4 ± 0.3 points). The saved heads are fine-tuned on all 1,000 photos, 25% trained heads blended with the starting ones.' +
        ' No measurable gain (the change is within its error): keep the current model.',
    );
  });
  it('a fine-tune says what was chosen on the held-out photos: the step, its rate, the epochs and the share', () => {
    const text = describeHeldOutGain({ before: r5(3.1), val: r5(97.5), blend: 1, heldOut: { folds: 1, photos: 200, gainR5: { mean: 94.4, se: 1.6 }, finalTrainPhotos: 2000, choice: { step: 'whole', lr: 2e-3, epochs: 27, share: 1 } } });
    expect(text).toBe(
      'Held-out text→image R@5 (200 held-out photos): 3.1 → 97.5 (+94.4 ± 1.6 points). The saved heads are fine-tuned on all 2,000 photos: chosen on the held-out photos, the whole step (learning rate 2e-3) for 27 epochs, the new heads as they are.',
    );
  });
  it('a fine-tune clearly worse across the folds says the heads were kept; one held-out part says so', () => {
    expect(describeHeldOutGain({ before: r5(60), val: r5(55), blend: 0, heldOut: { folds: 5, photos: 100, gainR5: { mean: -5, se: 1 }, finalTrainPhotos: 0 } })).toMatch(/\(−5\.0 ± 1\.0 points\)\. That is clearly worse than the starting model, so the new version keeps its heads\.$/);
    expect(describeHeldOutGain({ before: r5(60), val: r5(61), blend: 0.5, heldOut: { folds: 1, photos: 300, gainR5: { mean: 1, se: 0.5 }, finalTrainPhotos: 3000 } })).toMatch(/^Held-out text→image R@5 \(300 held-out photos\): 60\.0 → 61\.0 \(\+1\.0 ± 0\.5 points\)\. The saved heads are fine-tuned on all 3,000 photos, 50% trained/);
  });
  it('a fine-tune with rehearsal says what the starting model kept', () => {
    const choice = { step: 'small', lr: 2e-4, epochs: 14, share: 0.75, memoryWeight: 0.25, kept: { photos: 1000, before: 71.2, after: 70.6 } };
    expect(describeHeldOutGain({ before: r5(3), val: r5(97), blend: 0.75, heldOut: { folds: 1, photos: 200, gainR5: { mean: 94, se: 1.6 }, finalTrainPhotos: 2000, choice } })).toMatch(
      /, 75% of the new heads blended with the starting ones\. Queries lean on .* What the starting model knew stays: R@1 71\.2 → 70\.6 on 1,000 photos it was trained on \(the rest of them are replayed with the set\)\.$/,
    );
  });
  it('heads trained anew: the two figures and their difference; nothing without a baseline', () => {
    expect(describeHeldOutGain({ before: r5(10), val: r5(42.25), blend: 1 })).toBe('Held-out text→image R@5: 10.0 → 42.3 (+32.3 points).');
    expect(describeHeldOutGain({ before: null, val: r5(42), blend: 1 })).toBeNull();
  });
  it('sizes read as people read them', () => {
    expect(formatBytes(40)).toBe('40 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(812 * 1024)).toBe('812 KB');
    expect(formatBytes(null)).toBe('');
  });
});
