/**
 * What the library file takes on disk, and `compact`: drop the cached tower features of photos embedded with
 * the active model (and with the model an unfinished switch is embedding for), then give the space back
 * (library/compact.ts). Both run in a worker thread (they read the whole file).
 */
import type { ApiHandlers, CompactResult, LibraryCheck, LibrarySize } from '../../../shared/api';
import { damagedError } from '../store';
import { AppError } from '../errors';
import type { BackendState } from '../state';
import { compactInWorker, librarySizeInWorker } from './compact-worker';

export type CompactionHandlers = Pick<ApiHandlers, 'librarySize' | 'compact' | 'checkLibrary'>;

export class CompactionService {
  constructor(private readonly s: BackendState) {}

  handlers(): CompactionHandlers {
    return {
      librarySize: () => this.librarySize(),
      // Each stage goes out as an event (the CLI prints it; a kill between stages leaves a sound file).
      compact: (p) => this.compact({ dryRun: p?.dryRun, sets: p?.sets, onStage: (stage) => this.s.emit({ type: 'compact-stage', stage }) }),
      checkLibrary: async (p) => this.check(!!p?.full),
    };
  }

  /** Read every page of the library file (`full`: cross-check the indexes too); damage in one line. */
  check(full: boolean): LibraryCheck {
    const file = this.s.store.file;
    const result = full ? this.s.store.disk.integrityCheck() : this.s.store.disk.quickCheck();
    return { file, result, problem: result === 'ok' ? null : damagedError(file, result.split('; ')[0]!).message };
  }

  /** What the library takes on disk, part by part. */
  librarySize(): Promise<LibrarySize> {
    return librarySizeInWorker(this.s.dataDir);
  }

  /** Refused while a job that reads or writes the library runs; jobs started meanwhile wait for it. */
  async compact(opts: { dryRun?: boolean; sets?: boolean; tempDir?: string; onStage?: (stage: string) => void } = {}): Promise<CompactResult> {
    const what: Record<string, string> = { index: 'Indexing', train: 'Training', reembed: 'A model switch' };
    for (const kind of ['index', 'train', 'reembed'] as const) {
      const j = this.s.jobs.running(kind);
      if (j) throw new AppError('busy', `${what[kind]} is running (${j.stage}). Wait for it to finish or cancel it, then compact the library.`);
    }
    if (this.s.compaction.busy) throw new AppError('busy', 'The library is already being compacted. Wait for it to finish.');
    const run = (async () => {
      const model = await this.s.active.load();
      return compactInWorker({
        dataDir: this.s.dataDir,
        compaction: { towerKey: model.imageTowerKey, modelId: model.id, pendingModelId: this.s.active.pending()?.id ?? null, sets: !!opts.sets },
        dryRun: !!opts.dryRun,
        tempDir: opts.tempDir,
        onStage: opts.onStage,
      });
    })();
    return opts.dryRun ? run : this.s.compaction.hold(run);
  }
}
