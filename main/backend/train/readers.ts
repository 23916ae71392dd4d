/**
 * Readers for captioned photo sets in the three layouts users download:
 *  - `captions.txt` (Kaggle Flickr8k): header `image,caption`, one row per caption. Captions contain
 *    commas unquoted, so a row splits at its FIRST comma only; a caption wrapped in CSV quotes ("" escapes)
 *    is unquoted.
 *  - `Flickr8k.token.txt` (original Flickr8k): `<image>#<n>\t<caption>`.
 *  - `results.csv` (Flickr30k): header `image_name| comment_number| comment`, `|`-separated.
 * Photos live in `Images/` next to the captions file. Bad rows and missing photos are counted, not fatal;
 * so are captions too long to be one (rows run together) and a photo's caption given again (each counts once).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { oneLine } from '../../../shared/format';
import { AppError } from '../errors';
import { pathExists } from '../fs/exists';
import { readRegularTextFile, UnsafeFileError } from '../fs/safe-read';

export type CaptionLayout = 'captions.txt' | 'Flickr8k.token.txt' | 'results.csv';

/** Preference order when a folder holds several captions files. */
export const CAPTION_FILES: CaptionLayout[] = ['captions.txt', 'Flickr8k.token.txt', 'results.csv'];

export interface CaptionedImage {
  /** File name inside `Images/`. */
  file: string;
  /** Absolute path of the photo. */
  path: string;
  captions: string[];
}

export interface ReadProblem {
  kind: string;
  count: number;
  examples: string[];
}

export interface CaptionSet {
  dir: string;
  layout: CaptionLayout;
  captionsFile: string;
  images: CaptionedImage[];
  problems: ReadProblem[];
}

const MAX_EXAMPLES = 5;

/**
 * Longer than any caption: text towers read a few hundred tokens at most (CLIP 77), so a row this long is
 * rows run together or not a caption at all, and tokenizing a million characters overflows the stack.
 */
export const MAX_CAPTION_CHARS = 2000;

class Problems {
  private byKind = new Map<string, ReadProblem>();
  add(kind: string, example: string): void {
    let p = this.byKind.get(kind);
    if (!p) {
      p = { kind, count: 0, examples: [] };
      this.byKind.set(kind, p);
    }
    p.count++;
    if (p.examples.length < MAX_EXAMPLES) p.examples.push(example.length > 120 ? example.slice(0, 117) + '...' : example);
  }
  list(): ReadProblem[] {
    return [...this.byKind.values()];
  }
}

/** Undo CSV quoting when the whole field is one quoted value; leave captions with inner bare quotes alone. */
export function unquoteCsvField(field: string): string {
  const s = field.trim();
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) {
    const inner = s.slice(1, -1);
    // A real CSV-quoted field has only doubled quotes inside ("" → ").
    if (!inner.replace(/""/g, '').includes('"')) return inner.replace(/""/g, '"');
  }
  return s;
}

interface Row {
  image: string;
  caption: string;
}

type LineParser = (line: string, lineNo: number) => Row | 'header' | null;

const parseKaggle: LineParser = (line, lineNo) => {
  const comma = line.indexOf(',');
  if (comma < 0) return null;
  const image = unquoteCsvField(line.slice(0, comma));
  const caption = unquoteCsvField(line.slice(comma + 1));
  if (lineNo === 0 && image.toLowerCase() === 'image' && caption.toLowerCase() === 'caption') return 'header';
  return { image, caption };
};

const parseToken: LineParser = (line) => {
  const tab = line.indexOf('\t');
  if (tab < 0) return null;
  const key = line.slice(0, tab).trim();
  const hash = key.lastIndexOf('#');
  const image = hash >= 0 ? key.slice(0, hash) : key;
  return { image, caption: line.slice(tab + 1).trim() };
};

const parseFlickr30k: LineParser = (line, lineNo) => {
  const parts = line.split('|');
  if (parts.length < 3) return null;
  const image = parts[0]!.trim();
  const num = parts[1]!.trim();
  // Captions may contain '|': everything after the second separator is the caption.
  const caption = unquoteCsvField(parts.slice(2).join('|'));
  if (lineNo === 0 && image.toLowerCase() === 'image_name') return 'header';
  if (!/^\d+$/.test(num)) return null;
  return { image, caption };
};

const PARSERS: Record<CaptionLayout, LineParser> = {
  'captions.txt': parseKaggle,
  'Flickr8k.token.txt': parseToken,
  'results.csv': parseFlickr30k,
};

/** Which captions file a folder holds, or null (a model folder's layout is catalog/import's detectModelLayout). */
export async function detectCaptionLayout(dir: string): Promise<CaptionLayout | null> {
  for (const name of CAPTION_FILES) if (await pathExists(path.join(dir, name))) return name;
  return null;
}

export async function readCaptionSet(dir: string): Promise<CaptionSet> {
  const root = path.resolve(dir);
  const st = await fs.stat(root).catch(() => null);
  if (!st || !st.isDirectory()) throw new AppError('bad_dataset', `Captioned set ${root} is not a folder. Pick the folder that holds Images/ and captions.txt.`);
  const layout = await detectCaptionLayout(root);
  if (!layout) {
    throw new AppError('bad_dataset', `No captions file in ${root}: expected one of ${CAPTION_FILES.join(', ')} next to an Images/ folder.`);
  }
  const imagesDir = path.join(root, 'Images');
  const captionsFile = path.join(root, layout);
  let listing: Set<string>;
  try {
    const entries = await fs.readdir(imagesDir, { withFileTypes: true });
    listing = new Set(entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name));
  } catch {
    throw new AppError('bad_dataset', `No Images/ folder in ${root}: the photos named in ${layout} must be in ${imagesDir}.`);
  }

  // A folder or a device under the captions file's name: say so in one line (reading a device may never end).
  const kind = await fs.stat(captionsFile).then(
    (s) => (s.isFile() ? null : s.isDirectory() ? 'a folder' : 'not a regular file (a device, FIFO or socket)'),
    () => null,
  );
  if (kind) throw new AppError('bad_dataset', `${captionsFile} is ${kind}, not a captions file. Put the ${layout} text file there, or remove it.`);
  let text: string;
  try {
    text = await readRegularTextFile(captionsFile);
  } catch (e) {
    // Size-limited, and checked again on the open file: a FIFO swapped in after the check cannot block a thread.
    if (e instanceof UnsafeFileError) throw new AppError('bad_dataset', `Captions file ${e.message} Replace it with a text file.`, { cause: e });
    throw new AppError('bad_dataset', `Cannot read the captions file ${captionsFile}: ${oneLine(e)}. Check its permissions.`, { cause: e });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // BOM (Excel, Windows tools)
  const problems = new Problems();
  const parse = PARSERS[layout];
  const byImage = new Map<string, CaptionedImage>();
  const sizes = new Map<string, boolean>();
  /** `file\0caption` of the rows kept. */
  const seen = new Set<string>();
  const lines = text.split(/\r\n|\n|\r/);
  let firstContent = true;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const row = parse(line, firstContent ? 0 : i + 1);
    firstContent = false;
    if (row === 'header') continue;
    if (!row || !row.image || !row.caption) {
      problems.add('malformed row', `${layout} line ${i + 1}: ${line}`);
      continue;
    }
    const file = row.image;
    // Keep every photo inside Images/ (a row naming ../x must not read outside the set).
    if (file.includes('/') || file.includes('\\') || file === '.' || file === '..') {
      problems.add('malformed row', `${layout} line ${i + 1}: ${line}`);
      continue;
    }
    if (row.caption.length > MAX_CAPTION_CHARS) {
      problems.add('overlong caption', `${layout} line ${i + 1}: ${file}, ${row.caption.length.toLocaleString('en-US')} characters (a caption has at most ${MAX_CAPTION_CHARS.toLocaleString('en-US')})`);
      continue;
    }
    if (!listing.has(file)) {
      problems.add('missing image', file);
      continue;
    }
    let ok = sizes.get(file);
    if (ok === undefined) {
      const s = await fs.stat(path.join(imagesDir, file)).catch(() => null);
      ok = !!s && s.isFile() && s.size > 0;
      sizes.set(file, ok);
    }
    if (!ok) {
      problems.add('unreadable image', file);
      continue;
    }
    let img = byImage.get(file);
    if (!img) {
      img = { file, path: path.join(imagesDir, file), captions: [] };
      byImage.set(file, img);
    }
    // The same caption of the same photo again (a set concatenated with itself) would count twice in recall.
    const key = `${file}\0${row.caption}`;
    if (seen.has(key)) {
      problems.add('duplicate caption', `${layout} line ${i + 1}: ${file}, ${row.caption}`);
      continue;
    }
    seen.add(key);
    img.captions.push(row.caption);
  }
  const images = [...byImage.values()];
  if (images.length === 0) {
    const summary = problems
      .list()
      .map((p) => `${p.count} ${p.kind}${p.count === 1 ? '' : 's'} (e.g. ${p.examples[0]})`)
      .join('; ');
    throw new AppError(
      'bad_dataset',
      `No usable photo-caption pairs in ${root}: ${summary || `${layout} has no caption rows`}. ` +
        `Check that ${layout} names files present in Images/.`,
    );
  }
  return { dir: root, layout, captionsFile, images, problems: problems.list() };
}

/** Total number of captions of a set. */
export function countCaptions(set: Pick<CaptionSet, 'images'>): number {
  return set.images.reduce((n, im) => n + im.captions.length, 0);
}
