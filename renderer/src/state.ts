/**
 * View state fed by backend events: the latest JobInfo per job, training epochs per job, and counters that
 * bump when the library or the model list changed (panels refetch when they see a new number).
 */
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ApiEvent, JobInfo, JobKind, PhotoSearchApi, TrainEpoch } from '../../shared/api';

export interface EventState {
  jobs: Record<string, JobInfo>;
  epochs: Record<string, TrainEpoch[]>;
  libraryVersion: number;
  modelsVersion: number;
}

export class EventStore {
  private state: EventState = { jobs: {}, epochs: {}, libraryVersion: 0, modelsVersion: 0 };
  private listeners = new Set<() => void>();

  constructor(readonly api: PhotoSearchApi) {}

  start(): () => void {
    const off = this.api.onEvent((e) => this.apply(e));
    // Jobs started before this window opened (or before the event stream connected).
    void this.api.jobs().then((r) => {
      if (!r.ok) return;
      const jobs = { ...this.state.jobs };
      for (const j of r.value) if (!jobs[j.id]) jobs[j.id] = j;
      this.set({ ...this.state, jobs });
    });
    return off;
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
        const list = (s.epochs[e.jobId] ?? []).filter((x) => x.epoch !== e.epoch.epoch);
        this.set({ ...s, epochs: { ...s.epochs, [e.jobId]: [...list, e.epoch].sort((a, b) => a.epoch - b.epoch) } });
        break;
      }
      case 'library-changed':
        this.set({ ...s, libraryVersion: s.libraryVersion + 1 });
        break;
      case 'models-changed':
        this.set({ ...s, modelsVersion: s.modelsVersion + 1 });
        break;
    }
  }

  /** Record a job the UI just started (its first event may arrive before or after the call returns). */
  noteJob(job: JobInfo): void {
    const known = this.state.jobs[job.id];
    if (known && known.state !== 'queued' && known.state !== 'running') return;
    this.set({ ...this.state, jobs: { ...this.state.jobs, [job.id]: known && known.done > job.done ? known : job } });
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

/** The newest job of a kind (running ones first). */
export function latestJob(jobs: Record<string, JobInfo>, kinds: JobKind[]): JobInfo | null {
  const list = Object.values(jobs).filter((j) => kinds.includes(j.kind));
  list.sort((a, b) => {
    const ra = a.state === 'running' || a.state === 'queued' ? 1 : 0;
    const rb = b.state === 'running' || b.state === 'queued' ? 1 : 0;
    return rb - ra || b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id);
  });
  return list[0] ?? null;
}

export function isActive(job: JobInfo | null | undefined): boolean {
  return !!job && (job.state === 'running' || job.state === 'queued');
}
