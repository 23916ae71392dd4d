/**
 * The text pass: after embedding (so a new library is searchable by content first), read the words in every
 * photo whose content has not been read yet, and store them (store/photo-text.ts). It resumes by itself: what
 * was stored stays, and the next run starts with the contents still unread. Cancel stops after the photo in
 * flight. A photo whose bytes changed since it was indexed is left for the next index run (its hash is stale).
 *
 * First the text gate (text-gate.ts), when one fits the model's image tower: a page of photos' cached tower
 * features is read in one query and scored; a photo it passes over is stored as such, without being opened
 * (`PHOTO_SEARCH_READ_TEXT=all` reads those too). Then per photo (read-photo.ts): read the file, check its
 * hash, decode (EXIF rotation applied); a large photo is first looked at small and read at full size (at most
 * DETECT_MAX_SIDE) only when the look sees text; recognition runs only when the detector found boxes. The next
 * photo is decoded while this one is read. The reader's models load on the first photo to read.
 */
import type { TextPassSummary } from '../../../shared/api';
import { oneLine } from '../../../shared/format';
import { sha256 } from '../fs/hash';
import { MAX_PHOTO_BYTES, readRegularFileSync } from '../fs/safe-read';
import { DEFAULT_PIXEL_LIMIT, describeImageError } from '../photos/decode';
import type { PhotoTextInput, Store, TextTodo } from '../store';
import { TEXT_ENGINE } from './models';
import { decodeFirst, readDecoded, type FirstDecode } from './read-photo';
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
      let next: Promise<Decoded> | null = decode(page[0]!, maxPixels, look);
      for (let i = 0; i < page.length; i++) {
        const current = await next!;
        next = i + 1 < page.length ? decode(page[i + 1]!, maxPixels, look) : null;
        if (signal?.aborted) {
          await next?.catch(() => undefined);
          break outer;
        }
        if (current.failed === 'changed') {
          stale.add(current.todo.contentHash); // the next index run gives it its new hash
          continue;
        }
        let lines: TextLine[] = [];
        let failed = current.failed;
        if (current.first && current.buf) {
          const reader = await getReader(); // models that cannot load stop the pass (not each photo's failure)
          try {
            const got = await readDecoded(reader, current.first, current.buf, current.todo.path, maxPixels);
            lines = got.lines;
            if (got.stoppedByLook) summary.stoppedByLook++;
          } catch (e) {
            failed = `the text reader failed: ${oneLine(e instanceof Error ? e.message : String(e)).slice(0, 200)}`;
          }
        }
        pending.push({ contentHash: current.todo.contentHash, engine: TEXT_ENGINE, text: lines.map((l) => l.text).join('\n'), lines: JSON.stringify(lines), failed });
        summary.read++;
        if (lines.length) summary.withText++;
        if (failed) summary.failed++;
        if (pending.length >= batchSize) flush();
        report(false);
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
