/**
 * Odd captioned sets (issue 25, rows 4 and 5) are data problems with counts, for `eval` and `train` alike:
 * a caption of a million characters (rows run together) is left out instead of overflowing the tokenizer's
 * stack (which training then called "not enough memory"), and a set with every line given three times is
 * read once, with the repeats counted, so recall is not computed over copies.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openModel } from '../../main/backend/catalog/open-model';
import { MemoryFeatureCache } from '../../main/backend/train/features';
import { evaluateModelOnSet, outOfMemory, trainModel } from '../../main/backend/train/job';
import { makeCaptionedSet } from '../helpers/captioned-set';
import { useTempModel } from '../helpers/temp-model';

const PHOTOS = 20;

let tmp: string;
let modelDir: string;

useTempModel('ps-odd-sets-', 4, (t, m) => {
  tmp = t;
  modelDir = m;
});

/** A generated set in captions.txt whose caption lines `edit` rewrites (the header stays). */
async function oddSet(name: string, edit: (lines: string[]) => string[]): Promise<string> {
  const dir = path.join(tmp, name);
  await makeCaptionedSet(dir, { photos: PHOTOS, seed: 3, layout: 'captions.txt' });
  const [header, ...rows] = (await fs.readFile(path.join(dir, 'captions.txt'), 'utf8')).split('\n').filter(Boolean);
  await fs.writeFile(path.join(dir, 'captions.txt'), [header, ...edit(rows)].join('\n') + '\n');
  return dir;
}

describe('odd captioned sets', () => {
  it('a caption of a million characters is reported and left out: eval and train both finish', async () => {
    const dir = await oddSet('long', (rows) => rows.map((r, i) => (i === 3 ? `${r.slice(0, r.indexOf(','))},${'a dog runs '.repeat(100_000)}` : r)));
    const model = await openModel(modelDir);
    try {
      const cache = new MemoryFeatureCache();
      const r = await evaluateModelOnSet(model, dir, cache);
      expect(r.captions).toBe(PHOTOS * 5 - 1);
      // Line 5: the header, then the fourth caption (its trailing space trimmed).
      expect(r.problems).toEqual([{ kind: 'overlong caption', count: 1, examples: [expect.stringMatching(/^captions\.txt line 5: [\w.-]+\.jpg, 1,099,999 characters \(a caption has at most 2,000\)$/)] }]);
      const t = await trainModel({ set: dir, modelsDir: path.join(tmp, 'models'), cache, model, epochs: 1, seed: 1 });
      expect(t.model).toBeTruthy();
      expect(t.problems).toEqual([expect.objectContaining({ kind: 'overlong caption', count: 1 })]);
    } finally {
      await model.dispose();
    }
  });

  it('a set with every line three times is read once, the repeats counted as duplicate captions', async () => {
    const plain = await oddSet('plain', (rows) => rows);
    const tripled = await oddSet('tripled', (rows) => [...rows, ...rows, ...rows]);
    const model = await openModel(modelDir);
    try {
      const once = await evaluateModelOnSet(model, plain);
      const thrice = await evaluateModelOnSet(model, tripled);
      expect(thrice.captions).toBe(PHOTOS * 5);
      expect(thrice.problems).toEqual([expect.objectContaining({ kind: 'duplicate caption', count: PHOTOS * 5 * 2 })]);
      // The first repeat is the first caption line again, after the header and the set's lines.
      const first = (await fs.readFile(path.join(plain, 'captions.txt'), 'utf8')).split('\n')[1]!;
      expect(thrice.problems[0]!.examples[0]).toBe(`captions.txt line ${PHOTOS * 5 + 2}: ${first.replace(',', ', ')}`);
      // The same recall as the set without copies.
      expect(thrice.textToImage).toEqual(once.textToImage);
      expect(thrice.imageToText).toEqual(once.imageToText);
    } finally {
      await model.dispose();
    }
  });

  it('only a failed allocation counts as out of memory, not any RangeError', () => {
    expect(outOfMemory(new RangeError('Maximum call stack size exceeded'))).toBe(false);
    expect(outOfMemory(new RangeError('Invalid string length'))).toBe(false);
    expect(outOfMemory(new RangeError('Array buffer allocation failed'))).toBe(true);
    expect(outOfMemory(new Error('WebAssembly.Memory(): could not allocate memory: out of memory'))).toBe(true);
  });
});
