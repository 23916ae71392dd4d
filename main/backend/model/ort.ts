/**
 * The one place that creates onnxruntime sessions: CPU execution provider, all graph optimizations, one
 * intra-op thread per core. Turns missing / corrupt model files into one-line errors a user can act on.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { oneLine } from '../../../shared/format';

export { ort };

export function sessionOptions(): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: Math.max(1, os.availableParallelism?.() ?? os.cpus().length),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Warnings (e.g. unused initializers) are noise for users; errors still throw.
    logSeverityLevel: 3,
    // Idle onnxruntime threads spin-wait by default; while indexing, sharp decodes on the same cores, and
    // spinning threads steal its time (measured in docs/BENCHMARKS.md, "Indexing throughput").
    extra: { session: { intra_op: { allow_spinning: process.env.PHOTO_SEARCH_ORT_SPIN === '1' ? '1' : '0' } } },
  };
}

/** Create a session from an ONNX file, with a clear error naming the file when it is missing or not ONNX. */
export async function createSessionFromFile(file: string): Promise<ort.InferenceSession> {
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new Error('not a file');
  } catch {
    throw new Error(`Model file ${file} not found. Re-install the model or fix the path in its model.json.`);
  }
  try {
    return await ort.InferenceSession.create(file, sessionOptions());
  } catch (e) {
    throw new Error(`Model file ${file} could not be loaded by onnxruntime (${oneLine(e, 300)}). The file may be truncated or not an ONNX model: re-download it.`, { cause: e });
  }
}

/** Create a session from ONNX bytes built in memory (heads graphs): no temp files. */
export async function createSessionFromBytes(bytes: Uint8Array, what: string): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, sessionOptions());
  } catch (e) {
    throw new Error(`Could not build the ${what} graph (${oneLine(e, 300)}). The model's heads may not match its manifest.`, { cause: e });
  }
}

/** Fail clearly when a tower does not have the inputs / outputs its manifest names. */
export function checkSessionIO(session: ort.InferenceSession, file: string, inputs: string[], outputs: string[]): void {
  for (const name of inputs) {
    if (!session.inputNames.includes(name)) {
      throw new Error(`Model file ${file} has no input named "${name}" (it has: ${session.inputNames.join(', ')}). Fix the input name in model.json.`);
    }
  }
  for (const name of outputs) {
    if (!session.outputNames.includes(name)) {
      throw new Error(`Model file ${file} has no output named "${name}" (it has: ${session.outputNames.join(', ')}). Fix the output name in model.json.`);
    }
  }
}

/** Static shape of a named output, or null when unknown (symbolic dims are returned as strings). */
export function outputShape(session: ort.InferenceSession, name: string): ReadonlyArray<number | string> | null {
  const meta = session.outputMetadata.find((m) => m.name === name);
  if (!meta || !meta.isTensor || meta.shape.length === 0) return null;
  return meta.shape;
}

const sharedSessions = new Map<string, Promise<ort.InferenceSession>>();

/**
 * One session per `key` for small weightless graphs built in code (search scoring, duplicate projections),
 * shared by every caller; a session that failed to build is forgotten so the next call tries again.
 */
export function sharedSession(key: string, build: () => Uint8Array, what: string): Promise<ort.InferenceSession> {
  let s = sharedSessions.get(key);
  if (!s) {
    s = createSessionFromBytes(build(), what);
    s.catch(() => sharedSessions.delete(key));
    sharedSessions.set(key, s);
  }
  return s;
}
