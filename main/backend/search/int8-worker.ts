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
  | { type: 'build'; seq: number; dim: number; n: number; matrixT: Int8Array; inv: Float32Array }
  | { type: 'score'; seq: number; query: Uint8Array; candidates: number };

/** `candidates`: snapshot columns of the best approximate scores, in no particular order. */
export type Int8Reply = { seq: number; ok: true; candidates?: Int32Array } | { seq: number; ok: false; message: string };

const T = onnx.TensorProto.DataType;

function valueInfo(name: string, elemType: number, dims: (number | string)[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } };
}

/**
 * approx[1, n] = float((query[1, dim] - 128) × matrixT[dim, n]) × inv[1, n], then TopK(k) of it: the
 * whole prefilter runs natively, and only k indices cross back to the main thread.
 */
function scoringModel(dim: number, n: number, matrixT: Int8Array, inv: Float32Array): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'photo-search',
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'int8-scores',
        node: [
          { opType: 'MatMulInteger', input: ['query', 'matrix', 'zero'], output: ['ints'] },
          { opType: 'Cast', input: ['ints'], output: ['floats'], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: T.FLOAT }] },
          { opType: 'Mul', input: ['floats', 'inv'], output: ['approx'] },
          {
            opType: 'TopK',
            input: ['approx', 'k'],
            output: ['values', 'indices'],
            attribute: [{ name: 'sorted', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
          },
        ],
        initializer: [
          { name: 'matrix', dims: [dim, n], dataType: T.INT8, rawData: new Uint8Array(matrixT.buffer, matrixT.byteOffset, matrixT.byteLength) },
          { name: 'zero', dims: [], dataType: T.UINT8, rawData: Uint8Array.of(128) },
          { name: 'inv', dims: [1, n], dataType: T.FLOAT, rawData: new Uint8Array(inv.buffer, inv.byteOffset, inv.byteLength) },
        ],
        input: [valueInfo('query', T.UINT8, [1, dim]), valueInfo('k', T.INT64, [1])],
        output: [valueInfo('indices', T.INT64, [1, 'candidates'])],
      },
    }),
  ).finish();
}

let session: ort.InferenceSession | null = null;
let dim = 0;
let n = 0;

parentPort?.on('message', (msg: Int8Request) => {
  void (async (): Promise<Int8Reply> => {
    try {
      if (msg.type === 'build') {
        const bytes = scoringModel(msg.dim, msg.n, msg.matrixT, msg.inv);
        const next = await createSessionFromBytes(bytes, 'int8 search');
        await session?.release();
        session = next;
        dim = msg.dim;
        n = msg.n;
        return { seq: msg.seq, ok: true };
      }
      if (!session) return { seq: msg.seq, ok: false, message: 'int8 scorer has no snapshot yet' };
      const k = new ort.Tensor('int64', BigInt64Array.of(BigInt(Math.min(msg.candidates, n))), [1]);
      const out = await session.run({ query: new ort.Tensor('uint8', msg.query, [1, dim]), k }, ['indices']);
      const idx = out.indices.data as BigInt64Array;
      const candidates = new Int32Array(idx.length);
      for (let i = 0; i < idx.length; i++) candidates[i] = Number(idx[i]);
      return { seq: msg.seq, ok: true, candidates };
    } catch (e) {
      return { seq: msg.seq, ok: false, message: e instanceof Error ? e.message.split('\n')[0] : String(e) };
    }
  })().then((reply) => parentPort?.postMessage(reply, reply.ok && reply.candidates ? [reply.candidates.buffer as ArrayBuffer] : []));
});
