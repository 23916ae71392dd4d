/**
 * Fixture photos for tests: coloured shapes drawn with sharp (SVG rendered by libvips), seeded, with a
 * caption describing each one ("a red circle on the left and two blue squares"). Every photo carries a
 * small binary barcode strip, so two fixtures never share content (and the feature cache) by accident.
 * `makeBadFiles` makes the files the indexer must skip.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { seededRandom as rng } from '../../shared/random';

export const COLORS = {
  red: '#e02020',
  green: '#20a040',
  blue: '#2040e0',
  yellow: '#f0d020',
  purple: '#9030c0',
  orange: '#f08020',
  black: '#101010',
  white: '#fafafa',
} as const;
export type ColorName = keyof typeof COLORS;
export type ShapeKind = 'circle' | 'square' | 'triangle';
export type Format = 'jpeg' | 'png' | 'webp';

export interface ShapeSpec {
  shape: ShapeKind;
  color: ColorName;
  /** Centre, as fractions of the width / height. */
  x: number;
  y: number;
  /** Size as a fraction of the shorter side. */
  size: number;
}

export interface PhotoSpec {
  /** File name without extension (default photo-NNN). */
  name?: string;
  format?: Format;
  width?: number;
  height?: number;
  background?: ColorName;
  shapes: ShapeSpec[];
}

export interface FixturePhoto {
  path: string;
  spec: Required<PhotoSpec>;
  caption: string;
}

const SHAPES: ShapeKind[] = ['circle', 'square', 'triangle'];
const SHAPE_COLORS: ColorName[] = ['red', 'green', 'blue', 'yellow', 'purple', 'orange', 'black'];

function where(x: number): string {
  return x < 0.36 ? 'on the left' : x > 0.64 ? 'on the right' : 'in the middle';
}

const NUMBER_WORDS = ['', 'a', 'two', 'three', 'four'];

/** "a red circle on the left and two blue squares on the right". */
export function captionFor(spec: PhotoSpec): string {
  const groups = new Map<string, { n: number; color: string; shape: string; where: string }>();
  for (const s of spec.shapes) {
    const key = `${s.color}|${s.shape}|${where(s.x)}`;
    const g = groups.get(key) ?? { n: 0, color: s.color, shape: s.shape, where: where(s.x) };
    g.n++;
    groups.set(key, g);
  }
  const parts = [...groups.values()].map((g) => `${NUMBER_WORDS[g.n] ?? g.n} ${g.color} ${g.shape}${g.n > 1 ? 's' : ''} ${g.where}`);
  const body = parts.length ? parts.join(' and ') : 'nothing';
  return spec.background && spec.background !== 'white' ? `${body} on a ${spec.background} background` : body;
}

function shapeSvg(s: ShapeSpec, w: number, h: number): string {
  const r = (s.size * Math.min(w, h)) / 2;
  const cx = s.x * w;
  const cy = s.y * h;
  const fill = COLORS[s.color];
  if (s.shape === 'circle') return `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${fill}"/>`;
  if (s.shape === 'square') return `<rect x="${cx - r}" y="${cy - r}" width="${2 * r}" height="${2 * r}" fill="${fill}"/>`;
  return `<polygon points="${cx},${cy - r} ${cx + r},${cy + r} ${cx - r},${cy + r}" fill="${fill}"/>`;
}

/** 16 black/white cells encoding `id` along the bottom edge. */
function barcodeSvg(id: number, w: number, h: number): string {
  const cell = Math.max(2, Math.floor(w / 40));
  let out = '';
  for (let bit = 0; bit < 16; bit++) {
    const on = (id >> bit) & 1;
    out += `<rect x="${bit * cell}" y="${h - cell}" width="${cell}" height="${cell}" fill="${on ? '#000' : '#fff'}"/>`;
  }
  return out;
}

export function svgFor(spec: Required<PhotoSpec>, id: number): string {
  const { width: w, height: h } = spec;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">` +
    `<rect width="${w}" height="${h}" fill="${COLORS[spec.background]}"/>` +
    spec.shapes.map((s) => shapeSvg(s, w, h)).join('') +
    barcodeSvg(id, w, h) +
    `</svg>`
  );
}

/** A random scene: 1–3 shapes, positions spread so captions stay true. */
export function randomSpec(next: () => number, i: number, base: Partial<PhotoSpec> = {}): PhotoSpec {
  const n = 1 + Math.floor(next() * 3);
  const shapes: ShapeSpec[] = [];
  for (let k = 0; k < n; k++) {
    shapes.push({
      shape: SHAPES[Math.floor(next() * SHAPES.length)],
      color: SHAPE_COLORS[Math.floor(next() * SHAPE_COLORS.length)],
      x: 0.2 + 0.6 * next(),
      y: 0.25 + 0.5 * next(),
      size: 0.18 + 0.15 * next(),
    });
  }
  return { name: `photo-${String(i).padStart(3, '0')}`, background: 'white', ...base, shapes };
}

export async function encode(svg: string, format: Format): Promise<Buffer> {
  const img = sharp(Buffer.from(svg));
  if (format === 'png') return img.png().toBuffer();
  if (format === 'webp') return img.webp({ quality: 85 }).toBuffer();
  return img.jpeg({ quality: 85 }).toBuffer();
}

/**
 * Write photos into `dir`: given specs, or `count` random ones from `seed`. Formats cycle
 * jpeg/png/webp for random ones unless `format` is given. Returns them in order.
 */
export async function makePhotos(
  dir: string,
  specsOrCount: PhotoSpec[] | number,
  seed = 1,
  opts: { format?: Format; width?: number; height?: number; concurrency?: number } = {},
): Promise<FixturePhoto[]> {
  mkdirSync(dir, { recursive: true });
  const next = rng(seed);
  const cycle: Format[] = ['jpeg', 'png', 'webp'];
  const specs =
    typeof specsOrCount === 'number'
      ? Array.from({ length: specsOrCount }, (_, i) => randomSpec(next, i, { format: opts.format ?? cycle[i % 3] }))
      : specsOrCount;
  const full: Required<PhotoSpec>[] = specs.map((s, i) => ({
    name: s.name ?? `photo-${String(i).padStart(3, '0')}`,
    format: s.format ?? opts.format ?? 'jpeg',
    width: s.width ?? opts.width ?? 224,
    height: s.height ?? opts.height ?? 224,
    background: s.background ?? 'white',
    shapes: s.shapes,
  }));
  const out: FixturePhoto[] = new Array(full.length);
  const concurrency = opts.concurrency ?? 4;
  let cursor = 0;
  // The barcode id mixes in the seed so sets made with different seeds differ too.
  const idBase = (seed * 7919) & 0xffff;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (cursor < full.length) {
        const i = cursor++;
        const spec = full[i];
        const ext = spec.format === 'jpeg' ? 'jpg' : spec.format;
        const file = path.join(dir, `${spec.name}.${ext}`);
        writeFileSync(file, await encode(svgFor(spec, (idBase + i) & 0xffff), spec.format));
        out[i] = { path: file, spec, caption: captionFor(spec) };
      }
    }),
  );
  return out;
}

/** Pixel limit to pass to the indexer so `huge.png` from makeBadFiles is refused and 224×224 photos pass. */
export const BAD_FILES_PIXEL_LIMIT = 250 * 250;

export interface BadFile {
  path: string;
  kind: 'empty' | 'not-image' | 'truncated' | 'too-large' | 'fifo' | 'broken-link' | 'unreadable';
  /** Whether the indexer must skip it here. `unreadable` (chmod 000) is readable when running as root. */
  expectSkipped: boolean;
  /** What the recorded reason must say. */
  reason: RegExp;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * Files the indexer must skip (with the pixel limit BAD_FILES_PIXEL_LIMIT). POSIX-only kinds (FIFO,
 * symlink, chmod) are left out on Windows.
 */
export async function makeBadFiles(dir: string): Promise<BadFile[]> {
  mkdirSync(dir, { recursive: true });
  const good = await encode(svgFor({ name: 'x', format: 'jpeg', width: 224, height: 224, background: 'white', shapes: [{ shape: 'circle', color: 'red', x: 0.5, y: 0.5, size: 0.5 }] }, 0xbad), 'jpeg');
  const out: BadFile[] = [];
  const put = (name: string, data: Buffer | string, kind: BadFile['kind'], reason: RegExp) => {
    const p = path.join(dir, name);
    writeFileSync(p, data);
    out.push({ path: p, kind, expectSkipped: true, reason });
  };
  put('empty.jpg', '', 'empty', /empty file/);
  put('notes.png', 'This is a text file with a photo extension.\n', 'not-image', /not an image/);
  put('truncated.jpg', good.subarray(0, Math.floor(good.length / 2)), 'truncated', /truncated|corrupt/);
  const huge = await sharp({ create: { width: 300, height: 300, channels: 3, background: { r: 10, g: 200, b: 30 } } }).png().toBuffer();
  put('huge.png', huge, 'too-large', /too large/);
  if (process.platform !== 'win32') {
    const fifo = path.join(dir, 'pipe.jpg');
    execFileSync('mkfifo', [fifo]);
    out.push({ path: fifo, kind: 'fifo', expectSkipped: true, reason: /not a regular file/ });
    const link = path.join(dir, 'broken.jpg');
    symlinkSync(path.join(dir, 'does-not-exist.jpg'), link);
    out.push({ path: link, kind: 'broken-link', expectSkipped: true, reason: /broken link/ });
    const locked = path.join(dir, 'locked.jpg');
    writeFileSync(locked, good);
    chmodSync(locked, 0o000);
    // Root reads a chmod 000 file anyway: then it is a good photo and must be indexed.
    out.push({ path: locked, kind: 'unreadable', expectSkipped: !isRoot(), reason: /permission denied/ });
  }
  return out;
}

export interface CameraPhotoOptions {
  /** 12 → 4000 × 3000, 24 → 6000 × 4000 (stored, landscape, as a camera writes them). Default 12. */
  megapixels?: 12 | 24;
  /** Stored size instead of `megapixels` (the tiny case the default test run uses). */
  width?: number;
  height?: number;
  /** EXIF orientations to cycle through (a camera held upright writes 6 or 8). Default [1, 6, 3, 8]. */
  orientations?: number[];
  /** JPEG quality (cameras write 85–95). Default 92. */
  quality?: number;
  concurrency?: number;
}

export interface CameraPhoto {
  path: string;
  /** Stored (pre-rotation) size and the EXIF orientation written. */
  width: number;
  height: number;
  orientation: number;
}

/** Seeded RGB noise, w × h × 3 bytes, uniform in 128 ± amplitude (128 is neutral for a soft-light blend). */
function noise(next: () => number, w: number, h: number, amplitude = 128): Buffer {
  const out = Buffer.allocUnsafe(w * h * 3);
  const lo = 128 - amplitude;
  const span = 2 * amplitude - 1;
  for (let i = 0; i < out.length; i++) out[i] = lo + ((next() * span + 0.5) | 0);
  return out;
}

/**
 * Camera-like JPEGs for benchmarks (decode cost depends on what is in the file, so flat test shapes would
 * flatter it): smooth colour fields (upscaled coarse noise), texture at several scales (like foliage or
 * fabric), sharp-edged shapes, and a little sensor grain, encoded 4:2:0 at quality 92 like a phone does
 * (~3–4 MB at 12 MP), with EXIF orientation, DateTimeOriginal and a camera make/model. Seeded: the same
 * seed gives the same bytes. Each file takes ~1 s of CPU at 12 MP, so the default test run makes only tiny ones.
 */
export async function makeCameraPhotos(dir: string, count: number, seed = 1, opts: CameraPhotoOptions = {}): Promise<CameraPhoto[]> {
  mkdirSync(dir, { recursive: true });
  const [w, h] = opts.width && opts.height ? [opts.width, opts.height] : opts.megapixels === 24 ? [6000, 4000] : [4000, 3000];
  const orientations = opts.orientations ?? [1, 6, 3, 8];
  const out: CameraPhoto[] = new Array(count);
  let cursor = 0;
  await Promise.all(
    Array.from({ length: Math.min(count, opts.concurrency ?? 2) }, async () => {
      while (cursor < count) {
        const i = cursor++;
        const next = rng(seed * 1_000_003 + i);
        const raw = (w0: number, h0: number) => ({ raw: { width: w0, height: h0, channels: 3 as const } });
        // Texture at a quarter of the size, upscaled: the mid frequencies a real scene has.
        const texture = await sharp(noise(next, w >> 2, h >> 2, 60), raw(w >> 2, h >> 2)).resize(w, h, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer();
        const shapes = randomSpec(next, i).shapes.concat(randomSpec(next, i + 1).shapes);
        const svg = Buffer.from(
          `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">` +
            shapes.map((s) => shapeSvg(s, w, h).replace('/>', ' fill-opacity="0.7"/>')).join('') +
            `</svg>`,
        );
        const scene = await sharp(noise(next, 8, 6), raw(8, 6))
          .resize(w, h, { fit: 'fill', kernel: 'cubic' })
          .composite([
            { input: texture, ...raw(w, h), blend: 'soft-light' },
            { input: svg },
            { input: noise(next, w, h, 6), ...raw(w, h), blend: 'soft-light' }, // sensor grain
          ])
          .removeAlpha() // the SVG layer brings an alpha channel
          .raw()
          .toBuffer();
        const orientation = orientations[i % orientations.length];
        const date = `2024:0${1 + (i % 9)}:1${i % 10} 1${i % 10}:2${i % 10}:3${i % 10}`;
        const jpeg = await sharp(scene, raw(w, h))
          .jpeg({ quality: opts.quality ?? 92, chromaSubsampling: '4:2:0' })
          .withExif({ IFD0: { Make: 'Photo Search', Model: 'Fixture Camera' }, IFD2: { DateTimeOriginal: date } })
          .withMetadata({ orientation })
          .toBuffer();
        const file = path.join(dir, `IMG_${String(i).padStart(4, '0')}.jpg`);
        writeFileSync(file, jpeg);
        out[i] = { path: file, width: w, height: h, orientation };
      }
    }),
  );
  return out;
}
