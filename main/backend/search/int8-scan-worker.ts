/**
 * Worker side of the int8 scan (int8-rows.ts): scores its share of the rows in the shared memory with the
 * SIMD kernel and sends back its best candidates. It holds no copy of the rows.
 */
import { parentPort } from 'node:worker_threads';
import { instantiateKernel, type DotsFn } from './int8-kernel';
import { scanRows, type ScanReply, type ScanRequest } from './int8-rows';
import { oneLine } from '../../../shared/format';

let memory: WebAssembly.Memory | null = null;
let scales: Float32Array = new Float32Array(0);
let dots: DotsFn | null = null;

parentPort?.on('message', (msg: ScanRequest) => {
  if (msg.type === 'attach') {
    if (memory !== msg.memory) dots = null;
    memory = msg.memory;
    scales = msg.scales;
    return;
  }
  let reply: ScanReply;
  try {
    if (!memory) throw new Error('no rows attached');
    dots ??= instantiateKernel(memory);
    reply = { seq: msg.seq, ok: true, ...scanRows(dots, memory, scales, msg) };
  } catch (e) {
    reply = { seq: msg.seq, ok: false, message: oneLine(e) };
  }
  parentPort?.postMessage(reply, reply.ok ? [reply.rows.buffer as ArrayBuffer, reply.scores.buffer as ArrayBuffer] : []);
});
