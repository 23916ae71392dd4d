/**
 * The one place that picks the TensorFlow.js backend, at run time: `tensorflow` (tfjs-node, native) when it
 * loads, else `wasm` (SIMD, no threads in Node), else the slow pure-JS `cpu`. tfjs-node is an optional
 * dependency whose install downloads libtensorflow, so it is often absent.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors';

export type TfBackend = 'tensorflow' | 'wasm' | 'cpu';

let chosen: Promise<TfBackend> | null = null;

/** A diagnostic line for developers: only with PHOTO_SEARCH_DEBUG (the backend in use is also in the saved model). */
function log(msg: string): void {
  if (process.env.PHOTO_SEARCH_DEBUG && process.env.PHOTO_SEARCH_QUIET !== '1') process.stderr.write(`[train] ${msg}\n`);
}

async function tryBackend(name: TfBackend): Promise<boolean> {
  try {
    if (name === 'tensorflow') {
      require('@tensorflow/tfjs-node');
    } else if (name === 'wasm') {
      const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
      const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
      wasm.setWasmPaths(dist);
    }
    const ok = await tf.setBackend(name);
    if (!ok) return false;
    await tf.ready();
    return tf.getBackend() === name;
  } catch {
    return false;
  }
}

/**
 * Initialise tfjs once and return the backend in use. `prefer` (or PHOTO_SEARCH_TF_BACKEND) forces one,
 * e.g. for benchmarks; it still falls back down the list when it cannot load.
 */
export function initTf(prefer?: TfBackend): Promise<TfBackend> {
  const want = prefer ?? (process.env.PHOTO_SEARCH_TF_BACKEND as TfBackend | undefined);
  if (chosen && !want) return chosen;
  chosen = (async () => {
    const order: TfBackend[] = ['tensorflow', 'wasm', 'cpu'];
    const start = want && order.includes(want) ? order.indexOf(want) : 0;
    for (const name of order.slice(start)) {
      if (await tryBackend(name)) {
        log(`TensorFlow.js backend: ${name}`);
        return name;
      }
    }
    throw new AppError('model_error', 'TensorFlow.js could not start any backend (tensorflow, wasm, cpu). Reinstall the app dependencies with `npm install`.');
  })();
  return chosen;
}

export { tf };
