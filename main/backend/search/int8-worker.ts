/**
 * Worker side of the int8 snapshot scorer (see int8-scorer.ts). It owns one onnxruntime session whose
 * constant is the quantized matrix, transposed to [dim, n]: onnxruntime pre-packs constant MatMulInteger
 * weights when the session is created, and that packed kernel is what makes int8 scoring ~4× faster than
 * the float scan. Creating the session blocks for seconds at 1M rows, hence a worker.
 */
import { parentPort } from 'node:worker_threads';
import { onnx } from 'onnx-proto';
import { createSessionFromBytes, ort } from '../model/ort';

export type Int8Request =
  | { type: 'build'; seq: number; dim: number; n: number; matrixT: Int8Array }
  | { type: 'score'; seq: number; query: Uint8Array };

export type Int8Reply = { seq: number; ok: true; scores?: Int32Array } | { seq: number; ok: false; message: string };

const T = onnx.TensorProto.DataType;

function valueInfo(name: string, elemType: number, dims: number[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

/** scores[1, n] = (query[1, dim] - 128) × matrixT[dim, n], int32. */
function scoringModel(dim: number, n: number, matrixT: Int8Array): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'photo-search',
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'int8-scores',
        node: [{ opType: 'MatMulInteger', input: ['query', 'matrix', 'zero'], output: ['scores'] }],
        initializer: [
          { name: 'matrix', dims: [dim, n], dataType: T.INT8, rawData: new Uint8Array(matrixT.buffer, matrixT.byteOffset, matrixT.byteLength) },
          { name: 'zero', dims: [], dataType: T.UINT8, rawData: Uint8Array.of(128) },
        ],
        input: [valueInfo('query', T.UINT8, [1, dim])],
        output: [valueInfo('scores', T.INT32, [1, n])],
      },
    }),
  ).finish();
}

let session: ort.InferenceSession | null = null;
let dim = 0;

parentPort?.on('message', (msg: Int8Request) => {
  void (async (): Promise<Int8Reply> => {
    try {
      if (msg.type === 'build') {
        const bytes = scoringModel(msg.dim, msg.n, msg.matrixT);
        const next = await createSessionFromBytes(bytes, 'int8 search');
        await session?.release();
        session = next;
        dim = msg.dim;
        return { seq: msg.seq, ok: true };
      }
      if (!session) return { seq: msg.seq, ok: false, message: 'int8 scorer has no snapshot yet' };
      const out = await session.run({ query: new ort.Tensor('uint8', msg.query, [1, dim]) });
      // Copy into a buffer this thread owns so it can be transferred, not cloned.
      return { seq: msg.seq, ok: true, scores: new Int32Array(out.scores.data as Int32Array) };
    } catch (e) {
      return { seq: msg.seq, ok: false, message: e instanceof Error ? e.message.split('\n')[0] : String(e) };
    }
  })().then((reply) => parentPort?.postMessage(reply, reply.ok && reply.scores ? [reply.scores.buffer as ArrayBuffer] : []));
});
