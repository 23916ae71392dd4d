/**
 * Synthetic captioned photo sets for tests: coloured shapes rendered with sharp (SVG → JPEG), each photo
 * described by 5 varied captions naming colour, shape, count and position, written in any of the three
 * layouts the readers accept.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { CaptionLayout } from '../../main/backend/train/readers';
import { makeRng } from '../../main/backend/train/split';

export const COLOURS: Record<string, string> = { red: '#e02020', green: '#20b030', blue: '#2040e0', yellow: '#f0d020' };
export const SHAPES = ['circle', 'square', 'triangle'] as const;
export const POSITIONS = ['left', 'right', 'top', 'bottom'] as const;
const COUNT_WORDS = ['one', 'two', 'three'];

export interface SyntheticPhoto {
  file: string;
  colour: string;
  shape: (typeof SHAPES)[number];
  count: number;
  position: (typeof POSITIONS)[number];
  captions: string[];
}

export interface CaptionedSetOptions {
  photos: number;
  seed?: number;
  layout?: CaptionLayout;
  /** Side of the square photos in pixels. */
  size?: number;
  /** Words the captions use for the shapes instead of their names (e.g. invented words a model must learn). */
  shapeWords?: Partial<Record<(typeof SHAPES)[number], string>>;
}

function plural(shape: string, n: number): string {
  return n === 1 ? shape : `${shape}s`;
}

function captionsFor(p: Omit<SyntheticPhoto, 'captions' | 'file'>, rng: () => number, words: CaptionedSetOptions['shapeWords'] = {}): string[] {
  const n = COUNT_WORDS[p.count - 1]!;
  const a = p.count === 1 ? 'a' : n;
  const shapes = plural(words[p.shape] ?? p.shape, p.count);
  const where = p.position === 'left' || p.position === 'right' ? `on the ${p.position}` : `at the ${p.position}`;
  const all = [
    `${a} ${p.colour} ${shapes} ${where}`,
    `${n} ${p.colour} ${shapes} ${where} of the picture`,
    `a picture of ${a} ${p.colour} ${shapes}, ${where}`,
    `${p.colour} ${shapes} ${where}, ${n} of them`,
    `there ${p.count === 1 ? 'is' : 'are'} ${a} ${p.colour} ${shapes} ${where} on a white background`,
    `"${p.colour}" ${shapes} ${where}`,
  ];
  // Five of the six templates, picked per photo, so captions vary between photos of the same kind.
  const drop = Math.floor(rng() * all.length);
  return all.filter((_, i) => i !== drop);
}

function svgFor(p: Omit<SyntheticPhoto, 'captions' | 'file'>, size: number, rng: () => number): string {
  const fill = COLOURS[p.colour]!;
  const r = size * 0.11;
  const centres: [number, number][] = [];
  for (let i = 0; i < p.count; i++) {
    const t = (i + 1) / (p.count + 1);
    const jitter = (rng() - 0.5) * size * 0.05;
    const along = size * (0.15 + 0.7 * t) + jitter;
    const across = size * 0.2 + (rng() - 0.5) * size * 0.06;
    if (p.position === 'left') centres.push([across, along]);
    else if (p.position === 'right') centres.push([size - across, along]);
    else if (p.position === 'top') centres.push([along, across]);
    else centres.push([along, size - across]);
  }
  const shapes = centres.map(([x, y]) => {
    if (p.shape === 'circle') return `<circle cx="${x}" cy="${y}" r="${r}" fill="${fill}"/>`;
    if (p.shape === 'square') return `<rect x="${x - r}" y="${y - r}" width="${2 * r}" height="${2 * r}" fill="${fill}"/>`;
    return `<polygon points="${x},${y - r} ${x - r},${y + r} ${x + r},${y + r}" fill="${fill}"/>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="#fafafa"/>${shapes.join('')}</svg>`;
}

function csvQuote(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Write the set into `dir` (Images/ + the layout's captions file) and describe what was drawn. */
export async function makeCaptionedSet(dir: string, opts: CaptionedSetOptions): Promise<SyntheticPhoto[]> {
  const rng = makeRng(opts.seed ?? 1);
  const size = opts.size ?? 64;
  const layout = opts.layout ?? 'captions.txt';
  await fs.mkdir(path.join(dir, 'Images'), { recursive: true });
  const colours = Object.keys(COLOURS);
  const photos: SyntheticPhoto[] = [];
  for (let i = 0; i < opts.photos; i++) {
    const attrs = {
      colour: colours[Math.floor(rng() * colours.length)]!,
      shape: SHAPES[Math.floor(rng() * SHAPES.length)]!,
      count: 1 + Math.floor(rng() * 3),
      position: POSITIONS[Math.floor(rng() * POSITIONS.length)]!,
    };
    const file = `${String(1000 + i)}_${attrs.colour}.jpg`;
    await sharp(Buffer.from(svgFor(attrs, size, rng))).jpeg({ quality: 90 }).toFile(path.join(dir, 'Images', file));
    photos.push({ ...attrs, file, captions: captionsFor(attrs, rng, opts.shapeWords) });
  }
  let text: string;
  if (layout === 'captions.txt') {
    text = 'image,caption\n' + photos.flatMap((p) => p.captions.map((c) => `${p.file},${c.startsWith('"') ? csvQuote(c) : c}`)).join('\n') + '\n';
  } else if (layout === 'Flickr8k.token.txt') {
    text = photos.flatMap((p) => p.captions.map((c, k) => `${p.file}#${k}\t${c}`)).join('\n') + '\n';
  } else {
    text = 'image_name| comment_number| comment\n' + photos.flatMap((p) => p.captions.map((c, k) => `${p.file}| ${k}| ${c}`)).join('\n') + '\n';
  }
  await fs.writeFile(path.join(dir, layout), text);
  return photos;
}
