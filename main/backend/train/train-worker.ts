/**
 * Worker-thread entry of a training job (started by runTrainingInWorker): runs trainModel with the job
 * options from workerData, posts progress/epoch/done/error messages, and cancels on a 'cancel' message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { trainModel, type TrainJobOptions, type WorkerMessage, type WorkerRequest } from './job';

if (!parentPort) throw new Error('train-worker must run in a worker thread.');
const port = parentPort;
const controller = new AbortController();
const post = (m: WorkerMessage) => port.postMessage(m);

port.on('message', (m: WorkerRequest) => {
  if (m.type === 'cancel') controller.abort();
});

trainModel({
  ...(workerData as TrainJobOptions),
  signal: controller.signal,
  onProgress: (progress) => post({ type: 'progress', progress }),
  onEpoch: (epoch) => post({ type: 'epoch', epoch }),
  onBaseline: (before) => post({ type: 'baseline', before }),
})
  .then((result) => post({ type: 'done', result }))
  .catch((e: Error) => post({ type: 'error', name: controller.signal.aborted ? 'AbortError' : e.name || 'Error', message: controller.signal.aborted ? 'Training cancelled.' : e.message }))
  .finally(() => port.close());
