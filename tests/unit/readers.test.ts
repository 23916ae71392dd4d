import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCaptionSet, unquoteCsvField } from '../../main/backend/train/readers';
import { makeCaptionedSet } from '../helpers/captioned-set';

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'readers-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function setWith(name: string, file: string, content: string | Buffer, images = ['a.jpg', 'b.jpg']): Promise<string> {
  const dir = path.join(tmp, name);
  await fs.mkdir(path.join(dir, 'Images'), { recursive: true });
  for (const im of images) await fs.writeFile(path.join(dir, 'Images', im), 'x');
  await fs.writeFile(path.join(dir, file), content);
  return dir;
}

describe('readCaptionSet', () => {
  for (const layout of ['captions.txt', 'Flickr8k.token.txt', 'results.csv'] as const) {
    it(`reads a generated set in the ${layout} layout`, async () => {
      const dir = path.join(tmp, `gen-${layout}`);
      const photos = await makeCaptionedSet(dir, { photos: 4, seed: 5, layout });
      const set = await readCaptionSet(dir);
      expect(set.layout).toBe(layout);
      expect(set.problems).toEqual([]);
      expect(set.images.map((i) => i.file)).toEqual(photos.map((p) => p.file));
      expect(set.images.map((i) => i.captions)).toEqual(photos.map((p) => p.captions));
      expect(set.images.every((i) => i.captions.length === 5)).toBe(true);
    });
  }

  it('captions.txt: BOM, CRLF, blank lines, commas in captions, CSV quotes', async () => {
    const dir = await setWith(
      'kaggle',
      'captions.txt',
      '\ufeffimage,caption\r\na.jpg,A dog, a cat and a bird .\r\n\r\na.jpg,"He said ""hi"", then left"\r\nb.jpg,A shirt that reads , " Mambo " here\r\n',
    );
    const set = await readCaptionSet(dir);
    expect(set.images).toHaveLength(2);
    expect(set.images[0]!.captions).toEqual(['A dog, a cat and a bird .', 'He said "hi", then left']);
    // Bare inner quotes (Flickr8k style) stay as written.
    expect(set.images[1]!.captions).toEqual(['A shirt that reads , " Mambo " here']);
    expect(set.problems).toEqual([]);
  });

  it('counts missing images and malformed rows without failing', async () => {
    const dir = await setWith('broken', 'captions.txt', 'image,caption\na.jpg,ok one\nnope.jpg,missing photo\njust some text\nb.jpg,\n../b.jpg,escape\nb.jpg,fine\n');
    const set = await readCaptionSet(dir);
    expect(set.images.map((i) => [i.file, i.captions])).toEqual([
      ['a.jpg', ['ok one']],
      ['b.jpg', ['fine']],
    ]);
    const byKind = Object.fromEntries(set.problems.map((p) => [p.kind, p]));
    expect(byKind['missing image']!.count).toBe(1);
    expect(byKind['missing image']!.examples).toEqual(['nope.jpg']);
    expect(byKind['malformed row']!.count).toBe(3);
  });

  it('counts empty image files as unreadable', async () => {
    const dir = await setWith('empty-img', 'Flickr8k.token.txt', 'a.jpg#0\tone\nc.jpg#0\ttwo\n');
    await fs.writeFile(path.join(dir, 'Images', 'c.jpg'), '');
    const set = await readCaptionSet(dir);
    expect(set.images.map((i) => i.file)).toEqual(['a.jpg']);
    expect(set.problems).toEqual([{ kind: 'unreadable image', count: 1, examples: ['c.jpg'] }]);
  });

  it('Flickr30k results.csv: spaces after separators, bad comment numbers', async () => {
    const dir = await setWith('f30k', 'results.csv', 'image_name| comment_number| comment\r\na.jpg| 0| Two dogs | play\r\na.jpg| 4 A dog runs .\r\nb.jpg| 1|  A cat .\r\n');
    const set = await readCaptionSet(dir);
    expect(set.images.map((i) => i.captions)).toEqual([['Two dogs | play'], ['A cat .']]);
    expect(set.problems.find((p) => p.kind === 'malformed row')!.count).toBe(1);
  });

  it('an empty captions file or one with no usable pair is a clear error', async () => {
    const empty = await setWith('empty', 'captions.txt', '');
    await expect(readCaptionSet(empty)).rejects.toThrow(/^No usable photo-caption pairs in .*empty: captions.txt has no caption rows/);
    const none = await setWith('none', 'captions.txt', 'image,caption\nx.jpg,gone\ny.jpg,gone too\n');
    await expect(readCaptionSet(none)).rejects.toThrow(/No usable photo-caption pairs in .*none: 2 missing images \(e\.g\. x\.jpg\)/);
  });

  it('names the missing pieces of a folder', async () => {
    const dir = path.join(tmp, 'nocaps');
    await fs.mkdir(path.join(dir, 'Images'), { recursive: true });
    await expect(readCaptionSet(dir)).rejects.toThrow(/No captions file in .*nocaps: expected one of captions.txt/);
    const noImages = path.join(tmp, 'noimages');
    await fs.mkdir(noImages);
    await fs.writeFile(path.join(noImages, 'captions.txt'), 'image,caption\n');
    await expect(readCaptionSet(noImages)).rejects.toThrow(/No Images\/ folder in .*noimages/);
    await expect(readCaptionSet(path.join(tmp, 'does-not-exist'))).rejects.toThrow(/is not a folder/);
  });

  it('unquotes only whole CSV-quoted fields', () => {
    expect(unquoteCsvField('"a ""b"" c"')).toBe('a "b" c');
    expect(unquoteCsvField('" x " and " y "')).toBe('" x " and " y "');
    expect(unquoteCsvField('  plain ')).toBe('plain');
  });
});
