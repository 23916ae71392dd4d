/**
 * Photos with words in them, made by the tests themselves (sharp renders SVG text): a receipt, screenshots
 * (light and dark), signs at angles, small and large type, a phone photo stored sideways with an EXIF
 * orientation, and plain photos without text. Each knows the words it shows, for the reader's accuracy.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

export interface TextPhoto {
  file: string;
  /** The words written in it ('' for plain photos). */
  text: string;
}

interface Spec {
  name: string;
  width: number;
  height: number;
  background: string;
  /** Lines: text, x, y, size, colour, font weight. */
  lines: { text: string; x: number; y: number; size: number; fill?: string; bold?: boolean }[];
  /** Degrees, around the centre. */
  angle?: number;
  /** A card behind the text (a receipt on a table, a sign on the sky). */
  card?: { x: number; y: number; w: number; h: number; fill: string };
  format: 'jpeg' | 'png';
  /** Store the pixels turned a quarter with EXIF orientation 6, as phones do. */
  exifRotated?: boolean;
}

const FONT = 'DejaVu Sans, Liberation Sans, sans-serif';

export const TEXT_SPECS: Spec[] = [
  {
    name: 'receipt',
    width: 640,
    height: 820,
    background: '#6b5a4a',
    angle: -4,
    card: { x: 90, y: 40, w: 460, h: 740, fill: '#fbf8ef' },
    lines: [
      { text: 'CORNER CAFE', x: 130, y: 120, size: 34, bold: true },
      { text: 'INVOICE 4711', x: 130, y: 200, size: 30 },
      { text: 'Coffee beans 12.50', x: 130, y: 280, size: 26 },
      { text: 'Croissant 3.20', x: 130, y: 340, size: 26 },
      { text: 'Total 15.70 EUR', x: 130, y: 440, size: 30, bold: true },
    ],
    format: 'jpeg',
  },
  {
    name: 'wifi-screenshot',
    width: 1080,
    height: 640,
    background: '#ffffff',
    lines: [
      { text: 'Network HomeNet', x: 60, y: 140, size: 44, fill: '#222222' },
      { text: 'wifi password hunter2', x: 60, y: 260, size: 44, fill: '#222222' },
      { text: 'Connected', x: 60, y: 380, size: 36, fill: '#2a7d2a' },
    ],
    format: 'png',
  },
  {
    name: 'dark-screenshot',
    width: 900,
    height: 500,
    background: '#1e1e1e',
    lines: [
      { text: 'Meeting at 10:30', x: 50, y: 150, size: 40, fill: '#e8e8e8' },
      { text: 'Room Orion', x: 50, y: 260, size: 40, fill: '#9cdcfe' },
    ],
    format: 'png',
  },
  {
    name: 'parking-sign',
    width: 800,
    height: 600,
    background: '#8ec5ff',
    angle: 12,
    card: { x: 170, y: 200, w: 460, h: 200, fill: '#1f6f3a' },
    lines: [{ text: 'PARKING ONLY', x: 200, y: 320, size: 52, fill: '#ffffff', bold: true }],
    format: 'jpeg',
  },
  {
    name: 'welcome-angled',
    width: 900,
    height: 700,
    background: '#f0e6d2',
    angle: -25,
    lines: [{ text: 'Welcome to Berlin', x: 180, y: 380, size: 56, fill: '#402010' }],
    format: 'jpeg',
  },
  {
    name: 'small-print',
    width: 480,
    height: 320,
    background: '#ffffff',
    lines: [
      { text: 'Return within 30 days', x: 30, y: 120, size: 20, fill: '#333333' },
      { text: 'Keep this ticket', x: 30, y: 180, size: 20, fill: '#333333' },
    ],
    format: 'png',
  },
  {
    name: 'big-sale',
    width: 1800,
    height: 1200,
    background: '#d62828',
    lines: [{ text: 'SALE 50 PERCENT', x: 120, y: 640, size: 170, fill: '#ffffff', bold: true }],
    format: 'jpeg',
  },
  {
    name: 'phone-sideways',
    width: 800,
    height: 600,
    background: '#fafafa',
    lines: [
      { text: 'Boarding pass', x: 60, y: 200, size: 48, fill: '#10206b' },
      { text: 'Gate B12 seat 14C', x: 60, y: 320, size: 44, fill: '#10206b' },
    ],
    format: 'jpeg',
    exifRotated: true,
  },
];

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

export function svgForText(s: Spec): string {
  const cx = s.width / 2;
  const cy = s.height / 2;
  const card = s.card ? `<rect x="${s.card.x}" y="${s.card.y}" width="${s.card.w}" height="${s.card.h}" rx="6" fill="${s.card.fill}"/>` : '';
  const lines = s.lines
    .map((l) => `<text x="${l.x}" y="${l.y}" font-family="${FONT}" font-size="${l.size}" font-weight="${l.bold ? 'bold' : 'normal'}" fill="${l.fill ?? '#111111'}">${escapeXml(l.text)}</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${s.width}" height="${s.height}"><rect width="100%" height="100%" fill="${s.background}"/><g transform="rotate(${s.angle ?? 0} ${cx} ${cy})">${card}${lines}</g></svg>`;
}

async function render(s: Spec): Promise<Buffer> {
  const png = await sharp(Buffer.from(svgForText(s))).png().toBuffer();
  if (s.exifRotated) {
    // Pixels turned a quarter counter-clockwise, with orientation 6 ("turn 90° clockwise to view").
    const turned = await sharp(png).rotate(270).jpeg({ quality: 92 }).toBuffer();
    return sharp(turned).withMetadata({ orientation: 6 }).jpeg({ quality: 92 }).toBuffer();
  }
  return s.format === 'png' ? png : sharp(png).jpeg({ quality: 90 }).toBuffer();
}

/** Plain photos without words: soft gradients and blobs of colour. */
async function plainPhoto(i: number): Promise<Buffer> {
  const hue = (i * 47) % 360;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="hsl(${hue},60%,70%)"/><stop offset="1" stop-color="hsl(${(hue + 60) % 360},50%,35%)"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/><circle cx="${200 + i * 30}" cy="300" r="${60 + i * 5}" fill="hsl(${(hue + 180) % 360},55%,50%)"/><ellipse cx="460" cy="${150 + i * 10}" rx="90" ry="40" fill="hsl(${(hue + 90) % 360},40%,60%)"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 88 }).toBuffer();
}

/** Write the text photos (all of TEXT_SPECS, or those named) and `plain` photos without text into `dir`. */
export async function makeTextPhotos(dir: string, opts: { plain?: number; only?: string[] } = {}): Promise<TextPhoto[]> {
  mkdirSync(dir, { recursive: true });
  const out: TextPhoto[] = [];
  for (const s of TEXT_SPECS) {
    if (opts.only && !opts.only.includes(s.name)) continue;
    const file = path.join(dir, `${s.name}.${s.exifRotated || s.format === 'jpeg' ? 'jpg' : 'png'}`);
    writeFileSync(file, await render(s));
    out.push({ file, text: s.lines.map((l) => l.text).join('\n') });
  }
  for (let i = 0; i < (opts.plain ?? 0); i++) {
    const file = path.join(dir, `plain-${i}.jpg`);
    writeFileSync(file, await plainPhoto(i));
    out.push({ file, text: '' });
  }
  return out;
}

/**
 * Word accuracy of a reading: the share of the expected words found in what was read, case ignored. `exact`
 * counts a word when it is a word of the reading; `joined` also when its letters appear intact in the reading
 * with spaces removed (the recognizer often drops spaces: "INVOICE4711").
 */
export function wordAccuracy(expected: string, read: string): { words: number; exact: number; joined: number } {
  const norm = (t: string) => t.toLowerCase().split(/\s+/).map((w) => w.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '')).filter(Boolean);
  const want = norm(expected);
  const got = new Set(norm(read));
  const squashed = read.toLowerCase().replace(/\s+/g, '');
  return { words: want.length, exact: want.filter((w) => got.has(w)).length, joined: want.filter((w) => got.has(w) || squashed.includes(w)).length };
}
