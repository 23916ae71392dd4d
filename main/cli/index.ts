/**
 * The command line: the same backend as the desktop app, reached the same way (the API table's handlers,
 * each request checked once), scriptable. Progress goes to stderr, results to stdout (`--json` for
 * machines). User errors print one line, exit 1.
 */
import { CommanderError } from 'commander';
import { errorResult, resolveDataDir, startBackend, type RunningBackend } from '../backend';
import { cliFor, type Cli, type CommandBody, type GlobalOpts } from './context';
import { OptionRefused } from './options';
import { buildProgram } from './program';
import { shown } from './terminal';

export { buildProgram };

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  let backend: RunningBackend | null = null;
  const run = async (fn: CommandBody, needsBackend = true) => {
    const g = program.opts<GlobalOpts>();
    try {
      if (needsBackend) {
        backend = await startBackend({
          dataDir: resolveDataDir(g.data),
          modelDir: g.modelDir ?? process.env.PHOTO_SEARCH_MODEL_DIR ?? null,
        });
      }
      // A command that opens no backend (repair, benchmarks) gets none.
      await fn(backend ? cliFor(backend) : (undefined as unknown as Cli), g);
    } catch (e) {
      const r = errorResult(backend ? (backend as RunningBackend).explain(e) : e);
      // Messages name files and quote caption lines: escaped like every other line.
      process.stderr.write(`photo-search: ${shown(r.message)}\n`);
      if (process.env.PHOTO_SEARCH_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
      code = r.code === 'cancelled' ? 130 : 1;
    } finally {
      if (backend) await (backend as RunningBackend).close();
    }
  };
  const program = buildProgram(run);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof OptionRefused) {
      process.stderr.write(`photo-search: ${shown(e.message)}\n`);
      return 1;
    }
    if (e instanceof CommanderError) {
      // Help and version exit 0; usage errors already printed one line by commander.
      return e.exitCode;
    }
    throw e;
  }
  return code;
}
