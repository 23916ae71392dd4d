// Model figures a person can compare (issue 24): each labelled with how it was measured, a gain within its
// error called no gain, and a warning when a set is one the model was trained on.
import { describe, expect, it } from 'vitest';
import { modelFigures } from '../../main/backend/catalog/figures';
import { describeFigures, gainVerdict, trainedOnWarning } from '../../shared/format';

const t2i = (r5: number) => ({ textToImage: { r1: r5 / 3, r5, r10: r5 * 1.3 }, imageToText: { r1: 0, r5: 0, r10: 0 } });

describe('model figures with their protocol', () => {
  it('the built-in model: Flickr8k dev, each caption ranked among its 1,000 photos', () => {
    const f = modelFigures({ dataset: 'Flickr8k train (6,000 photos, 30,000 captions)', metrics: { flickr8kDev: { ...t2i(31.74), images: 1000, captions: 5000 } } })!;
    expect(f).toMatchObject({ pool: 1000, folds: null, set: 'Flickr8k dev', gainR5: null });
    expect(describeFigures(f)).toBe('Flickr8k dev, each caption ranked among 1,000 photos');
  });

  it('a cross-validated fine-tune: its folds and the photos of one fold, and its gain', () => {
    const f = modelFigures({
      dataset: '/home/me/sets/my-cap200',
      options: { folds: 5, valPhotos: 200, trainPhotos: 200 },
      metrics: { before: { ...t2i(88.9), images: 200 }, after: { ...t2i(88.9), images: 200 }, gainR5: { mean: 0.02, se: 0.4 } },
    })!;
    expect(f).toMatchObject({ pool: 40, folds: 5, gainR5: { mean: 0.02, se: 0.4 } });
    expect(describeFigures(f)).toBe('5 folds of my-cap200, each caption ranked among 40 photos');
    expect(gainVerdict(f.gainR5!)).toBe('none');
  });

  it('heads trained anew on one held-out part: that part is the pool', () => {
    const f = modelFigures({ dataset: 'C:\\sets\\pets', options: { trainPhotos: 160, valPhotos: 40 }, metrics: { before: null, after: { ...t2i(50), images: 40 } } })!;
    expect(describeFigures(f)).toBe('pets, each caption ranked among 40 photos');
    expect(modelFigures(undefined)).toBeNull();
  });

  it('a gain counts only beyond two standard errors', () => {
    expect(gainVerdict({ mean: 0.4, se: 0.3 })).toBe('none');
    expect(gainVerdict({ mean: 1.5, se: 0.3 })).toBe('gain');
    expect(gainVerdict({ mean: -1.5, se: 0.3 })).toBe('loss');
  });
});

describe('a set the model was trained on', () => {
  const models = [
    { id: 'builtin', name: 'Built-in', parent: null, dataset: 'Flickr8k train (6,000 photos, 30,000 captions)' },
    { id: 'a', name: 'my-cap200', parent: 'builtin', dataset: '/sets/cap200' },
    { id: 'b', name: 'my-cap200 again', parent: 'a', dataset: '/sets/other' },
  ];
  it('warns for the model itself and for a model it was trained from; not for other sets', () => {
    expect(trainedOnWarning(models, 'a', '/sets/cap200/')).toBe(
      'Warning: my-cap200 was trained on these photos: recall on photos a model has seen is flattered. Measure on a set it has not seen.',
    );
    expect(trainedOnWarning(models, 'b', '/sets/cap200')).toMatch(/^Warning: my-cap200, which my-cap200 again was trained from, was trained on these photos/);
    expect(trainedOnWarning(models, 'a', '/sets/dev')).toBeNull();
    expect(trainedOnWarning(models, 'builtin', '/sets/cap200')).toBeNull();
  });
});
