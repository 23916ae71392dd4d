/**
 * View state fed by backend events: the latest JobInfo per job, training epochs and baselines per job,
 * counters that bump when the library or the model list changed (panels refetch when they see a new
 * number), the live photo count while indexing, and whether the backend is reachable.
 */
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ApiEvent, EvalResult, JobInfo, JobKind, PhotoSearchApi, TrainEpoch } from '../../shared/api';

export interface EventState {
  jobs: Record<string, JobInfo>;
  epochs: Record<string, TrainEpoch[]>;
  /** The starting model's held-out recall per training job (the chart's baseline). */
  baselines: Record<string, EvalResult>;
  libraryVersion: number;
  modelsVersion: number;
  /** Photos in the library as indexing commits batches (null until an indexing run reports). */
  liveImages: number | null;
  connected: boolean;
  /** Finished jobs the user dismissed (kept across reloads). */
  dismissed: Record<string, true>;
}

const DISMISSED_KEY = 'photo-search.dismissedJobs';

function loadDismissed(): Record<string, true> {
  try {
    const v = JSON.parse(localStorage.getItem(DISMISSED_KEY) ?? '[]') as unknown;
    return Object.fromEntries((Array.isArray(v) ? v : []).filter((x): x is string => typeof x === 'string').map((id) => [id, true as const]));
  } catch {
    return {};
  }
}

export class EventStore {
  private state: EventState = {
    jobs: {},
    epochs: {},
    baselines: {},
    libraryVersion: 0,
    modelsVersion: 0,
    liveImages: null,
    connected: true,
    dismissed: loadDismissed(),
  };
  private listeners = new Set<() => void>();

  constructor(readonly api: PhotoSearchApi) {}

  start(): () => void {
    const off = this.api.onEvent((e) => this.apply(e));
    this.loadJobs(true);
    return off;
  }

  /**
   * Jobs started before this window opened (or while the event stream was away). A window that opens (or
   * reloads) shows what still runs and what went wrong (failed, cancelled: there is something to do about them),
   * not the "Done" of runs that finished before it: those are old news, and their "Use this model" with them.
   */
  private loadJobs(opening = false): void {
    void this.api.jobs().then((r) => {
      if (!r.ok) return;
      const jobs = { ...this.state.jobs };
      for (const j of r.value) {
        if (opening && j.state === 'done' && !jobs[j.id]) continue;
        if (!jobs[j.id] || jobs[j.id].state === 'running') jobs[j.id] = j;
      }
      this.set({ ...this.state, jobs });
    });
  }

  apply(e: ApiEvent): void {
    const s = this.state;
    switch (e.type) {
      case 'job': {
        const finished = e.job.state === 'done' && s.jobs[e.job.id]?.state !== 'done';
        this.set({
          ...s,
          jobs: { ...s.jobs, [e.job.id]: e.job },
          // A finished job changed the library or the models even if the backend sent no separate event.
          libraryVersion: finished && e.job.kind !== 'import' && e.job.kind !== 'train' ? s.libraryVersion + 1 : s.libraryVersion,
          modelsVersion: finished && e.job.kind !== 'index' ? s.modelsVersion + 1 : s.modelsVersion,
        });
        break;
      }
      case 'train-epoch': {
        // A fine-tune measures two sizes of step one after the other: the chart follows the one being measured.
        const list = (s.epochs[e.jobId] ?? []).filter((x) => x.epoch !== e.epoch.epoch && x.step === e.epoch.step);
        this.set({ ...s, epochs: { ...s.epochs, [e.jobId]: [...list, e.epoch].sort((a, b) => a.epoch - b.epoch) } });
        break;
      }
      case 'train-baseline':
        this.set({ ...s, baselines: { ...s.baselines, [e.jobId]: e.before } });
        break;
      case 'library-changed':
        this.set({ ...s, libraryVersion: s.libraryVersion + 1 });
        break;
      case 'library-count':
        this.set({ ...s, liveImages: e.images });
        break;
      case 'models-changed':
        this.set({ ...s, modelsVersion: s.modelsVersion + 1 });
        break;
      case 'connection':
        if (e.connected === s.connected) break;
        // Back after an outage: whatever changed meanwhile is refetched.
        this.set(e.connected ? { ...s, connected: true, libraryVersion: s.libraryVersion + 1, modelsVersion: s.modelsVersion + 1 } : { ...s, connected: false });
        if (e.connected) this.loadJobs();
        break;
    }
  }

  /** Record a job the UI just started (its first event may arrive before or after the call returns). */
  noteJob(job: JobInfo): void {
    const known = this.state.jobs[job.id];
    if (known && known.state !== 'running') return;
    this.set({ ...this.state, jobs: { ...this.state.jobs, [job.id]: known && known.done > job.done ? known : job } });
  }

  /** Hide a finished job's panel (remembered in this browser). */
  dismiss(id: string): void {
    const dismissed = { ...this.state.dismissed, [id]: true as const };
    try {
      localStorage.setItem(DISMISSED_KEY, JSON.stringify(Object.keys(dismissed).slice(-200)));
    } catch {
      // storage full or disabled: dismissed for this session only
    }
    this.set({ ...this.state, dismissed });
  }

  get = (): EventState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private set(next: EventState): void {
    this.state = next;
    for (const l of [...this.listeners]) l();
  }
}

export const ApiContext = createContext<{ api: PhotoSearchApi; store: EventStore } | null>(null);

export function useApi(): { api: PhotoSearchApi; store: EventStore } {
  const ctx = useContext(ApiContext);
  if (!ctx) throw new Error('ApiContext missing');
  return ctx;
}

export function useEvents(): EventState {
  const { store } = useApi();
  return useSyncExternalStore(store.subscribe, store.get);
}

/** The newest job of a kind (running ones first); finished jobs the user dismissed are left out. */
export function latestJob(jobs: Record<string, JobInfo>, kinds: JobKind[], dismissed: Record<string, true> = {}): JobInfo | null {
  const list = Object.values(jobs).filter((j) => kinds.includes(j.kind) && (isActive(j) || !dismissed[j.id]));
  list.sort((a, b) => {
    const ra = a.state === 'running' ? 1 : 0;
    const rb = b.state === 'running' ? 1 : 0;
    return rb - ra || b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id);
  });
  return list[0] ?? null;
}

export function isActive(job: JobInfo | null | undefined): boolean {
  return !!job && (job.state === 'running');
}
