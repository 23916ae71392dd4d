import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModelDir } from '../../main/backend/catalog/registry';
import { openModel } from '../../main/backend/catalog/open-model';
import { normalize, prepareImage } from '../../main/backend/model/preprocess';
import type { ImagePreprocess, PreparedImage } from '../../main/backend/model/types';
import { ImageReadError, describeImageError, readImageInfo } from '../../main/backend/photos/decode';
import { readImageHeader } from '../../main/backend/photos/header';
import { makeCameraPhotos } from '../helpers/fixtures';

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ps-prep-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const plain: ImagePreprocess = { size: 8, resize: 'cover', rescale: 255, mean: [0, 0, 0], std: [1, 1, 1], layout: 'nchw' };

/** 120x80, left half red, right half blue. */
async function leftRedRightBlue(): Promise<sharp.Sharp> {
  const blue = await sharp({ create: { width: 60, height: 80, channels: 3, background: { r: 0, g: 0, b: 255 } } }).png().toBuffer();
  const buf = await sharp({ create: { width: 120, height: 80, channels: 3, background: { r: 255, g: 0, b: 0 } } })
    .composite([{ input: blue, left: 60, top: 0 }])
    .png()
    .toBuffer();
  return sharp(buf);
}

/** Channel c of pixel (x, y) of an nchw tensor of side S. */
const px = (t: Float32Array, S: number, c: number, x: number, y: number) => t[c * S * S + y * S + x];

describe('prepareImage', () => {
  for (const fmt of ['png', 'jpeg', 'webp'] as const) {
    it(`applies EXIF orientation 6 to ${fmt}`, async () => {
      const buf = await (await leftRedRightBlue()).withMetadata({ orientation: 6 }).toFormat(fmt, { quality: 95 }).toBuffer();
      const file = path.join(tmp, `rot.${fmt}`);
      await fs.writeFile(file, buf);
      const p = await prepareImage(file, { ...plain, resize: 'squash' });
      expect([p.width, p.height]).toEqual([80, 120]);
      // Orientation 6 = rotate 90° clockwise to display: the red left half becomes the top.
      expect(px(p.tensor, 8, 0, 4, 1)).toBeGreaterThan(0.9); // top: red
      expect(px(p.tensor, 8, 2, 4, 1)).toBeLessThan(0.1);
      expect(px(p.tensor, 8, 2, 4, 6)).toBeGreaterThan(0.9); // bottom: blue
      expect(px(p.tensor, 8, 0, 4, 6)).toBeLessThan(0.1);
    });
  }

  it('normalizes with rescale, mean and std in nchw and nhwc', async () => {
    const buf = await sharp({ create: { width: 20, height: 10, channels: 3, background: { r: 255, g: 51, b: 0 } } }).png().toBuffer();
    const pre: ImagePreprocess = { size: 4, resize: 'cover', rescale: 255, mean: [0.5, 0.1, 0.2], std: [0.5, 0.2, 0.4], layout: 'nchw' };
    const a = await prepareImage(buf, pre);
    expect(a.tensor.length).toBe(48);
    expect(a.tensor[0]).toBeCloseTo((1 - 0.5) / 0.5, 5);
    expect(a.tensor[16]).toBeCloseTo((0.2 - 0.1) / 0.2, 5);
    expect(a.tensor[47]).toBeCloseTo((0 - 0.2) / 0.4, 5);
    const b = await prepareImage(buf, { ...pre, layout: 'nhwc' });
    expect(Array.from(b.tensor.slice(0, 3)).map((v) => +v.toFixed(4))).toEqual([1, 0.5, -0.5]);
  });

  it('crops (cover), letterboxes (contain) or squashes', async () => {
    const wide = await (await leftRedRightBlue()).resize(160, 40, { fit: 'fill' }).png().toBuffer();
    const cover = await prepareImage(wide, plain);
    // Cover keeps the central square: red on its left, blue on its right, no black bars.
    expect(px(cover.tensor, 8, 0, 0, 0)).toBeGreaterThan(0.9);
    expect(px(cover.tensor, 8, 2, 7, 7)).toBeGreaterThan(0.9);
    const contain = await prepareImage(wide, { ...plain, resize: 'contain' });
    expect([0, 1, 2].map((c) => px(contain.tensor, 8, c, 4, 0))).toEqual([0, 0, 0]); // black bar on top
    expect(px(contain.tensor, 8, 0, 0, 4)).toBeGreaterThan(0.9);
    expect([contain.width, contain.height]).toEqual([160, 40]);
  });

  it('flattens transparency and handles grayscale', async () => {
    const rgba = await sharp({ create: { width: 10, height: 10, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    const t = await prepareImage(rgba, plain);
    expect(t.tensor.length).toBe(192);
    expect(t.tensor.every((v) => v > 0.99)).toBe(true); // transparent → white
    const gray = await sharp({ create: { width: 10, height: 10, channels: 3, background: { r: 128, g: 128, b: 128 } } }).toColourspace('b-w').png().toBuffer();
    expect((await sharp(gray).metadata()).channels).toBe(1);
    const g = await prepareImage(gray, plain);
    expect(g.tensor.length).toBe(192);
    expect(Math.abs(g.tensor[0] - g.tensor[64])).toBeLessThan(0.01);
  });
});

/** A PNG whose header claims w x h (the pixel data is never read: the size check comes first). */
function pngHeader(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(16))), chunk('IEND', Buffer.alloc(0))]);
}

/**
 * Root reads a mode-000 file anyway (CAP_DAC_OVERRIDE), and CI runs as root: read it in a child process
 * whose capability bounding set lacks the two capabilities that bypass file permissions (util-linux
 * `setpriv`), so the kernel answers EACCES as it does for everyone else.
 */
async function reasonWithoutRootBypass(file: string): Promise<string> {
  const child = path.join(tmp, 'reason-child.ts');
  const decode = path.join(__dirname, '..', '..', 'main', 'backend', 'photos', 'decode.ts');
  const preprocess = path.join(__dirname, '..', '..', 'main', 'backend', 'model', 'preprocess.ts');
  await fs.writeFile(
    child,
    `import { describeImageError } from ${JSON.stringify(decode)};
import { prepareImage } from ${JSON.stringify(preprocess)};
prepareImage(process.argv[2], ${JSON.stringify(plain)}).then(() => console.log('read'), (e) => console.log(describeImageError(e)));
`,
  );
  const { stdout } = await promisify(execFile)('setpriv', ['--bounding-set=-dac_override,-dac_read_search', process.execPath, '--import', 'tsx', child, file]);
  return stdout.trim();
}

describe('bad images fail with a one-line reason', () => {
  async function reason(input: string | Buffer, limit?: number): Promise<string> {
    try {
      await prepareImage(input, plain, { limitInputPixels: limit });
    } catch (e) {
      expect(e).toBeInstanceOf(ImageReadError);
      const msg = (e as Error).message;
      expect(msg).not.toContain('\n');
      expect(msg).toContain(typeof input === 'string' ? input : '<image data>');
      return describeImageError(e);
    }
    throw new Error('expected prepareImage to throw');
  }

  it('empty file', async () => {
    const f = path.join(tmp, 'empty.jpg');
    await fs.writeFile(f, '');
    expect(await reason(f)).toBe('empty file');
  });

  it('text renamed .jpg', async () => {
    const f = path.join(tmp, 'notes.jpg');
    await fs.writeFile(f, 'shopping list: eggs, milk\n');
    expect(await reason(f)).toBe('not an image');
  });

  it('truncated JPEG', async () => {
    const noise = Buffer.from(Array.from({ length: 200 * 150 * 3 }, (_, i) => (i * 7919) % 251));
    const jpg = await sharp(noise, { raw: { width: 200, height: 150, channels: 3 } }).jpeg().toBuffer();
    const f = path.join(tmp, 'cut.jpg');
    await fs.writeFile(f, jpg.subarray(0, Math.floor(jpg.length / 2)));
    expect(await reason(f)).toBe('truncated or corrupt image');
  });

  it('dimensions over the pixel limit, default 100 megapixels', async () => {
    expect(await reason(pngHeader(20000, 20000))).toBe('image too large (400.0 megapixels > limit of 100 megapixels)');
    const real = await sharp({ create: { width: 2000, height: 1000, channels: 3, background: 'red' } }).png().toBuffer();
    expect(await reason(real, 1_000_000)).toBe('image too large (2.0 megapixels > limit of 1 megapixels)');
    await expect(readImageInfo(pngHeader(20000, 20000))).rejects.toThrow(/image too large/);
  });

  it('missing file and folder', async () => {
    expect(await reason(path.join(tmp, 'nope.jpg'))).toBe('file not found');
    expect(await reason(tmp)).toBe('is a folder, not a file');
  });

  it('permission denied (as root too: the read runs without the capabilities that let root past the mode bits)', async () => {
    const f = path.join(tmp, 'secret.png');
    await fs.writeFile(f, await sharp({ create: { width: 4, height: 4, channels: 3, background: 'red' } }).png().toBuffer());
    await fs.chmod(f, 0o000);
    try {
      expect(await (process.getuid?.() === 0 ? reasonWithoutRootBypass(f) : reason(f))).toBe('unreadable (permission denied)');
    } finally {
      await fs.chmod(f, 0o600);
    }
  });

  it('classifies raw library errors', () => {
    expect(describeImageError(new Error('Input buffer contains unsupported image format'))).toBe('not an image');
    expect(describeImageError(new Error('VipsJpeg: premature end of JPEG image'))).toBe('truncated or corrupt image');
    expect(describeImageError(Object.assign(new Error('x'), { code: 'EACCES' }))).toBe('unreadable (permission denied)');
    expect(describeImageError(new Error('something odd\nstack'))).toBe('could not decode image (something odd)');
    expect(describeImageError(new Error('heif: Unsupported feature: Unsupported codec'))).toBe('unsupported or corrupt HEIC/HEIF image');
  });
});

describe('readImageInfo', () => {
  it('reads rotated size, format and EXIF DateTimeOriginal', async () => {
    const f = path.join(tmp, 'dated.jpg');
    await (await leftRedRightBlue())
      .withExif({ IFD2: { DateTimeOriginal: '2021:05:03 10:20:30' } })
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toFile(f);
    expect(await readImageInfo(f)).toEqual({ width: 80, height: 120, format: 'jpeg', takenAt: '2021-05-03T10:20:30', takenOffset: null, gps: null });
    const png = await sharp({ create: { width: 5, height: 3, channels: 3, background: 'red' } }).png().toBuffer();
    expect(await readImageInfo(png)).toEqual({ width: 5, height: 3, format: 'png', takenAt: null, takenOffset: null, gps: null });
  });
});

describe('camera JPEGs', () => {
  const cosine = (x: Float32Array, y: Float32Array) => {
    let d = 0;
    let nx = 0;
    let ny = 0;
    for (let i = 0; i < x.length; i++) {
      d += x[i] * y[i];
      nx += x[i] * x[i];
      ny += y[i] * y[i];
    }
    return d / Math.sqrt(nx * ny);
  };

  it('shrink-on-load gives the built-in tower the same picture as a full-size decode, EXIF orientation applied', async () => {
    // Small stand-ins for 12 MP files (1600 × 1200 is enough for a 1/4-scale JPEG load at 224 px).
    const photos = await makeCameraPhotos(path.join(tmp, 'camera'), 2, 5, { width: 1600, height: 1200, orientations: [6, 3] });
    const model = await openModel(builtinModelDir());
    try {
      const pre = model.manifest.image.preprocess;
      const prepared: PreparedImage[] = [];
      for (const p of photos) {
        const buf = await fs.readFile(p.path);
        expect(readImageHeader(buf)).toMatchObject({ width: 1600, height: 1200, orientation: p.orientation, dateTimeOriginal: expect.stringMatching(/^2024:/) });
        const fast = await prepareImage(buf, pre);
        // Reference: decode every pixel, rotate, then the same resize from the full-size picture.
        const full = await sharp(buf).rotate().raw().toBuffer({ resolveWithObject: true });
        const resized = await sharp(full.data, { raw: { width: full.info.width, height: full.info.height, channels: 3 } }).resize(pre.size, pre.size, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer();
        const ref = normalize(resized, 3, pre);
        expect([fast.width, fast.height]).toEqual([full.info.width, full.info.height]);
        expect([fast.width, fast.height]).toEqual(p.orientation === 6 ? [1200, 1600] : [1600, 1200]);
        // Pixels (0–255 here: the built-in tower takes raw RGB): ~0.5 apart on average, measured.
        const diff = fast.tensor.reduce((s, v, i) => s + Math.abs(v - ref[i]), 0) / ref.length;
        expect(diff).toBeLessThan(1.5);
        prepared.push(fast, { tensor: ref, width: full.info.width, height: full.info.height });
      }
      const emb = await model.embedImageFeatures(await model.imageFeatures(prepared));
      // Same photo, two decodes: ≥ 0.998 (0.999 measured); two different photos are far below that.
      expect(cosine(emb[0], emb[1])).toBeGreaterThan(0.998);
      expect(cosine(emb[2], emb[3])).toBeGreaterThan(0.998);
      expect(cosine(emb[0], emb[2])).toBeLessThan(0.99);
    } finally {
      await model.dispose();
    }
  });
});
