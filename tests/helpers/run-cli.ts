/** Run the compiled CLI (`bin/photo-search.js`) as a user would, and collect its exit code and output. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const CLI_BIN = path.join(__dirname, '..', '..', 'bin', 'photo-search.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; timeout?: number }): Promise<CliRun> {
  try {
    const r = await run(process.execPath, [CLI_BIN, ...args], { env: opts.env, cwd: opts.cwd, timeout: opts.timeout ?? 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
