import { describe, expect, it } from 'vitest';
import type { ImageView, PhotoViews } from '../../main/backend/model/types';
import { combineViews, photoFeatureKey, photoViewsProblem } from '../../main/backend/model/views';

const views: PhotoViews = {
  views: ['hflip', 'crop-center'],
  average: [
    { from: 0, to: 3, over: ['photo', 'hflip', 'crop-center'] },
    { from: 3, to: 5, over: ['photo', 'crop-center'] },
  ],
};

describe('combineViews (a photo as the mean of its views)', () => {
  it('averages each range over its views and keeps the rest of the photo as it is', () => {
    const photo = Float32Array.of(3, 0, 6, 1, 2, 9);
    const of = new Map<ImageView, Float32Array>([
      ['hflip', Float32Array.of(0, 3, 0, 100, 100, 100)],
      ['crop-center', Float32Array.of(0, 0, 3, 3, 4, 100)],
    ]);
    expect(Array.from(combineViews(views, photo, of))).toEqual([1, 1, 3, 2, 3, 9]);
    expect(Array.from(photo)).toEqual([3, 0, 6, 1, 2, 9]); // the input is left alone
  });

  it('refuses a view it lacks or of another length', () => {
    const photo = new Float32Array(6);
    expect(() => combineViews(views, photo, new Map([['hflip', new Float32Array(6)]]))).toThrow(/crop-center/);
    expect(() => combineViews(views, photo, new Map([['hflip', new Float32Array(6)], ['crop-center', new Float32Array(5)]]))).toThrow(/length/);
  });
});

describe('photoViewsProblem (checking a manifest’s views)', () => {
  it('accepts views that fit the features and names what does not', () => {
    expect(photoViewsProblem(views, 6)).toBeNull();
    expect(photoViewsProblem(views, 4)).toMatch(/\[3, 5\).*4 features/);
    expect(photoViewsProblem({ ...views, average: [{ from: 2, to: 2, over: ['photo'] }] }, 6)).toMatch(/\[2, 2\)/);
    expect(photoViewsProblem({ views: ['hflip'], average: [{ from: 0, to: 2, over: ['photo', 'crop-tl'] }] }, 6)).toMatch(/does not run/);
    expect(photoViewsProblem({ views: ['upside-down' as ImageView], average: [] }, 6)).toMatch(/hflip, crop-center/);
  });
});

describe('photoFeatureKey', () => {
  it('is the tower key without views, and a key of its own within the tower’s range with them', () => {
    expect(photoFeatureKey('abc', undefined)).toBe('abc');
    const k = photoFeatureKey('abc', views);
    // compaction treats `towerKey#…` up to `towerKey$` as the tower's rows
    expect(k > 'abc#' && k < 'abc$').toBe(true);
    expect(photoFeatureKey('abc', { ...views, average: views.average.slice(0, 1) })).not.toBe(k);
  });
});
