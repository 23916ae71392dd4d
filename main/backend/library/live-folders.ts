/**
 * Live folders: photos added, changed, moved or deleted under the library folders are picked up while the
 * app or `serve` runs. The watcher reports which folders changed (debounced); they go into the normal
 * incremental index job, one at a time (a report that arrives while one runs is indexed right after it).
 */
import type { IndexSummary, JobInfo } from '../../../shared/api';
import { AppError } from '../errors';
import type { BackendState } from '../state';
import { FolderWatcher, type FolderWatcherOptions } from './watch';

export type WatchOptions = Omit<FolderWatcherOptions, 'onChange' | 'onProblem'>;

export class LiveFolders {
  private watcher: FolderWatcher | null = null;
  /** Folders the watcher reported changed that are not indexed yet. */
  private readonly changedRoots = new Set<string>();
  private indexing = false;

  constructor(
    private readonly s: BackendState,
    private readonly startIndex: (roots: string[]) => { info: JobInfo; done: Promise<IndexSummary> },
  ) {}

  async watch(options: WatchOptions = {}): Promise<void> {
    if (this.watcher) return;
    this.watcher = new FolderWatcher({
      ...options,
      onChange: (roots) => {
        for (const r of roots) this.changedRoots.add(r);
        void this.indexChanged();
      },
      onProblem: (_root, message) => this.s.emit({ type: 'notice', message }),
    });
    await this.watcher.setRoots(this.s.store.listRoots());
  }

  /** The watcher follows the library's folders. */
  rewatch(): void {
    if (this.watcher) void this.watcher.setRoots(this.s.store.listRoots()).catch(() => undefined);
  }

  async close(): Promise<void> {
    const watcher = this.watcher;
    this.watcher = null;
    await watcher?.close();
  }

  private async indexChanged(): Promise<void> {
    if (this.indexing) return;
    this.indexing = true;
    try {
      while (this.changedRoots.size && this.watcher) {
        await this.s.jobs.idle('index');
        const library = new Set(this.s.store.listRoots());
        const roots = [...this.changedRoots].filter((r) => library.has(r));
        this.changedRoots.clear();
        if (!roots.length) break;
        try {
          await this.startIndex(roots).done;
        } catch (e) {
          // Another index job started in between: try again after it. A failed or cancelled run is already
          // reported through its job; the next change tries again.
          if (e instanceof AppError && e.code === 'busy') for (const r of roots) this.changedRoots.add(r);
        }
      }
    } finally {
      this.indexing = false;
    }
  }
}
