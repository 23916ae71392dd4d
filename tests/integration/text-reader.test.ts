/**
 * Reading words in photos with the real PP-OCRv4 models on onnxruntime, on photos the test makes (sharp renders
 * SVG text): what is read, that plain photos skip recognition, EXIF rotation, bounded work on an enormous
 * screenshot and on thousands of boxes; then the text pass over a real Store (resume, hashes, orphans).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sha256 } from '../../main/backend/fs/hash';
import { decodeForText } from '../../main/backend/photos/text-image';
import { Store } from '../../main/backend/store';
import { TEXT_ENGINE } from '../../main/backend/text/models';
import { DETECT_MAX_SIDE, MAX_BOXES, TextReader } from '../../main/backend/text/reader';
import { readTextInPhotos } from '../../main/backend/text/text-pass';
import { makeTextPhotos, wordAccuracy, type TextPhoto } from '../helpers/text-photos';

let tmp: string;
let photos: TextPhoto[];
let reader: TextReader;

const readFile = async (file: string) => (await reader.read(await decodeForText(readFileSync(file), DETECT_MAX_SIDE))).map((l) => l.text).join('\n');

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-text-'));
  photos = await makeTextPhotos(path.join(tmp, 'photos'), { plain: 2 });
  reader = await TextReader.open();
}, 60_000);

afterAll(async () => {
  await reader?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('the text reader', () => {
  it('reads the generated photos: the receipt says INVOICE 4711, and most words come out intact', async () => {
    let words = 0;
    let joined = 0;
    for (const p of photos.filter((x) => x.text)) {
      const a = wordAccuracy(p.text, await readFile(p.file));
      words += a.words;
      joined += a.joined;
    }
    expect(joined / words).toBeGreaterThanOrEqual(0.9);
    const receipt = (await readFile(photos.find((p) => p.file.includes('receipt'))!.file)).toLowerCase().replace(/\s+/g, '');
    expect(receipt).toContain('invoice4711');
  });

  it('reads several photos together exactly as one by one, the small ones in shared detector runs', async () => {
    // Each generated photo at its own size and shrunk to at most 224 px (the size of a typical library's photos).
    const big = await Promise.all(photos.map((p) => decodeForText(readFileSync(p.file), DETECT_MAX_SIDE)));
    const small = await Promise.all(photos.map(async (p) => decodeForText(await sharp(readFileSync(p.file)).rotate().resize(224, 224, { fit: 'inside' }).png().toBuffer(), DETECT_MAX_SIDE)));
    const all = [...small, ...big];
    const alone: string[][] = [];
    for (const img of all) alone.push((await reader.read(img)).map((l) => `${l.text} ${l.box.flat().join(',')}`));
    const runs = vi.spyOn(reader as unknown as { probabilitiesOf: (imgs: unknown[]) => Promise<unknown> }, 'probabilitiesOf');
    try {
      const together = (await reader.readMany(all)).map((lines) => lines.map((l) => `${l.text} ${l.box.flat().join(',')}`));
      expect(together).toEqual(alone);
      expect(alone.flat().length).toBeGreaterThan(0);
      // The small photos went through the detector in batches of up to 8 (grouped by padded size), the large alone.
      const sizes = runs.mock.calls.map((c) => c[0].length);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(all.length);
      expect(Math.max(...sizes)).toBeGreaterThan(1);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(8);
      expect(runs.mock.calls.length).toBeLessThan(all.length);
    } finally {
      runs.mockRestore();
    }
  });

  it('finds no text in plain photos, and runs no recognition where the detector finds no box', async () => {
    for (const p of photos.filter((x) => !x.text)) expect(await readFile(p.file)).toBe('');
    const sky = await sharp(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><defs><linearGradient id="g" x2="0" y2="1"><stop offset="0" stop-color="#3a7bd5"/><stop offset="1" stop-color="#e0eafc"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/></svg>')).jpeg().toBuffer();
    const img = await decodeForText(sky, DETECT_MAX_SIDE);
    expect(await reader.detect(img)).toEqual([]);
    const spy = vi.spyOn(reader, 'recognize');
    try {
      expect(await reader.read(img)).toEqual([]);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('reads a phone photo stored sideways upright (EXIF orientation), with boxes inside the photo', async () => {
    const p = photos.find((x) => x.file.includes('phone-sideways'))!;
    const lines = await reader.read(await decodeForText(readFileSync(p.file), DETECT_MAX_SIDE));
    expect(lines.map((l) => l.text).join(' ').toLowerCase()).toContain('boarding');
    for (const l of lines) for (const [x, y] of l.box) expect(x >= 0 && x <= 1 && y >= 0 && y <= 1).toBe(true);
  });

  it('decodes an enormous screenshot at most DETECT_MAX_SIDE on its longer side, and reads it', async () => {
    const h = 16000;
    const rows = Array.from({ length: 40 }, (_, i) => `<text x="40" y="${200 + i * 390}" font-size="120" font-family="DejaVu Sans">Line ${i}</text>`).join('');
    const file = path.join(tmp, 'tall.png');
    writeFileSync(file, await sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="${h}"><rect width="100%" height="100%" fill="#fff"/>${rows}</svg>`)).png().toBuffer());
    const img = await decodeForText(readFileSync(file), DETECT_MAX_SIDE);
    expect(Math.max(img.width, img.height)).toBe(DETECT_MAX_SIDE);
    expect(Array.isArray(await reader.read(img))).toBe(true);
  });

  it('reads at most MAX_BOXES boxes of a photo covered in thousands of marks', async () => {
    const marks: string[] = [];
    for (let y = 16; y < 960; y += 22) for (let x = 4; x < 940; x += 30) marks.push(`<text x="${x}" y="${y}" font-size="11" font-family="DejaVu Sans">ok</text>`);
    const buf = await sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="960" height="960"><rect width="100%" height="100%" fill="#fff"/>${marks.join('')}</svg>`)).png().toBuffer();
    const img = await decodeForText(buf, DETECT_MAX_SIDE);
    expect((await reader.detect(img)).length).toBe(MAX_BOXES); // many more marks than that: the cap holds
  });
});

describe('the text pass', () => {
  it('reads every content once, resumes after a cancel, and follows content hashes', async () => {
    const store = new Store(path.join(tmp, 'library.db'));
    try {
      const root = path.join(tmp, 'photos');
      const add = (file: string) => {
        const buf = readFileSync(file);
        const st = statSync(file);
        return store.upsertPhoto({ path: file, root, size: st.size, mtimeMs: st.mtimeMs, contentHash: sha256(buf), width: null, height: null, takenAt: null });
      };
      const ids = new Map(photos.map((p) => [p.file, add(p.file)]));
      expect(store.text.countTodo(TEXT_ENGINE)).toBe(photos.length);

      // Cancelled after the first photo: what was read stays, the next run reads the rest.
      const stop = new AbortController();
      const first = await readTextInPhotos({ store, reader, signal: stop.signal, batchSize: 1, onProgress: (p) => p.done >= 1 && stop.abort() });
      expect(first.read).toBeGreaterThanOrEqual(1);
      expect(first.read).toBeLessThan(photos.length);
      const second = await readTextInPhotos({ store, reader });
      expect(first.read + second.read).toBe(photos.length);
      expect(store.text.countTodo(TEXT_ENGINE)).toBe(0);
      expect(store.text.countWithText()).toBe(photos.filter((p) => p.text).length);
      expect(store.text.countRead()).toBe(photos.length);

      const receipt = ids.get(photos.find((p) => p.file.includes('receipt'))!.file)!;
      expect(store.text.idsWithAllWords(['invoice', '4711'], 10)).toEqual([receipt]);
      const row = store.text.ofPhoto(receipt)!;
      expect(row.engine).toBe(TEXT_ENGINE);
      expect(JSON.parse(row.lines).length).toBeGreaterThanOrEqual(4);

      // The receipt's bytes change: its old text goes with its old hash, and the new content is read.
      const receiptFile = photos.find((p) => p.file.includes('receipt'))!.file;
      writeFileSync(receiptFile, readFileSync(photos.find((p) => p.file.includes('dark-screenshot'))!.file));
      add(receiptFile);
      expect(store.text.idsWithAllWords(['invoice'], 10)).toEqual([]);
      const third = await readTextInPhotos({ store, reader });
      expect(third.read).toBe(0); // same content as the dark screenshot: already read
      expect(store.text.idsWithAllWords(['orion'], 10).sort()).toEqual([receipt, ids.get(photos.find((p) => p.file.includes('dark-screenshot'))!.file)!].sort());
      expect(store.db.prepare('SELECT count(*) FROM photo_text').pluck().get()).toBe(photos.length - 1); // the receipt's row was dropped
    } finally {
      store.close();
    }
  }, 120_000);
});
