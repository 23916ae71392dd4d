/**
 * Worker-thread entry of a training job (started by runTrainingInWorker through worker-relay.ts): runs
 * trainModelFromFolders with the job options from workerData, reporting progress, epochs and the baseline as events.
 */
import type { TrainResult } from '../../../shared/api';
import { serveInWorker } from '../worker-relay';
import { trainModelFromFolders, type TrainJobOptions, type TrainWorkerEvent } from './job';

serveInWorker<TrainJobOptions, TrainResult, TrainWorkerEvent>((job, ctx) =>
  trainModelFromFolders({
    ...job,
    signal: ctx.signal,
    onProgress: (progress) => ctx.send({ type: 'progress', progress }),
    onEpoch: (epoch) => ctx.send({ type: 'epoch', epoch }),
    onBaseline: (before) => ctx.send({ type: 'baseline', before }),
  }),
);
