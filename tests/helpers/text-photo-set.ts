/**
 * Many varied photos with and without words, from a seed (sharp renders SVG): receipts on tables, light and dark
 * screenshots (phone and desktop shapes), document pages, signs on a photo-like background at an angle, single
 * turned lines, photos with a small caption or watermark; and plain photos without text (gradients, blobs,
 * stripes, shapes). For the text gate (scripts/train-text-gate.ts): what the reader reads in them is the label.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { seededRandom } from '../../shared/random';

export type TextPhotoKind = 'receipt' | 'screenshot' | 'document' | 'sign' | 'line' | 'caption' | 'plain' | 'stripes';
export const TEXT_KINDS: TextPhotoKind[] = ['receipt', 'screenshot', 'document', 'sign', 'line', 'caption'];

export interface GeneratedPhoto {
  file: string;
  kind: TextPhotoKind;
  /** The words written in it ('' for plain photos). */
  text: string;
}

const WORDS = (
  'total invoice coffee ticket gate seat room meeting password network receipt order number date price tax cash card ' +
  'welcome open closed exit entrance parking station platform train bus airport hotel menu pizza bread milk water ' +
  'sale offer today tomorrow monday friday january march street avenue north south city park museum library school ' +
  'office phone email address name account balance payment transfer booking confirmed delivery package tracking ' +
  'settings battery wifi bluetooth message reply send inbox calendar reminder notes photo album download update ' +
  'warning stop slow danger keep right left only private no smoking thank you please visit again hello world'
).split(' ');
const FONTS = ['DejaVu Sans', 'DejaVu Serif', 'DejaVu Sans Mono', 'Liberation Sans', 'Liberation Serif', 'Liberation Sans Narrow'];

class Draw {
  constructor(readonly r: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  num(lo: number, hi: number): number {
    return lo + this.r() * (hi - lo);
  }
  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.r() * list.length)]!;
  }
  words(n: number): string {
    return Array.from({ length: n }, () => (this.r() < 0.15 ? String(this.int(1, 9999)) : this.pick(WORDS))).join(' ');
  }
  title(n: number): string {
    const w = this.words(n);
    return this.r() < 0.5 ? w.toUpperCase() : w.replace(/\b\w/g, (c) => c.toUpperCase());
  }
  hsl(sat: [number, number], light: [number, number]): string {
    return `hsl(${this.int(0, 359)},${this.int(sat[0], sat[1])}%,${this.int(light[0], light[1])}%)`;
  }
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

function textSvg(t: string, x: number, y: number, size: number, fill: string, font: string, bold = false): string {
  return `<text x="${x.toFixed(0)}" y="${y.toFixed(0)}" font-family="${font}" font-size="${size.toFixed(0)}" font-weight="${bold ? 'bold' : 'normal'}" fill="${fill}">${escapeXml(t)}</text>`;
}

/** A photo-like background: a gradient with soft blobs of colour. */
function scenery(d: Draw, w: number, h: number): string {
  const blobs = Array.from({ length: d.int(2, 6) }, () => `<ellipse cx="${d.int(0, w)}" cy="${d.int(0, h)}" rx="${d.int(w / 12, w / 3)}" ry="${d.int(h / 12, h / 3)}" fill="${d.hsl([20, 70], [20, 80])}" opacity="${d.num(0.4, 1).toFixed(2)}"/>`);
  return `<defs><linearGradient id="g" x1="0" y1="0" x2="${d.num(0, 1).toFixed(2)}" y2="1"><stop offset="0" stop-color="${d.hsl([20, 70], [40, 85])}"/><stop offset="1" stop-color="${d.hsl([20, 70], [15, 60])}"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>${blobs.join('')}`;
}

interface Made {
  w: number;
  h: number;
  body: string;
  text: string[];
}

function receipt(d: Draw): Made {
  const w = d.int(360, 1100);
  const h = Math.round(w * d.num(1, 1.5));
  const cw = w * d.num(0.55, 0.8);
  const x0 = (w - cw) / 2;
  const size = d.num(0.035, 0.06) * cw * 1.6;
  const n = d.int(4, 10);
  const font = d.pick(FONTS);
  const lines = [d.title(2), ...Array.from({ length: n - 1 }, () => `${d.words(d.int(1, 3))} ${d.int(1, 99)}.${String(d.int(0, 99)).padStart(2, '0')}`)];
  const body = lines.map((t, i) => textSvg(t, x0 + cw * 0.08, h * 0.12 + i * size * 1.7, size, '#222', font, i === 0)).join('');
  const angle = d.num(-8, 8).toFixed(1);
  return { w, h, text: lines, body: `${scenery(d, w, h)}<g transform="rotate(${angle} ${w / 2} ${h / 2})"><rect x="${x0}" y="${h * 0.04}" width="${cw}" height="${h * 0.92}" fill="#fbf8ef"/>${body}</g>` };
}

function screenshot(d: Draw): Made {
  const phone = d.r() < 0.5;
  const w = phone ? d.int(360, 1080) : d.int(800, 1920);
  const h = Math.round(phone ? w * d.num(1.8, 2.2) : w * d.num(0.55, 0.75));
  const dark = d.r() < 0.4;
  const bg = dark ? d.pick(['#1e1e1e', '#121212', '#202124', '#0d1117']) : d.pick(['#ffffff', '#f5f5f5', '#fafafa', '#eef2f7']);
  const fg = dark ? '#e8e8e8' : '#222222';
  const size = (phone ? w : h) * d.num(0.03, 0.06);
  const font = d.pick(FONTS);
  const bar = `<rect width="${w}" height="${size * 2.2}" fill="${d.hsl([40, 80], [30, 55])}"/>`;
  const title = d.title(2);
  const n = Math.min(14, Math.floor((h - size * 4) / (size * 2)));
  const lines = Array.from({ length: d.int(2, Math.max(2, n)) }, () => d.words(d.int(2, 5)));
  const body = lines.map((t, i) => textSvg(t, size, size * 4.5 + i * size * 2, size, i % 3 === 2 ? d.hsl([50, 80], [35, 60]) : fg, font)).join('');
  return { w, h, text: [title, ...lines], body: `<rect width="100%" height="100%" fill="${bg}"/>${bar}${textSvg(title, size, size * 1.5, size * 1.1, '#ffffff', font, true)}${body}` };
}

function documentPage(d: Draw): Made {
  const w = d.int(600, 1400);
  const h = Math.round(w * 1.414);
  const size = w * d.num(0.016, 0.03);
  const font = d.pick(FONTS);
  const lines = [d.title(3), ...Array.from({ length: Math.min(30, Math.floor((h * 0.75) / (size * 1.6))) }, () => d.words(d.int(4, 9)))];
  const body = lines.map((t, i) => textSvg(t, w * 0.1, h * 0.1 + i * size * 1.6 + (i ? size : 0), i ? size : size * 1.6, '#111', font, i === 0)).join('');
  const angle = d.r() < 0.5 ? 0 : d.num(-5, 5);
  return { w, h, text: lines, body: `<rect width="100%" height="100%" fill="${d.pick(['#ffffff', '#f7f3e8', '#eeeeee'])}"/><g transform="rotate(${angle.toFixed(1)} ${w / 2} ${h / 2})">${body}</g>` };
}

function sign(d: Draw): Made {
  const w = d.int(400, 1600);
  const h = Math.round(w * d.num(0.6, 1.3));
  const lines = Array.from({ length: d.int(1, 2) }, () => d.title(d.int(1, 3)));
  const size = w * d.num(0.04, 0.09);
  const font = d.pick(FONTS);
  const cw = Math.max(...lines.map((l) => l.length)) * size * 0.72 + size;
  const ch = lines.length * size * 1.4 + size * 0.6;
  const cx = d.num(0.1, 0.6) * w;
  const cy = d.num(0.1, 0.7) * h;
  const card = `<rect x="${cx}" y="${cy}" width="${cw}" height="${ch}" rx="${size * 0.2}" fill="${d.hsl([40, 90], [20, 55])}"/>`;
  const body = lines.map((t, i) => textSvg(t, cx + size * 0.5, cy + size * (1.2 + i * 1.4), size, '#ffffff', font, true)).join('');
  const angle = d.num(-20, 20).toFixed(1);
  return { w, h, text: lines, body: `${scenery(d, w, h)}<g transform="rotate(${angle} ${cx + cw / 2} ${cy + ch / 2})">${card}${body}</g>` };
}

function turnedLine(d: Draw): Made {
  const w = d.int(400, 1400);
  const h = Math.round(w * d.num(0.6, 1.2));
  const t = d.title(d.int(1, 3));
  const size = Math.min((w * 0.8) / Math.max(4, t.length * 0.62), h * 0.2);
  const light = d.r() < 0.5;
  const bg = light ? d.hsl([10, 40], [75, 95]) : d.hsl([10, 60], [10, 30]);
  const fg = light ? d.hsl([20, 80], [10, 30]) : d.hsl([10, 60], [80, 95]);
  const angle = d.num(-45, 45).toFixed(1);
  return { w, h, text: [t], body: `<rect width="100%" height="100%" fill="${bg}"/><g transform="rotate(${angle} ${w / 2} ${h / 2})">${textSvg(t, w * 0.1, h / 2, size, fg, d.pick(FONTS), d.r() < 0.5)}</g>` };
}

/** A photo with a small line of text on it: a caption, a watermark, a date stamp. */
function captioned(d: Draw): Made {
  const w = d.int(480, 1600);
  const h = Math.round(w * d.num(0.6, 1.0));
  const t = d.r() < 0.3 ? `${d.int(2001, 2026)}-${String(d.int(1, 12)).padStart(2, '0')}-${String(d.int(1, 28)).padStart(2, '0')}` : d.title(d.int(1, 4));
  const size = h * d.num(0.04, 0.09);
  const fill = d.pick(['#ffffff', '#ffd700', '#111111', '#ff8c00']);
  return { w, h, text: [t], body: `${scenery(d, w, h)}${textSvg(t, d.num(0.03, 0.4) * w, d.r() < 0.5 ? h - size * 0.8 : size * 1.5, size, fill, d.pick(FONTS), d.r() < 0.6)}` };
}

function plain(d: Draw): Made {
  const w = d.int(224, 1600);
  const h = Math.round(w * d.num(0.5, 1.5));
  return { w, h, text: [], body: scenery(d, w, h) };
}

/** Stripes, grids and textures: fine regular detail that is not text. */
function stripes(d: Draw): Made {
  const w = d.int(224, 1200);
  const h = Math.round(w * d.num(0.6, 1.4));
  const step = d.int(6, 40);
  const grid = d.r() < 0.4;
  const c = d.hsl([20, 80], [10, 50]);
  const marks = Array.from({ length: Math.ceil(w / step) }, (_, i) => `<rect x="${i * step}" y="0" width="${step / 2}" height="${h}" fill="${c}"/>`);
  if (grid) marks.push(...Array.from({ length: Math.ceil(h / step) }, (_, i) => `<rect x="0" y="${i * step}" width="${w}" height="${step / 3}" fill="${c}" opacity="0.6"/>`));
  return { w, h, text: [], body: `<rect width="100%" height="100%" fill="${d.hsl([10, 50], [60, 95])}"/><g transform="rotate(${d.int(-30, 30)} ${w / 2} ${h / 2})">${marks.join('')}</g>` };
}

const MAKERS: Record<TextPhotoKind, (d: Draw) => Made> = { receipt, screenshot, document: documentPage, sign, line: turnedLine, caption: captioned, plain, stripes };

/** The SVG of one generated photo of `kind` (deterministic for a seed). */
export function generatedSvg(kind: TextPhotoKind, seed: number): { svg: string; text: string } {
  const m = MAKERS[kind](new Draw(seededRandom(seed)));
  return { svg: `<svg xmlns="http://www.w3.org/2000/svg" width="${m.w}" height="${m.h}">${m.body}</svg>`, text: m.text.join('\n') };
}

/**
 * Write `count` photos of each kind in `kinds` into `dir` (names `kind-seed-i`), JPEG or PNG (screenshots and
 * documents mostly PNG, as they are saved), from `seed`.
 */
export async function makeGeneratedPhotos(dir: string, kinds: readonly TextPhotoKind[], count: number, seed = 1): Promise<GeneratedPhoto[]> {
  mkdirSync(dir, { recursive: true });
  const out: GeneratedPhoto[] = [];
  for (const kind of kinds) {
    for (let i = 0; i < count; i++) {
      const s = seed * 100_003 + i * 7919 + kind.length * 31 + kind.charCodeAt(0);
      const { svg, text } = generatedSvg(kind, s);
      const png = (kind === 'screenshot' || kind === 'document') && i % 4 !== 3;
      const img = sharp(Buffer.from(svg));
      const file = path.join(dir, `${kind}-${seed}-${String(i).padStart(4, '0')}.${png ? 'png' : 'jpg'}`);
      writeFileSync(file, png ? await img.png().toBuffer() : await img.jpeg({ quality: 88 }).toBuffer());
      out.push({ file, kind, text });
    }
  }
  return out;
}

/**
 * Words put onto real photos, as they appear in them: a small sign, a banner, a shirt print, a number, a shop
 * name, at an angle, in the photo's own size. For each of `photos` (paths), one copy with words on it, written
 * into `dir` as JPEG; `seed` varies the words, sizes and places.
 */
export async function makeWordsOnPhotos(dir: string, photos: readonly string[], seed = 1): Promise<GeneratedPhoto[]> {
  mkdirSync(dir, { recursive: true });
  const out: GeneratedPhoto[] = [];
  for (let i = 0; i < photos.length; i++) {
    const d = new Draw(seededRandom(seed * 1_000_003 + i * 7919));
    const img = sharp(photos[i]!).rotate();
    const { width: w = 224, height: h = 224 } = await img.metadata();
    const t = d.r() < 0.25 ? String(d.int(1, 9999)) : d.r() < 0.5 ? d.title(d.int(1, 3)) : d.words(d.int(1, 3)).toUpperCase();
    const size = Math.max(7, Math.min(w, h) * d.num(0.04, 0.16));
    const tw = t.length * size * 0.62;
    const x = d.num(0, Math.max(1, w - tw * 0.7));
    const y = d.num(size, h - size * 0.2);
    const angle = d.num(-20, 20).toFixed(1);
    const onCard = d.r() < 0.55;
    const card = onCard ? `<rect x="${x - size * 0.3}" y="${y - size * 1.05}" width="${tw + size * 0.6}" height="${size * 1.4}" fill="${d.hsl([0, 90], [10, 95])}" opacity="${d.num(0.8, 1).toFixed(2)}"/>` : '';
    const fill = onCard ? d.pick(['#ffffff', '#111111', '#ffd700', '#c00000']) : d.pick(['#ffffff', '#111111', '#ffd700', '#1f4fff', '#e00000']);
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><g transform="rotate(${angle} ${x + tw / 2} ${y})">${card}${textSvg(t, x, y, size, fill, d.pick(FONTS), d.r() < 0.6)}</g></svg>`;
    const file = path.join(dir, `words-${seed}-${String(i).padStart(5, '0')}.jpg`);
    writeFileSync(file, await img.composite([{ input: Buffer.from(svg) }]).jpeg({ quality: d.int(80, 95) }).toBuffer());
    out.push({ file, kind: 'caption', text: t });
  }
  return out;
}
