/**
 * The first look at large photos (reader.ts, read-photo.ts), with the real detector and recognizer on photos the
 * test makes: a large receipt is looked at small, seen to hold text, then read at full size; a large photo without
 * text is stopped by the look (never decoded again nor read at full size); an enormous photo is decoded only at the
 * look's size; small photos are read at once; the text pass counts the photos the look stopped and reads them all
 * at full size when asked to (PHOTO_SEARCH_READ_TEXT=all).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sha256 } from '../../main/backend/fs/hash';
import { DEFAULT_PIXEL_LIMIT } from '../../main/backend/photos/decode';
import { decodeForText } from '../../main/backend/photos/text-image';
import { Store } from '../../main/backend/store';
import { TEXT_ENGINE } from '../../main/backend/text/models';
import { decodeFirst, firstSide, readDecoded } from '../../main/backend/text/read-photo';
import { DETECT_MAX_SIDE, LOOK_FROM, LOOK_MIN_PROB, LOOK_SIDE, TextReader } from '../../main/backend/text/reader';
import { readTextInPhotos } from '../../main/backend/text/text-pass';
import { makeGeneratedPhotos } from '../helpers/text-photo-set';

let tmp: string;
let reader: TextReader;
const files = { receipt: '', plain: '', enormous: '', small: '' };

const svg = (w: number, h: number, body: string) => Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${body}</svg>`);
// A sky: nothing the reader reads at any size (crisp synthetic shapes can look like letters to the detector).
const sky = () => `<defs><linearGradient id="g" x2="0" y2="1"><stop offset="0" stop-color="#3a7bd5"/><stop offset="1" stop-color="#e0eafc"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>`;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-text-look-'));
  const dir = path.join(tmp, 'photos');
  mkdirSync(dir);
  // A receipt photographed large (1600 × 2000): its words are 2–3% of the photo's height.
  const lines = ['HARBOUR BAKERY', 'INVOICE 4711', 'Rye bread 4.20', 'Total 9.80 EUR'];
  const text = lines.map((t, i) => `<text x="420" y="${520 + i * 150}" font-family="DejaVu Sans" font-size="${i === 0 ? 64 : 52}" fill="#222">${t}</text>`).join('');
  files.receipt = path.join(dir, 'receipt-large.jpg');
  writeFileSync(files.receipt, await sharp(svg(1600, 2000, `<rect width="100%" height="100%" fill="#6b5a4a"/><g transform="rotate(-3 800 1000)"><rect x="340" y="300" width="920" height="1400" fill="#fbf8ef"/>${text}</g>`)).jpeg({ quality: 88 }).toBuffer());
  files.plain = path.join(dir, 'sky-large.jpg');
  writeFileSync(files.plain, await sharp(svg(2400, 1800, sky())).jpeg({ quality: 88 }).toBuffer());
  // 48 MP: far more pixels than any step of the reader should decode.
  files.enormous = path.join(dir, 'enormous.jpg');
  writeFileSync(files.enormous, await sharp({ create: { width: 8000, height: 6000, channels: 3, background: { r: 120, g: 160, b: 200 } } }).jpeg({ quality: 80 }).toBuffer());
  files.small = path.join(dir, 'small.jpg');
  writeFileSync(files.small, await sharp(svg(640, 480, sky())).jpeg().toBuffer());
  reader = await TextReader.open();
}, 120_000);

afterAll(async () => {
  await reader?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('the first look', () => {
  it('looks at photos the detector would see at LOOK_FROM or more, and reads smaller ones at once', () => {
    expect(firstSide(224, 224)).toBe(DETECT_MAX_SIDE);
    expect(firstSide(700, 500)).toBe(DETECT_MAX_SIDE);
    expect(firstSide(LOOK_FROM, 400)).toBe(LOOK_SIDE);
    expect(firstSide(4032, 3024)).toBe(LOOK_SIDE);
    expect(firstSide(4032, 3024, false)).toBe(DETECT_MAX_SIDE);
    expect(LOOK_SIDE).toBeLessThan(LOOK_FROM);
  });

  it('sees the text of a large receipt at LOOK_SIDE, then reads it at full size', async () => {
    const buf = readFileSync(files.receipt);
    const first = await decodeFirst(buf, files.receipt, DEFAULT_PIXEL_LIMIT);
    expect(first.look).toBe(true);
    expect(Math.max(first.image.width, first.image.height)).toBe(LOOK_SIDE);
    expect(await reader.textEvidence(first.image)).toBeGreaterThanOrEqual(LOOK_MIN_PROB);
    const got = await readDecoded(reader, first, buf, files.receipt, DEFAULT_PIXEL_LIMIT);
    expect(got.stoppedByLook).toBe(false);
    expect(got.lines.map((l) => l.text).join('').toLowerCase().replace(/\s+/g, '')).toContain('invoice4711');
  });

  it('stops at the look on a large photo without text: no full-size detection, no recognition', async () => {
    const buf = readFileSync(files.plain);
    const first = await decodeFirst(buf, files.plain, DEFAULT_PIXEL_LIMIT);
    expect(first.look).toBe(true);
    expect(await reader.textEvidence(first.image)).toBeLessThan(LOOK_MIN_PROB);
    const read = vi.spyOn(reader, 'read');
    const detect = vi.spyOn(reader, 'detect');
    try {
      const got = await readDecoded(reader, first, buf, files.plain, DEFAULT_PIXEL_LIMIT);
      expect(got).toEqual({ lines: [], stoppedByLook: true });
      expect(read).not.toHaveBeenCalled();
      expect(detect).not.toHaveBeenCalled();
    } finally {
      read.mockRestore();
      detect.mockRestore();
    }
  });

  it('decodes an enormous photo only at the size of the look, and stops there', async () => {
    const buf = readFileSync(files.enormous);
    const first = await decodeFirst(buf, files.enormous, DEFAULT_PIXEL_LIMIT);
    expect(first.look).toBe(true);
    expect([first.image.width, first.image.height]).toEqual([LOOK_SIDE, 360]);
    expect(first.image.data.length).toBe(LOOK_SIDE * 360 * 3);
    expect(await readDecoded(reader, first, buf, files.enormous, DEFAULT_PIXEL_LIMIT)).toEqual({ lines: [], stoppedByLook: true });
  });

  it('reads a small photo at once at its own size (no look)', async () => {
    const first = await decodeFirst(readFileSync(files.small), files.small, DEFAULT_PIXEL_LIMIT);
    expect(first.look).toBe(false);
    expect([first.image.width, first.image.height]).toEqual([640, 480]);
  });

  it('keeps every large generated text photo the full reader reads text in (seeds the threshold was not chosen on)', async () => {
    const made = await makeGeneratedPhotos(path.join(tmp, 'generated'), ['receipt', 'screenshot', 'document', 'sign', 'caption'], 2, 7);
    let large = 0;
    for (const p of made) {
      const buf = readFileSync(p.file);
      const first = await decodeFirst(buf, p.file, DEFAULT_PIXEL_LIMIT);
      if (!first.look) continue;
      const full = await reader.read(await decodeForText(buf, DETECT_MAX_SIDE));
      if (full.length === 0) continue;
      large++;
      expect(await reader.textEvidence(first.image), path.basename(p.file)).toBeGreaterThanOrEqual(LOOK_MIN_PROB);
    }
    expect(large).toBeGreaterThanOrEqual(6); // the set is mostly large photos: the check looked at many
  }, 120_000);
});

describe('the text pass with the look', () => {
  it('counts the photos the look stopped, finds the receipt, and reads all at full size when asked to', async () => {
    const store = new Store(path.join(tmp, 'library.db'));
    try {
      const root = path.join(tmp, 'photos');
      for (const file of [files.receipt, files.plain, files.enormous, files.small]) {
        const buf = readFileSync(file);
        const st = statSync(file);
        store.upsertPhoto({ path: file, root, size: st.size, mtimeMs: st.mtimeMs, contentHash: sha256(buf), width: null, height: null, takenAt: null });
      }
      const looked = await readTextInPhotos({ store, reader, look: true });
      expect(looked.read).toBe(4);
      expect(looked.stoppedByLook).toBe(2); // the large sky and the enormous photo
      expect(looked.withText).toBe(1);
      expect(store.text.idsWithAllWords(['invoice', '4711'], 10)).toHaveLength(1);

      store.db.prepare('DELETE FROM photo_text').run();
      expect(store.text.countTodo(TEXT_ENGINE)).toBe(4);
      const read = vi.spyOn(reader, 'readMany');
      try {
        const all = await readTextInPhotos({ store, reader, look: false });
        expect(all).toMatchObject({ read: 4, stoppedByLook: 0, withText: 1 });
        // Every photo read at once (none looked at first), the four in one call.
        expect(read.mock.calls.map((c) => c[0].length)).toEqual([4]);
      } finally {
        read.mockRestore();
      }
    } finally {
      store.close();
    }
  }, 120_000);
});
