/** Worker side of block-read.ts: reads its blocks of the file into the shared target, replies with their checksums. */
import { parentPort, workerData } from 'node:worker_threads';
import { workerCopyBlocks, type BlockReadRequest } from './block-read';

const { req, from, to } = workerData as { req: BlockReadRequest; from: number; to: number };
void workerCopyBlocks(req, from, to).then((reply) => parentPort?.postMessage(reply));
