/**
 * Captioned scenes of a kind no photo data set shows: coloured shapes, how many, and where they are ("a gray ring
 * above a red diamond", "three green triangles", "a blue square in the top left corner"). Rendered with sharp
 * (SVG → JPEG), seeded, in the Flickr8k layout (`Images/` + `captions.txt`), five captions per photo from varied
 * templates. The benchmark of retraining on a new kind of photo (scripts/bench-scenes.ts) and the tests that a
 * model sees colour, shape and layout both use it. `shapeWords` replaces the shape names by other words (invented
 * ones: a model can only learn them from the set).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { makeRng } from '../../main/backend/train/split';

export const SCENE_COLOURS: Record<string, string> = {
  red: '#d62828',
  orange: '#f77f00',
  yellow: '#f2d30f',
  green: '#2a9d3a',
  blue: '#1f4fd1',
  purple: '#7b2cbf',
  pink: '#f48cba',
  brown: '#7f4f24',
  black: '#151515',
  white: '#f7f7f7',
  gray: '#8a8a8a',
};
export const SCENE_SHAPES = ['circle', 'square', 'triangle', 'diamond', 'ring', 'star', 'cross', 'hexagon'] as const;
export type SceneShape = (typeof SCENE_SHAPES)[number];

/** Invented words for the shapes (no sentence encoder has a meaning for them). */
export const INVENTED_SHAPE_WORDS: Record<SceneShape, string> = {
  circle: 'blicket',
  square: 'dax',
  triangle: 'wug',
  diamond: 'toma',
  ring: 'fep',
  star: 'zorb',
  cross: 'kiki',
  hexagon: 'moop',
};

export interface SceneItem {
  shape: SceneShape;
  colour: string;
  /** Centre and size as fractions of the photo's side. */
  x: number;
  y: number;
  size: number;
  rotation: number;
}

export type SceneKind = 'single' | 'pair' | 'count';

export interface Scene {
  file: string;
  kind: SceneKind;
  items: SceneItem[];
  /** Pairs only: where the first item is relative to the second. */
  relation?: 'above' | 'below' | 'left of' | 'right of';
  background: string;
  captions: string[];
}

export interface SceneSetOptions {
  photos: number;
  seed?: number;
  size?: number;
  shapeWords?: Partial<Record<SceneShape, string>>;
  /** File name prefix (two sets made with different seeds should not share names). */
  prefix?: string;
}

const COLOUR_NAMES = Object.keys(SCENE_COLOURS);
const COUNT_WORDS = ['', 'one', 'two', 'three', 'four'];

function pick<T>(list: readonly T[], rng: () => number): T {
  return list[Math.floor(rng() * list.length)]!;
}

function plural(word: string, n: number): string {
  if (n === 1) return word;
  return /(s|x|ch|sh)$/.test(word) ? `${word}es` : `${word}s`;
}

/** Nine places of a 3×3 grid, as words. */
/** "a" or "an" before a word. */
function an(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

function placeWords(x: number, y: number): string {
  const col = x < 0.4 ? 'left' : x > 0.6 ? 'right' : 'middle';
  const row = y < 0.4 ? 'top' : y > 0.6 ? 'bottom' : 'middle';
  if (row === 'middle' && col === 'middle') return 'in the middle';
  if (row === 'middle') return `on the ${col}`;
  if (col === 'middle') return `at the ${row}`;
  return `in the ${row} ${col} corner`;
}

function shapeSvg(it: SceneItem, side: number): string {
  const cx = it.x * side;
  const cy = it.y * side;
  const r = (it.size * side) / 2;
  const fill = SCENE_COLOURS[it.colour]!;
  const poly = (pts: [number, number][]) => `<polygon points="${pts.map(([px, py]) => `${(cx + px).toFixed(1)},${(cy + py).toFixed(1)}`).join(' ')}" fill="${fill}" transform="rotate(${it.rotation.toFixed(1)} ${cx.toFixed(1)} ${cy.toFixed(1)})"/>`;
  const regular = (n: number, start: number, rad = r) => Array.from({ length: n }, (_, i): [number, number] => [rad * Math.cos(start + (2 * Math.PI * i) / n), rad * Math.sin(start + (2 * Math.PI * i) / n)]);
  switch (it.shape) {
    case 'circle':
      return `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${fill}"/>`;
    case 'ring':
      return `<circle cx="${cx}" cy="${cy}" r="${r * 0.8}" fill="none" stroke="${fill}" stroke-width="${r * 0.38}"/>`;
    case 'square':
      return poly(regular(4, Math.PI / 4, r * 1.05));
    case 'diamond':
      return poly(regular(4, 0, r * 1.1).map(([px, py]) => [px * 0.75, py] as [number, number]));
    case 'triangle':
      return poly(regular(3, -Math.PI / 2, r * 1.1));
    case 'hexagon':
      return poly(regular(6, 0, r));
    case 'star':
      return poly(Array.from({ length: 10 }, (_, i): [number, number] => {
        const rad = i % 2 === 0 ? r * 1.1 : r * 0.45;
        const a = -Math.PI / 2 + (Math.PI * i) / 5;
        return [rad * Math.cos(a), rad * Math.sin(a)];
      }));
    case 'cross': {
      const a = r * 0.33;
      const b = r;
      return poly([[-a, -b], [a, -b], [a, -a], [b, -a], [b, a], [a, a], [a, b], [-a, b], [-a, a], [-b, a], [-b, -a], [-a, -a]]);
    }
  }
}

/** A background that every shape of the scene stands out from. */
function backgroundFor(items: SceneItem[], rng: () => number): string {
  const colours = new Set(items.map((i) => i.colour));
  if (colours.has('white') && colours.has('black')) return '#c4b28e';
  if (colours.has('white')) return pick(['#2b2d42', '#3b3530', '#26413c'], rng);
  return pick(['#ffffff', '#f4f1ea', '#e6ecef', '#efe8f0', '#eef2e4'], rng);
}

function captionsFor(s: Omit<Scene, 'captions' | 'file' | 'background'>, word: (shape: SceneShape) => string, rng: () => number): string[] {
  const [a, b] = s.items;
  let all: string[];
  if (s.kind === 'single') {
    const w = word(a!.shape);
    const at = placeWords(a!.x, a!.y);
    all = [
      `${an(a!.colour)} ${w} ${at}`,
      `a single ${a!.colour} ${w} ${at}`,
      `there is ${an(a!.colour)} ${w} ${at} of the picture`,
      `one ${a!.colour} ${w}, ${at}`,
      `${an(w)} coloured ${a!.colour} ${at}`,
      `a picture of ${an(a!.colour)} ${w}`,
    ];
  } else if (s.kind === 'pair') {
    const wa = `${a!.colour} ${word(a!.shape)}`;
    const wb = `${b!.colour} ${word(b!.shape)}`;
    const rel = s.relation!;
    const inverse = { above: 'below', below: 'above', 'left of': 'right of', 'right of': 'left of' }[rel];
    const alt = { above: 'on top of', below: 'under', 'left of': 'to the left of', 'right of': 'to the right of' }[rel];
    all = [
      `${an(wa)} ${rel} ${an(wb)}`,
      `${an(wb)} ${inverse} ${an(wa)}`,
      `${an(wa)} ${alt} ${an(wb)}`,
      `there is ${an(wa)} ${rel} ${an(wb)}`,
      `${an(wa)} and ${an(wb)}, the ${word(a!.shape)} ${rel} the ${word(b!.shape)}`,
      `the ${wb} is ${inverse} the ${wa}`,
    ];
  } else {
    const n = s.items.length;
    const w = plural(word(a!.shape), n);
    all = [
      `${COUNT_WORDS[n]} ${a!.colour} ${w}`,
      `there are ${COUNT_WORDS[n]} ${a!.colour} ${w}`,
      `a picture of ${COUNT_WORDS[n]} ${a!.colour} ${w}`,
      `${COUNT_WORDS[n]} ${w}, all ${a!.colour}`,
      `a group of ${COUNT_WORDS[n]} ${a!.colour} ${w}`,
      `${a!.colour} ${w}, ${COUNT_WORDS[n]} of them`,
    ];
  }
  // Five of the six templates, picked per photo, so the captions vary between photos of the same kind.
  const drop = Math.floor(rng() * all.length);
  return all.filter((_, i) => i !== drop);
}

/** One random scene (positions spread so that the captions stay true). */
export function randomScene(rng: () => number): Omit<Scene, 'file' | 'captions' | 'background'> {
  const u = rng();
  const item = (x: number, y: number, size: number, colour = pick(COLOUR_NAMES, rng), shape = pick(SCENE_SHAPES, rng)): SceneItem => ({ shape, colour, x, y, size, rotation: shape === 'circle' || shape === 'ring' ? 0 : (rng() - 0.5) * 24 });
  const jitter = (c: number, j: number) => c + (rng() - 0.5) * 2 * j;
  if (u < 0.3) {
    const x = pick([0.22, 0.5, 0.78], rng);
    const y = pick([0.22, 0.5, 0.78], rng);
    return { kind: 'single', items: [item(jitter(x, 0.05), jitter(y, 0.05), 0.26 + rng() * 0.12)] };
  }
  if (u < 0.7) {
    const vertical = rng() < 0.5;
    const first = item(0, 0, 0.24 + rng() * 0.1);
    let second = item(0, 0, 0.24 + rng() * 0.1);
    // Two different things: another colour or another shape.
    while (second.colour === first.colour && second.shape === first.shape) second = item(0, 0, second.size);
    const along = [0.27 + (rng() - 0.5) * 0.08, 0.73 + (rng() - 0.5) * 0.08];
    const across = () => jitter(0.5, 0.12);
    const firstLow = rng() < 0.5;
    const [pa, pb] = firstLow ? [along[0]!, along[1]!] : [along[1]!, along[0]!];
    if (vertical) [first.x, first.y, second.x, second.y] = [across(), pa, across(), pb];
    else [first.x, first.y, second.x, second.y] = [pa, across(), pb, across()];
    const relation = vertical ? (firstLow ? 'above' : 'below') : firstLow ? 'left of' : 'right of';
    return { kind: 'pair', items: [first, second], relation };
  }
  const n = 2 + Math.floor(rng() * 3);
  const colour = pick(COLOUR_NAMES, rng);
  const shape = pick(SCENE_SHAPES, rng);
  const size = n === 4 ? 0.2 : 0.22 + rng() * 0.04;
  // Spread over the cells of a 2×2 grid (or a row of 3), so the shapes never overlap.
  const cells = n === 3 ? [[0.2, 0.5], [0.5, 0.5], [0.8, 0.5]] : [[0.28, 0.28], [0.72, 0.28], [0.28, 0.72], [0.72, 0.72]];
  const order = [...cells].sort(() => rng() - 0.5).slice(0, n);
  return { kind: 'count', items: order.map(([x, y]) => item(jitter(x!, 0.04), jitter(y!, n === 3 ? 0.2 : 0.04), size, colour, shape)) };
}

export function sceneSvg(s: Pick<Scene, 'items' | 'background'>, side: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}"><rect width="100%" height="100%" fill="${s.background}"/>${s.items.map((it) => shapeSvg(it, side)).join('')}</svg>`;
}

/** Write a captioned set of scenes to `dir` (Images/ + captions.txt). */
export async function makeSceneSet(dir: string, opts: SceneSetOptions): Promise<Scene[]> {
  const rng = makeRng(opts.seed ?? 1);
  const side = opts.size ?? 224;
  const prefix = opts.prefix ?? `scene${opts.seed ?? 1}`;
  const word = (shape: SceneShape) => opts.shapeWords?.[shape] ?? shape;
  await fs.mkdir(path.join(dir, 'Images'), { recursive: true });
  const scenes: Scene[] = [];
  for (let i = 0; i < opts.photos; i++) {
    const s = randomScene(rng);
    const background = backgroundFor(s.items, rng);
    const file = `${prefix}-${String(i).padStart(5, '0')}.jpg`;
    const scene: Scene = { ...s, file, background, captions: captionsFor(s, word, rng) };
    await fs.writeFile(path.join(dir, 'Images', file), await sharp(Buffer.from(sceneSvg(scene, side))).jpeg({ quality: 90 }).toBuffer());
    scenes.push(scene);
  }
  const lines = ['image,caption', ...scenes.flatMap((s) => s.captions.map((c) => `${s.file},${c}`))];
  await fs.writeFile(path.join(dir, 'captions.txt'), `${lines.join('\n')}\n`);
  return scenes;
}
