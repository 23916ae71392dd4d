/**
 * Live folders: while the app or `serve` runs, photos added, changed, moved or deleted under the library
 * folders are noticed without a manual re-scan. The watcher only says WHICH folders changed (debounced, so a
 * camera import of 500 files is one batch); the normal incremental index job then does the work (unchanged
 * files are not re-read, moved files keep their cached features by content hash, deleted ones leave the
 * index). chokidar does the per-platform watching.
 *
 * A folder on a removable drive can go away: its watcher is closed, the folder is checked every
 * `pollMs`, and when it comes back it is watched again and reported changed (the index job catches up on
 * whatever happened meanwhile). When the system's watch limit is reached (inotify on Linux), that folder
 * falls back to a periodic re-scan and `onProblem` says so once.
 */
import { watch, type FSWatcher } from 'chokidar';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isPhotoName } from './walk';

export interface FolderWatcherOptions {
  /** Called with the library folders under which something changed, at most once per `debounceMs`. */
  onChange: (roots: string[]) => void;
  /** A folder went away, came back, or cannot be watched live (one line, for the log or the UI). */
  onProblem?: (root: string, message: string) => void;
  /** Quiet time after the last event before reporting (ms). */
  debounceMs?: number;
  /** How often a missing folder is looked for (ms). */
  pollMs?: number;
  /** Re-scan period for a folder that cannot be watched live (ms). */
  fallbackRescanMs?: number;
}

interface Watched {
  root: string;
  watcher: FSWatcher | null;
  present: boolean;
  /** Periodic re-scan instead of live events (watch limit reached). */
  fallback: NodeJS.Timeout | null;
}

export class FolderWatcher {
  private readonly roots = new Map<string, Watched>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly debounceMs: number;
  private readonly pollMs: number;
  private readonly fallbackMs: number;

  constructor(private readonly opts: FolderWatcherOptions) {
    this.debounceMs = opts.debounceMs ?? 1500;
    this.pollMs = opts.pollMs ?? 5000;
    this.fallbackMs = opts.fallbackRescanMs ?? 5 * 60_000;
  }

  /** Watch exactly these folders (added ones start, removed ones stop). */
  async setRoots(roots: readonly string[]): Promise<void> {
    const want = new Set(roots.map((r) => path.resolve(r)));
    for (const [root, w] of this.roots) {
      if (!want.has(root)) {
        this.roots.delete(root);
        this.dirty.delete(root);
        await this.stop(w);
      }
    }
    for (const root of want) {
      if (this.roots.has(root)) continue;
      const w: Watched = { root, watcher: null, present: false, fallback: null };
      this.roots.set(root, w);
      await this.start(w, false);
    }
    this.ensurePoll();
  }

  /** Folders being watched live now (present and within the watch limit). */
  watching(): string[] {
    return [...this.roots.values()].filter((w) => w.watcher && !w.fallback).map((w) => w.root);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.poll) clearInterval(this.poll);
    this.timer = this.poll = null;
    await Promise.all([...this.roots.values()].map((w) => this.stop(w)));
    this.roots.clear();
  }

  private async start(w: Watched, cameBack: boolean): Promise<void> {
    if (!(await isDirectory(w.root))) {
      w.present = false;
      return;
    }
    // Closed (or this folder dropped) while looking: starting now would leave a watcher nobody closes.
    if (this.closed || this.roots.get(w.root) !== w || w.watcher) return;
    w.present = true;
    const watcher = watch(w.root, {
      ignoreInitial: true,
      // Hidden names are not part of the library (the walk skips them too); only photo files matter.
      ignored: (p, stats) => path.basename(p).startsWith('.') && p !== w.root ? true : !!stats?.isFile() && !isPhotoName(p),
      awaitWriteFinish: { stabilityThreshold: 400, pollInterval: 100 },
      followSymlinks: false,
    });
    w.watcher = watcher;
    const changed = () => this.mark(w.root);
    watcher.on('add', changed).on('change', changed).on('unlink', changed).on('unlinkDir', (p) => {
      // Not from inside chokidar's own removal: closing there lets it re-open a watcher on the parent folder
      // after the close, which then keeps the process alive (a `serve` that ignores SIGTERM).
      if (path.resolve(p) === w.root) setImmediate(() => void this.lost(w));
      else changed();
    });
    watcher.on('error', (e) => void this.failed(w, e as NodeJS.ErrnoException));
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    if (cameBack) {
      this.opts.onProblem?.(w.root, `Folder ${w.root} is back: catching up with its changes.`);
      this.mark(w.root);
    }
  }

  private async stop(w: Watched): Promise<void> {
    if (w.fallback) clearInterval(w.fallback);
    w.fallback = null;
    const watcher = w.watcher;
    w.watcher = null;
    if (!watcher) return;
    await watcher.close();
    // A removal chokidar was still handling can add a watcher back after close (its `closed` turns false
    // again): close that one too.
    await new Promise((r) => setImmediate(r));
    if (!watcher.closed) await watcher.close();
  }

  private async lost(w: Watched): Promise<void> {
    if (!w.present) return;
    w.present = false;
    await this.stop(w);
    this.opts.onProblem?.(w.root, `Folder ${w.root} is gone (a drive removed?): its photos stay searchable, and it is watched again when it comes back.`);
  }

  private async failed(w: Watched, e: NodeJS.ErrnoException): Promise<void> {
    if (e.code === 'ENOSPC' || e.code === 'EMFILE') {
      if (w.fallback) return;
      await this.stop(w);
      w.fallback = setInterval(() => this.mark(w.root), this.fallbackMs);
      w.fallback.unref();
      const minutes = Math.round(this.fallbackMs / 60_000);
      this.opts.onProblem?.(w.root, `Folder ${w.root} has more sub-folders than the system lets one app watch: it is re-scanned every ${minutes} minute(s) instead (on Linux, raise fs.inotify.max_user_watches for live updates).`);
      return;
    }
    if (!(await isDirectory(w.root))) await this.lost(w);
  }

  /** Look for missing folders (and notice ones that vanished without an event, e.g. an unmounted drive). */
  private ensurePoll(): void {
    if (this.poll || this.closed) return;
    this.poll = setInterval(() => {
      for (const w of this.roots.values()) {
        void isDirectory(w.root).then(async (here) => {
          if (this.closed || this.roots.get(w.root) !== w) return;
          if (here && !w.present && !w.watcher) await this.start(w, true);
          else if (!here && w.present) await this.lost(w);
        });
      }
    }, this.pollMs);
    this.poll.unref();
  }

  private mark(root: string): void {
    if (this.closed) return;
    this.dirty.add(root);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      const roots = [...this.dirty].filter((r) => this.roots.has(r));
      this.dirty.clear();
      if (roots.length) this.opts.onChange(roots);
    }, this.debounceMs);
  }
}

async function isDirectory(p: string): Promise<boolean> {
  const st = await fs.stat(p).catch(() => null);
  return !!st?.isDirectory();
}
