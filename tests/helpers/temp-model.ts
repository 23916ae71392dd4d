import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { generateTestModel } from './generate-model';

/**
 * A file's temporary folder with a generated test model in `<tmp>/model`: made before the file's tests (handed to
 * `ready`), removed after them.
 */
export function useTempModel(prefix: string, seed: number, ready: (tmp: string, modelDir: string) => void): void {
  let tmp = '';
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), prefix));
    ready(tmp, await generateTestModel(path.join(tmp, 'model'), { seed }));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
}
