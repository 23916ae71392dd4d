/**
 * Phone and camera files (issue 26): HEIC (HEVC) decoded by libheif in WebAssembly, RAW through the JPEG preview
 * the camera embeds, dates with their time-zone offset and GPS from EXIF, for every format; indexed with the real
 * decoder, sharp and SQLite, and served to browsers as JPEG (thumbnail and full view).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend, type Backend } from '../../main/backend/backend';
import { openModel } from '../../main/backend/catalog/open-model';
import { indexFolders } from '../../main/backend/library/indexer';
import type { EmbeddingModel } from '../../main/backend/model/types';
import { decodeImage, readImageInfo } from '../../main/backend/photos/decode';
import { HEIF_ENC, heifEncAvailable, jpegWith, rawLike, writeHeic, type RawKind } from '../helpers/camera-files';
import { generateTestModel } from '../helpers/generate-model';

let tmp: string;
const heif = heifEncAvailable();
if (!heif) console.warn('HEIC tests skipped: /usr/bin/heif-enc is missing (apt-get install libheif-examples; CI installs it).');

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-camera-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** 1200×800: left half red, right half blue. */
async function redBlue(w = 1200, h = 800): Promise<sharp.Sharp> {
  const blue = await sharp({ create: { width: w / 2, height: h, channels: 3, background: { r: 0, g: 0, b: 255 } } }).png().toBuffer();
  return sharp(await sharp({ create: { width: w, height: h, channels: 3, background: { r: 255, g: 0, b: 0 } } }).composite([{ input: blue, left: w / 2, top: 0 }]).png().toBuffer());
}

/** RGB of pixel (x, y) of an 8×8 HWC decode. */
const rgb = (d: Buffer, x: number, y: number) => [...d.subarray((y * 8 + x) * 3, (y * 8 + x) * 3 + 3)];
const LISBON = { lat: 38.7223, lon: -9.1393 };

describe.runIf(heif)('HEIC (HEVC)', () => {
  it('decodes the pixels, reads size, date with its offset and GPS, and says why a damaged file cannot be used', async () => {
    const file = path.join(tmp, 'phone.heic');
    writeHeic(await jpegWith(await redBlue(640, 480), { date: '2024:05:17 18:30:00', offset: '+01:00', gps: LISBON }), file, 80);
    const buf = readFileSync(file);
    expect(buf.toString('latin1', 4, 12)).toBe('ftypheic');
    // sharp's own libvips cannot decode HEVC: this is what used to skip every iPhone photo.
    await expect(sharp(buf).raw().toBuffer()).rejects.toThrow();

    const info = await readImageInfo(buf);
    expect(info).toMatchObject({ width: 640, height: 480, format: 'heic', takenAt: '2024-05-17T18:30:00', takenOffset: '+01:00' });
    expect(info.gps!.lat).toBeCloseTo(LISBON.lat, 4);
    expect(info.gps!.lon).toBeCloseTo(LISBON.lon, 4);

    const d = await decodeImage(file, { size: 8, resize: 'squash' });
    expect([d.width, d.height, d.channels]).toEqual([640, 480, 3]);
    const [left, right] = [rgb(d.data, 1, 4), rgb(d.data, 6, 4)];
    expect(left[0]).toBeGreaterThan(200);
    expect(left[2]).toBeLessThan(60);
    expect(right[2]).toBeGreaterThan(200);
    expect(right[0]).toBeLessThan(60);

    await expect(decodeImage(buf.subarray(0, Math.floor(buf.length / 2)), { size: 8, resize: 'cover' })).rejects.toThrow(/truncated or corrupt HEIC\/HEIF image/);
    await expect(decodeImage(buf, { size: 8, resize: 'cover' }, { limitInputPixels: 100_000 })).rejects.toThrow(/image too large \(0\.3 megapixels > limit/);
  });
});

describe.runIf(heif)('HEIC with several images', () => {
  it('decodes the primary image, not a second one or the thumbnail', async () => {
    const dir = mkdtempSync(path.join(tmp, 'multi-'));
    const red = path.join(dir, 'red.jpg');
    const blue = path.join(dir, 'blue.jpg');
    writeFileSync(red, await jpegWith(sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 230, g: 20, b: 20 } } })));
    writeFileSync(blue, await jpegWith(sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 20, g: 20, b: 230 } } })));
    const file = path.join(dir, 'burst.heic');
    // Two top-level images (the first is the primary) and a 64 px thumbnail of each.
    execFileSync(HEIF_ENC, ['-q', '80', '-t', '64', '-o', file, red, blue], { stdio: 'ignore' });
    const d = await decodeImage(file, { size: 8, resize: 'squash' });
    expect([d.width, d.height]).toEqual([320, 240]);
    expect(rgb(d.data, 4, 4)[0]).toBeGreaterThan(200);
    expect(rgb(d.data, 4, 4)[2]).toBeLessThan(60);
  });
});

describe('RAW through the embedded JPEG preview', () => {
  const kinds: [RawKind, string][] = [
    ['dng', 'dng'],
    ['nef', 'tiff-based raw'],
    ['cr2', 'cr2'],
    ['rw2', 'rw2'],
    ['raf', 'raf'],
    ['cr3', 'cr3'],
  ];
  it.each(kinds)('%s: the full-size preview, the RAW file orientation, date, offset and GPS', async (kind, format) => {
    const preview = await jpegWith(await redBlue(), { date: '2022:08:09 07:06:05', offset: '-03:00', gps: LISBON });
    // RAF and CR3 keep their orientation elsewhere (not read): their preview is shown as stored.
    const turned = kind !== 'raf' && kind !== 'cr3';
    const raw = await rawLike(kind, preview, 6);
    const info = await readImageInfo(raw);
    expect(info).toMatchObject({ format, takenAt: '2022-08-09T07:06:05', takenOffset: '-03:00', width: turned ? 800 : 1200, height: turned ? 1200 : 800 });
    expect(info.gps!.lat).toBeCloseTo(LISBON.lat, 4);
    const d = await decodeImage(raw, { size: 8, resize: 'squash' });
    expect([d.width, d.height]).toEqual([info.width, info.height]);
    // Orientation 6 turns the red left half to the top.
    const top = rgb(d.data, 4, 1);
    if (turned) expect(top[0]).toBeGreaterThan(200);
    else expect(rgb(d.data, 1, 4)[0]).toBeGreaterThan(200);
  });

  it('skips RAW files it cannot read with the reason', async () => {
    const tiny = await rawLike('nef', await jpegWith(await redBlue(200, 100)));
    await expect(decodeImage(tiny, { size: 8, resize: 'cover' })).rejects.toThrow(/embedded preview is only 200×100 px, too small to search by/);
    const x3f = Buffer.concat([Buffer.from('FOVb', 'latin1'), Buffer.alloc(200)]);
    await expect(decodeImage(x3f, { size: 8, resize: 'cover' })).rejects.toThrow(/X3F RAW files are not supported/);
    const noPreview = await rawLike('dng', Buffer.from('not a jpeg at all'));
    await expect(decodeImage(noPreview, { size: 8, resize: 'cover' })).rejects.toThrow(/DNG file without an embedded JPEG preview/);
  }, 60_000);

  it('leaves a plain TIFF to sharp', async () => {
    const tif = await (await redBlue(120, 80)).tiff().toBuffer();
    expect((await readImageInfo(tif)).format).toBe('tiff');
    expect((await decodeImage(tif, { size: 8, resize: 'squash' })).width).toBe(120);
  });
});

describe('a library of phone and camera files', () => {
  let model: EmbeddingModel;
  let backend: Backend;
  beforeAll(async () => {
    const modelDir = await generateTestModel(path.join(tmp, 'model'), { seed: 5 });
    model = await openModel(modelDir);
    backend = await openBackend({ dataDir: path.join(tmp, 'data'), modelDir });
  });
  afterAll(async () => {
    await backend.close();
    await model.dispose();
  });

  it('indexes HEIC and DNG beside JPEG, skips what it cannot read with the reason, and serves JPEG to browsers', async () => {
    const root = path.join(tmp, 'library');
    mkdirSync(root, { recursive: true });
    const jpeg = await jpegWith(await redBlue(), { date: '2021:01:02 03:04:05', offset: '+09:00' });
    writeFileSync(path.join(root, 'camera.jpg'), jpeg);
    writeFileSync(path.join(root, 'camera.dng'), await rawLike('dng', await jpegWith(await redBlue(), { date: '2020:02:03 04:05:06' })));
    writeFileSync(path.join(root, 'old.x3f'), Buffer.concat([Buffer.from('FOVb', 'latin1'), Buffer.alloc(100)]));
    if (heif) {
      // A different picture from the others: green above, yellow below.
      const yellow = await sharp({ create: { width: 640, height: 240, channels: 3, background: { r: 250, g: 220, b: 0 } } }).png().toBuffer();
      const greenYellow = () => sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 0, g: 160, b: 60 } } }).composite([{ input: yellow, left: 0, top: 240 }]);
      writeHeic(await jpegWith(greenYellow(), { date: '2024:05:17 18:30:00', offset: '+01:00' }), path.join(root, 'phone.heic'));
      writeFileSync(path.join(tmp, 'like.png'), await greenYellow().png().toBuffer());
      writeFileSync(path.join(root, 'broken.heic'), readFileSync(path.join(root, 'phone.heic')).subarray(0, 400));
    }
    const store = backend.state.store;
    store.addRoot(root);
    const summary = await indexFolders({ store, model, roots: [root] });
    expect(summary.added).toBe(heif ? 3 : 2);
    const skipped = new Map(store.listSkipped(100, 0).map((s) => [path.basename(s.path), s.reason]));
    expect(skipped.get('old.x3f')).toMatch(/^X3F RAW files are not supported/);
    if (heif) expect(skipped.get('broken.heic')).toMatch(/truncated or corrupt HEIC\/HEIF image/);

    const dng = store.photoByPath(path.join(root, 'camera.dng'))!;
    expect(dng).toMatchObject({ width: 1200, height: 800, takenAt: '2020-02-03T04:05:06', takenOffset: null });
    const cam = store.photoByPath(path.join(root, 'camera.jpg'))!;
    expect(cam).toMatchObject({ takenAt: '2021-01-02T03:04:05', takenOffset: '+09:00' });

    // A JPEG is served as it is; a DNG (and a HEIC) as a cached JPEG rendition, thumbnail and full view.
    expect(await backend.photoFile(cam.id, 'full')).toBe(path.join(root, 'camera.jpg'));
    const dngFull = (await backend.photoFile(dng.id, 'full'))!;
    expect(dngFull.startsWith(backend.state.thumbnailsDir)).toBe(true);
    expect(await sharp(dngFull).metadata()).toMatchObject({ format: 'jpeg', width: 1200, height: 800 });
    expect(await backend.photoFile(dng.id, 'original')).toBe(path.join(root, 'camera.dng'));
    if (heif) {
      const phone = store.photoByPath(path.join(root, 'phone.heic'))!;
      expect(phone).toMatchObject({ width: 640, height: 480, takenAt: '2024-05-17T18:30:00', takenOffset: '+01:00' });
      const thumb = (await backend.photoFile(phone.id, 'thumb'))!;
      expect(await sharp(thumb).metadata()).toMatchObject({ format: 'jpeg', width: 256, height: 192 });
      const full = (await backend.photoFile(phone.id, 'full'))!;
      expect(await sharp(full).metadata()).toMatchObject({ format: 'jpeg', width: 640, height: 480 });
      // Found by --like with the same picture from outside the library.
      const hits = await backend.handlers.searchFiles({ files: [path.join(tmp, 'like.png')], top: 1 });
      expect(hits[0]!.path).toBe(path.join(root, 'phone.heic'));
    }
  });
});
