/**
 * The text pass: after embedding (so a new library is searchable by content first), read the words in every
 * photo whose content has not been read yet, and store them (store/photo-text.ts). It resumes by itself: what
 * was stored stays, and the next run starts with the contents still unread. A photo whose bytes changed since it
 * was indexed is left for the next index run (its hash is stale).
 *
 * First the text gate (text-gate.ts), when one fits the model's image tower: a page of photos' cached tower
 * features is read in one query and scored; a photo it passes over is stored as such, without being opened
 * (`PHOTO_SEARCH_READ_TEXT=all` reads those too). Then per photo (read-photo.ts): read the file, check its
 * hash, decode (EXIF rotation applied); a large photo is first looked at small and read at full size (at most
 * DETECT_MAX_SIDE) only when the look sees text; recognition runs only when the detector found boxes. Photos go
 * READ_TOGETHER at a time: the small ones share detector runs, and the next ones are decoded while these are read.
 * Cancel stops after the photos in flight. The reader's models load on the first photo to read.
 */
import type { TextPassSummary } from '../../../shared/api';
import { oneLine } from '../../../shared/format';
import { sha256 } from '../fs/hash';
import { MAX_PHOTO_BYTES, readRegularFileSync } from '../fs/safe-read';
import { DEFAULT_PIXEL_LIMIT, describeImageError } from '../photos/decode';
import type { PhotoTextInput, Store, TextTodo } from '../store';
import { TEXT_ENGINE } from './models';
import { decodeFirst, readDecoded, readDecodedMany, type FirstDecode, type PhotoLines } from './read-photo';
import { TextReader, type TextLine } from './reader';
import { textReadMode, type TextGate } from './text-gate';

export const TEXT_STAGE = 'Reading text in photos';

export interface TextPassProgress {
  stage: string;
  done: number;
  total: number;
  etaSeconds: number | null;
  rate: number | null;
}


export interface TextPassOptions {
  store: Store;
  /** Opened on first need: a library with nothing to read never loads the models. */
  reader?: TextReader | (() => Promise<TextReader>);
  signal?: AbortSignal;
  onProgress?: (p: TextPassProgress) => void;
  /** Photos per transaction (default 8). */
  batchSize?: number;
  maxPixels?: number;
  /**
   * The text gate and the image tower whose cached features it reads (the active model's); null or absent: read
   * every photo, the ones an earlier gate passed over too.
   */
  gate?: { gate: TextGate; towerKey: string } | null;
  /** Look at large photos small first (read-photo.ts); default: yes, unless PHOTO_SEARCH_READ_TEXT=all. */
  look?: boolean;
}

type Decoded = { todo: TextTodo; buf: Buffer | null; first: FirstDecode | null; failed: string | null };

/** Photos decoded and read together: small ones share detector runs (TextReader.readMany). */
const READ_TOGETHER = 8;

export async function readTextInPhotos(opts: TextPassOptions): Promise<TextPassSummary> {
  const { store, signal } = opts;
  const started = Date.now();
  const summary: TextPassSummary = { read: 0, withText: 0, failed: 0, gated: 0, gateSeconds: 0, stoppedByLook: 0, seconds: 0 };
  const look = opts.look ?? textReadMode() !== 'all';
  store.text.dropOrphans();
  const gate = opts.gate ?? null;
  const gateId = gate?.gate.id ?? null;
  const total = store.text.countTodo(TEXT_ENGINE, gateId);
  if (total === 0 || signal?.aborted) return { ...summary, seconds: (Date.now() - started) / 1000 };
  // The models load on the first photo to read: a run the gate passes over entirely never loads them.
  const given = opts.reader instanceof TextReader ? opts.reader : null;
  const open = given ? null : ((opts.reader as (() => Promise<TextReader>) | undefined) ?? TextReader.open);
  let opened: Promise<TextReader> | null = null;
  const getReader = (): Promise<TextReader> => (given ? Promise.resolve(given) : (opened ??= open!()));
  let gateMs = 0;
  const batchSize = Math.max(1, opts.batchSize ?? 8);
  const maxPixels = opts.maxPixels ?? DEFAULT_PIXEL_LIMIT;
  let lastReport = 0;
  const report = (force: boolean) => {
    const t = Date.now();
    if (!force && t - lastReport < 200) return;
    lastReport = t;
    const elapsed = (t - started) / 1000;
    const done = summary.read + summary.gated;
    const rate = done > 0 && elapsed > 0 ? done / elapsed : null;
    opts.onProgress?.({ stage: TEXT_STAGE, done, total: Math.max(total, done), etaSeconds: rate ? Math.round(Math.max(0, total - done) / rate) : null, rate });
  };
  report(true);
  try {
    // Contents whose file changed since indexing: left for the next index run, not looked at again here.
    const stale = new Set<string>();
    let after = 0;
    let pending: PhotoTextInput[] = [];
    const flush = () => {
      if (pending.length) store.text.put(pending);
      pending = [];
    };
    outer: for (;;) {
      if (signal?.aborted) break;
      const raw = store.text.todo(TEXT_ENGINE, after, 64, gateId);
      if (raw.length === 0) break;
      after = raw[raw.length - 1]!.id;
      // Copies of one content are read once (the stored row takes the others off the list).
      const seen = new Set<string>();
      let page = raw.filter((t) => !stale.has(t.contentHash) && !seen.has(t.contentHash) && seen.add(t.contentHash));
      if (gate && page.length) {
        const t0 = performance.now();
        const feats = store.getRawFeatures(gate.towerKey, page.map((t) => t.contentHash));
        page = page.filter((t) => {
          const f = feats.get(t.contentHash);
          if (gate.gate.passes(f ? gate.gate.scoreRaw(f) : null)) return true;
          pending.push({ contentHash: t.contentHash, engine: TEXT_ENGINE, text: '', lines: '[]', failed: null, gate: gate.gate.id });
          summary.gated++;
          return false;
        });
        gateMs += performance.now() - t0;
        if (pending.length >= batchSize) flush();
        report(true);
      }
      if (page.length === 0) continue;
      // READ_TOGETHER photos at a time: decoded together, their detector runs shared; the next ones are decoded
      // while these are read.
      const chunks: TextTodo[][] = [];
      for (let i = 0; i < page.length; i += READ_TOGETHER) chunks.push(page.slice(i, i + READ_TOGETHER));
      let next: Promise<Decoded[]> | null = decodeAll(chunks[0]!, maxPixels, look);
      for (let c = 0; c < chunks.length; c++) {
        const decoded = await next!;
        next = c + 1 < chunks.length ? decodeAll(chunks[c + 1]!, maxPixels, look) : null;
        if (signal?.aborted) {
          await next?.catch(() => undefined);
          break outer;
        }
        const current = decoded.filter((d) => {
          if (d.failed !== 'changed') return true;
          stale.add(d.todo.contentHash); // the next index run gives it its new hash
          return false;
        });
        const readable = current.filter((d) => d.first && d.buf);
        const got = readable.length ? await readAll(await getReader(), readable, maxPixels) : [];
        const lookup = new Map(readable.map((d, i) => [d, got[i]!]));
        for (const d of current) {
          const r = lookup.get(d);
          const lines: TextLine[] = r && 'lines' in r ? r.lines : [];
          const failed = d.failed ?? (r && 'failed' in r ? r.failed : null);
          if (r && 'lines' in r && r.stoppedByLook) summary.stoppedByLook++;
          pending.push({ contentHash: d.todo.contentHash, engine: TEXT_ENGINE, text: lines.map((l) => l.text).join('\n'), lines: JSON.stringify(lines), failed });
          summary.read++;
          if (lines.length) summary.withText++;
          if (failed) summary.failed++;
          if (pending.length >= batchSize) flush();
        }
        report(true); // after every few photos read: a cancel takes effect at the next ones
      }
      flush();
    }
    flush();
  } finally {
    if (opened) await (await opened.catch(() => null))?.dispose().catch(() => undefined);
  }
  report(true);
  return { ...summary, gateSeconds: gateMs / 1000, seconds: (Date.now() - started) / 1000 };
}

/**
 * Lines of decoded photos, read together (read-photo.ts `readDecodedMany`); when that fails, each is read alone so
 * that the failure is the failing photo's only. A reader whose models cannot load stops the pass (it throws here).
 */
async function readAll(reader: TextReader, photos: Decoded[], maxPixels: number): Promise<(PhotoLines | { failed: string })[]> {
  const items = photos.map((d) => ({ first: d.first!, buf: d.buf!, file: d.todo.path }));
  try {
    return await readDecodedMany(reader, items, maxPixels);
  } catch {
    const out: (PhotoLines | { failed: string })[] = [];
    for (const it of items) {
      try {
        out.push(await readDecoded(reader, it.first, it.buf, it.file, maxPixels));
      } catch (e) {
        out.push({ failed: `the text reader failed: ${oneLine(e instanceof Error ? e.message : String(e)).slice(0, 200)}` });
      }
    }
    return out;
  }
}

/** Photos read and decoded for the reader, together (sharp decodes on its own threads). */
function decodeAll(todos: TextTodo[], maxPixels: number, look: boolean): Promise<Decoded[]> {
  return Promise.all(todos.map((t) => decode(t, maxPixels, look)));
}

/** Read and decode one photo for the reader; a photo whose bytes no longer match its hash is `changed`. */
async function decode(todo: TextTodo, maxPixels: number, look: boolean): Promise<Decoded> {
  try {
    const buf = readRegularFileSync(todo.path, MAX_PHOTO_BYTES);
    if (sha256(buf) !== todo.contentHash) return { todo, buf: null, first: null, failed: 'changed' };
    return { todo, buf, first: await decodeFirst(buf, todo.path, maxPixels, look), failed: null };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    if (code === 'ENOENT') return { todo, buf: null, first: null, failed: 'changed' }; // gone: the next index run removes it
    return { todo, buf: null, first: null, failed: describeImageError(e) };
  }
}
