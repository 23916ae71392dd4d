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
