/**
 * The library domain's service and its slice of the API table: the folders in the library, indexing them
 * (in a worker), skipped files, the status line, and the files served for a photo (confined to the library).
 */
import { existsSync, promises as fs, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AddFolderResult, ApiHandlers, FolderInfo, IndexSummary, JobInfo, LibraryStatus, PhotoFileSize, PhotoText, PhotoTextLine, RemoveFolderResult, SkippedFile } from '../../../shared/api';
import { AppError, Cancelled } from '../errors';
import { resolveAllowedFile, resolveLibraryFile } from '../fs/confine';
import type { JobContext } from '../jobs';
import { expandHome, userPath } from '../paths';
import type { BackendState } from '../state';
import { TEXT_SCRIPTS } from '../text/models';
import { outdatedEmbeddings } from './embedding-provenance';
import { acquireIndexLock } from './index-lock';
import { runIndexInWorker } from './index-worker';
import { pruneThumbnails, thumbnailFor, thumbnailPath, touchThumbnail } from './thumbnails';
import { isPhotoName, normalizeRoots, walkPhotos } from './walk';

export type LibraryHandlers = Pick<ApiHandlers, 'status' | 'folders' | 'addFolder' | 'addFolders' | 'removeFolder' | 'rescan' | 'skipped' | 'photoText'>;

const PHOTO_TYPES = ['JPEG', 'PNG', 'WebP', 'GIF', 'TIFF', 'AVIF', 'HEIC', 'RAW'];
/** What a browser (and Electron's Chromium) shows as it is. */
const BROWSER_SHOWS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.avif']);

export class LibraryService {
  constructor(
    private readonly s: BackendState,
    /** Told when the library's folders change (the folder watcher follows them). */
    private readonly onFoldersChanged: () => void,
  ) {}

  handlers(): LibraryHandlers {
    return {
      status: () => this.status(),
      folders: async () => this.folders(),
      addFolder: (p) => this.addFolder(p.path),
      addFolders: async (p) => {
        const r = await this.addFolders(p.paths);
        return { roots: r.roots, job: r.info, notices: r.notices };
      },
      removeFolder: (p) => this.removeFolder(p.path),
      rescan: async () => this.startIndex().info,
      skipped: async (p) => this.skipped(p.limit, p.offset),
      photoText: async (p) => this.photoText(p.id),
    };
  }

  async status(): Promise<LibraryStatus> {
    const store = this.s.store;
    let model: string;
    let modelName: string;
    try {
      model = this.s.active.id();
      modelName = this.s.registry.get(model).manifest.name;
    } catch {
      model = 'none';
      modelName = 'none';
    }
    return {
      images: store.countPhotos(),
      skipped: store.countSkipped(),
      model,
      modelName,
      roots: store.listRoots(),
      incomplete: store.listIncomplete(),
      embedded: model === 'none' ? 0 : store.countEmbeddings(model),
      pendingModel: model === 'none' ? null : this.s.active.pending(),
      damaged: this.s.searchIndex.damagedCount(this.s.active.id()),
      outdated: model === 'none' ? 0 : await this.outdated(),
      text: { read: store.text.countRead(), withText: store.text.countWithText(), gated: store.text.countGated(), scripts: TEXT_SCRIPTS },
    };
  }

  /** The active model's embeddings made by another version of it (0 when its files cannot be loaded: search says why). */
  private async outdated(): Promise<number> {
    try {
      return outdatedEmbeddings(this.s.store, await this.s.active.load());
    } catch {
      return 0;
    }
  }

  folders(): FolderInfo[] {
    const incomplete = new Set(this.s.store.listIncomplete());
    return this.s.store.listRoots().map((p) => ({ path: p, photos: this.s.store.countPhotosUnder(p), incomplete: incomplete.has(p) }));
  }

  /**
   * Add folders to the library and index them in one job. A folder already in the library is re-scanned;
   * one inside a library folder re-scans that folder (its photos are never indexed twice); one containing
   * library folders takes them over (their photos are kept). Paths must be absolute (the CLI resolves
   * relative ones against its working folder first).
   */
  async addFolders(paths: string[]): Promise<{ roots: string[]; info: JobInfo; done: Promise<IndexSummary>; notices: string[] }> {
    this.s.compaction.refuse('add a folder');
    const store = this.s.store;
    const targets = paths.map((p) => checkFolder(userPath(p, 'folder')));
    const notices: string[] = [];
    const toIndex: string[] = [];
    for (const abs of targets) {
      const roots = store.listRoots();
      const outer = roots.find((r) => r !== abs && isUnderFolder(abs, r));
      if (roots.includes(abs)) {
        notices.push(`${abs} is already in the library — re-scanned.`);
        toIndex.push(abs);
      } else if (outer) {
        notices.push(`${abs} is inside ${outer}, which is already in the library — re-scanned ${outer}; no photo is indexed twice.`);
        toIndex.push(outer);
      } else {
        store.addRoot(abs);
        const inner = roots.filter((r) => isUnderFolder(r, abs));
        for (const r of inner) store.mergeRootInto(r, abs);
        if (inner.length) notices.push(`${abs} contains ${inner.join(', ')}, already in the library: their photos are kept, not indexed twice.`);
        if (!(await hasPhotos(abs))) {
          notices.push(`No photos found in ${abs} (looked for ${PHOTO_TYPES.join(', ')} files in it and its sub-folders). It stays in the library; add photos and re-scan.`);
        }
        toIndex.push(abs);
      }
    }
    this.s.emit({ type: 'library-changed' });
    const job = this.startIndex(normalizeRoots(toIndex));
    this.onFoldersChanged();
    return { roots: store.listRoots(), ...job, notices };
  }

  async addFolder(p: string): Promise<AddFolderResult> {
    const r = await this.addFolders([p]);
    return { roots: r.roots, job: r.info, notice: r.notices.length ? r.notices.join(' ') : null };
  }

  /**
   * Forget a library folder: its photos (unless another library folder holds them), their embeddings,
   * their cached tower features and thumbnails when no other photo has the same content. Files on disk
   * are never touched.
   */
  async removeFolder(p: string): Promise<RemoveFolderResult> {
    this.s.compaction.refuse('remove a folder');
    const abs = path.resolve(expandHome(p));
    const roots = this.s.store.listRoots();
    const root = roots.find((r) => r === abs || (existsSync(abs) && r === realpathSync(abs)));
    if (!root) throw new AppError('not_found', `${abs} is not a library folder. Library folders: ${roots.join(', ') || 'none'}.`);
    const running = this.s.jobs.running('index');
    if (running) throw new AppError('busy', `Indexing is running (${running.stage}). Cancel it or wait, then remove the folder.`);
    const { removed, orphanHashes } = this.s.store.removeRootAndDerived(root);
    if (orphanHashes.length) this.s.store.text.dropOrphans(); // the words read in photos no folder holds any more
    for (const h of orphanHashes) {
      await fs.rm(thumbnailPath(this.s.thumbnailsDir, h), { force: true }).catch(() => undefined);
    }
    this.s.searchIndex.refresh(); // the removed rows leave the live index
    this.onFoldersChanged();
    this.s.emit({ type: 'library-changed' });
    return { roots: this.s.store.listRoots(), removed };
  }

  /** Delete cached thumbnails of content no photo in the library has any more; returns how many. */
  pruneThumbnails(): Promise<number> {
    return pruneThumbnails(this.s.thumbnailsDir, (h) => this.s.store.hasContent(h));
  }

  /** The words read in photo `id` (null: not read yet); an unknown photo is not_found. */
  photoText(id: number): PhotoText | null {
    if (!this.s.store.photoById(id)) throw new AppError('not_found', `Photo ${id} is not in the library.`);
    const row = this.s.store.text.ofPhoto(id);
    if (!row) return null;
    let lines: PhotoTextLine[] = [];
    try {
      lines = JSON.parse(row.lines) as PhotoTextLine[];
    } catch {
      // a damaged row reads as no text; the next read of that content replaces it
    }
    return { lines, failed: row.failed, scripts: TEXT_SCRIPTS };
  }

  skipped(limit = 100, offset = 0): { total: number; items: SkippedFile[] } {
    return { total: this.s.store.countSkipped(), items: this.s.store.listSkipped(limit, offset) };
  }

  /** Index the given roots (default: all library folders) in a worker. */
  startIndex(roots?: string[]): { info: JobInfo; done: Promise<IndexSummary> } {
    const targets = roots ?? this.s.store.listRoots();
    if (!targets.length) throw new AppError('empty_library', 'No folders in the library yet. Add one with `photo-search index FOLDER`.');
    return this.s.jobs.start('index', 'Counting photos', (ctx) => this.runIndex(ctx, targets));
  }

  /**
   * At start-up: when another version of the active model made its embeddings (the app was upgraded and its
   * built-in model changed), index the library again, which drops them and embeds every photo with the model as
   * it is now, from cached features where they still fit. Until then search would compare the new model's
   * queries with the old model's photos. Returns the job started, or null when nothing is outdated (or another
   * index job runs: that one re-embeds them).
   */
  async reembedOutdated(): Promise<JobInfo | null> {
    const model = await this.s.active.load();
    const outdated = outdatedEmbeddings(this.s.store, model);
    if (outdated === 0 || this.s.store.listRoots().length === 0) return null;
    try {
      const job = this.startIndex();
      this.s.emit({ type: 'notice', message: `The model "${this.s.registry.get(model.id).manifest.name}" changed with this version: embedding the library's ${outdated.toLocaleString('en-US')} photos again (search finds them as they are done).` });
      job.done.catch(() => undefined); // reported through its job
      return job.info;
    } catch (e) {
      if (e instanceof AppError && e.code === 'busy') return null;
      throw e;
    }
  }

  /**
   * Index every library folder with `modelId` for a job that needs it (a model switch), as the one `index`
   * job: a re-scan meanwhile is refused as busy instead of starting a second worker on the same folders. An
   * index job already running is waited for first; cancelling `ctx` cancels this one.
   */
  async indexFor(ctx: JobContext, modelId: string, onJob?: (job: JobInfo) => void): Promise<IndexSummary> {
    const jobs = this.s.jobs;
    for (;;) {
      await jobs.idle('index');
      if (ctx.signal.aborted) throw new Cancelled();
      let job: { info: JobInfo; done: Promise<IndexSummary> };
      try {
        const roots = this.s.store.listRoots();
        job = jobs.start('index', 'Counting photos', (c) => this.runIndex(c, roots, modelId));
      } catch (e) {
        if (e instanceof AppError && e.code === 'busy') continue; // another one started in between: wait for it too
        throw e;
      }
      const cancel = () => jobs.cancel(job.info.id);
      ctx.signal.addEventListener('abort', cancel, { once: true });
      if (ctx.signal.aborted) cancel(); // cancelled while it started (a listener of its first event)
      const relay = (j: JobInfo) => {
        if (j.id === job.info.id) onJob?.(j);
      };
      jobs.events.on('job', relay);
      try {
        return await job.done;
      } finally {
        jobs.events.off('job', relay);
        ctx.signal.removeEventListener('abort', cancel);
      }
    }
  }

  private async runIndex(ctx: JobContext, roots: string[], modelId = this.s.active.id()): Promise<IndexSummary> {
    await this.s.compaction.until(ctx);
    // Another process indexing this library (the CLI beside the app, a second `serve`): wait for it.
    const lock = await acquireIndexLock(this.s.dataDir, { signal: ctx.signal, onWait: (line) => ctx.progress({ stage: line }) });
    try {
      return await this.runIndexLocked(ctx, roots, modelId);
    } finally {
      await lock.release();
    }
  }

  private async runIndexLocked(ctx: JobContext, roots: string[], modelId: string): Promise<IndexSummary> {
    const reg = this.s.registry.get(modelId);
    // Until it finishes, these folders count as incomplete (a cancel or a crash leaves them so: Resume).
    this.s.store.markIncomplete(roots);
    const count = new PhotoCountEvents((images) => this.s.emit({ type: 'library-count', images }));
    try {
      const summary = await runIndexInWorker({
        dataDir: this.s.dataDir,
        modelDir: reg.dir,
        roots,
        signal: ctx.signal,
        onProgress: (p: { stage?: string; done: number; total: number; etaSeconds?: number | null; rate?: number | null; images?: number }) => {
          ctx.progress(p);
          if (p.images === undefined) return;
          this.s.searchIndex.refresh(); // each committed batch goes into the live index, in place
          count.update(p.images);
        },
      });
      this.s.store.clearIncomplete(...roots);
      if (summary.removed > 0) await this.pruneThumbnails().catch(() => 0);
      return summary;
    } finally {
      count.end();
      // Committed batches are visible even when the run was cancelled or failed.
      this.s.searchIndex.refresh();
      this.s.emit({ type: 'library-changed' });
    }
  }

  /**
   * The file to serve for a photo, confined at serve time for every front (browser mode, the desktop
   * protocol and actions): the original's real path must lie inside a library folder, so a link swapped
   * after indexing cannot expose another file. A thumbnail already cached is ours (it outlives an unplugged
   * original); a missing one is made only from a confined original.
   */
  async photoFile(id: number, size: PhotoFileSize): Promise<string | null> {
    const row = this.s.store.photosByIds([id])[0];
    if (!row) return null;
    const thumbs = this.s.thumbnailsDir;
    // Browsers show JPEG, PNG, WebP, GIF and AVIF; anything else is shown in full as a cached JPEG rendition.
    const kind = size === 'thumb' ? 'thumb' : size === 'full' && !BROWSER_SHOWS.has(path.extname(row.path).toLowerCase()) ? 'view' : null;
    if (kind) {
      const cached = await resolveAllowedFile(thumbnailPath(thumbs, row.contentHash, kind), [thumbs]);
      if (cached) {
        await touchThumbnail(cached);
        return cached;
      }
    }
    // The library folder itself is resolved too: one replaced by a link after indexing is not followed.
    const original = await resolveLibraryFile(row.path, this.s.store.listRoots());
    if (!original) return null;
    if (!kind) return original;
    try {
      return await resolveAllowedFile(await thumbnailFor({ path: original, contentHash: row.contentHash }, thumbs, this.s.options.thumbnailCacheBytes, kind), [thumbs]);
    } catch {
      return null;
    }
  }
}

/**
 * The header's photo count follows committed batches: the first change at once, then at most every 500 ms
 * (the latest count is sent when the window ends), and the final count when the run ends.
 */
class PhotoCountEvents {
  private sent: number | null = null;
  private latest: number | null = null;
  private lastSentAt = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly send: (images: number) => void) {}

  update(images: number): void {
    if (this.sent === null) this.sent = images; // the count before this run: nothing to say yet
    this.latest = images;
    if (this.latest === this.sent || this.timer) return;
    const wait = 500 - (Date.now() - this.lastSentAt);
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  end(): void {
    if (this.timer) clearTimeout(this.timer);
    this.flush();
  }

  private flush(): void {
    this.timer = null;
    if (this.latest === null || this.latest === this.sent) return;
    this.sent = this.latest;
    this.lastSentAt = Date.now();
    this.send(this.latest);
  }
}

function checkFolder(p: string): string {
  const abs = path.resolve(p);
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new AppError('not_found', `Folder ${abs} not found. Check the path.`);
  }
  if (!st.isDirectory()) throw new AppError('invalid_input', `${abs} is not a folder. Give a folder of photos.`);
  return realpathSync(abs);
}

function isUnderFolder(p: string, folder: string): boolean {
  return p === folder || p.startsWith(folder.endsWith(path.sep) ? folder : folder + path.sep);
}

/** True as soon as the walk finds one photo file (the walk stops there). */
async function hasPhotos(root: string): Promise<boolean> {
  const stop = new AbortController();
  try {
    for await (const ev of walkPhotos([root], stop.signal)) {
      if (ev.kind === 'file' || (ev.kind === 'skip' && isPhotoName(ev.path))) return true;
    }
    return false;
  } finally {
    stop.abort();
  }
}
