/** The command line's commands, one file per group under commands/, on one commander program. */
import { Command } from 'commander';
import { registerBench } from './commands/bench';
import { registerLibrary } from './commands/library';
import { registerLibraryFile } from './commands/library-file';
import { registerModels } from './commands/models';
import { registerSearch } from './commands/search';
import { registerServe } from './commands/serve';
import { registerTraining } from './commands/training';
import type { Runner } from './context';

export function buildProgram(run: Runner): Command {
  const program = new Command('photo-search')
    .description('Find photos by what they show, offline.')
    .option('--data <dir>', 'data folder (default: $PHOTO_SEARCH_DATA, else the app data folder)')
    .option('--model-dir <dir>', 'use this model folder as the default model ($PHOTO_SEARCH_MODEL_DIR)')
    .showHelpAfterError('(run `photo-search --help` for usage)')
    .exitOverride();
  registerLibrary(program, run);
  registerSearch(program, run);
  registerLibraryFile(program, run);
  registerModels(program, run);
  registerTraining(program, run);
  registerServe(program, run);
  registerBench(program, run);
  return program;
}
