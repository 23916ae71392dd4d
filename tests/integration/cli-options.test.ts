// Every numeric and date option of the command line is checked where it is read, with the API table's
// limits, and refused in one line: never read loosely (1e2, 0x10) or replaced by a default.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_EPOCHS, MAX_MODEL_NAME, MAX_TOP } from '../../shared/api';
import { buildProgram } from '../../main/cli/program';
import { OptionRefused } from '../../main/cli/options';

const BIN = path.join(__dirname, '..', '..', 'bin', 'photo-search.js');

/** Parse a command line without running it: resolves to whether the command's body was reached. */
async function parse(args: string[]): Promise<boolean> {
  let ran = false;
  const program = buildProgram(async () => {
    ran = true;
  });
  program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  await program.parseAsync(args, { from: 'user' });
  return ran;
}

const refused: [string[], string][] = [
  [['train', 'set', '--epochs', String(MAX_EPOCHS + 1)], `--epochs must be a whole number from 1 to ${MAX_EPOCHS}.`],
  [['train', 'set', '--epochs', '500'], `--epochs must be a whole number from 1 to ${MAX_EPOCHS}.`],
  [['train', 'set', '--epochs', '0'], `--epochs must be a whole number from 1 to ${MAX_EPOCHS}.`],
  [['train', 'set', '--epochs', '1e2'], `--epochs must be a whole number from 1 to ${MAX_EPOCHS}.`],
  [['train', 'set', '--epochs', '0x10'], `--epochs must be a whole number from 1 to ${MAX_EPOCHS}.`],
  [['train', 'set', '--epochs', '2.5'], `--epochs must be a whole number from 1 to ${MAX_EPOCHS}.`],
  [['train', 'set', '--seed', 'abc'], `--seed must be a whole number from ${Number.MIN_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER}.`],
  [['train', 'set', '--seed', ''], `--seed must be a whole number from ${Number.MIN_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER}.`],
  [['train', 'set', '--name', ''], '--name cannot be empty: give the new model a name, or leave --name out to have one made from its base.'],
  [['train', 'set', '--name', '   '], '--name cannot be empty: give the new model a name, or leave --name out to have one made from its base.'],
  [['train', 'set', '--name', 'x'.repeat(300)], `--name has at most ${MAX_MODEL_NAME} characters (this one has 300).`],
  [['search', 'a', '--top', '1e1'], `--top must be a whole number from 1 to ${MAX_TOP}.`],
  [['search', 'a', '--top', '0'], `--top must be a whole number from 1 to ${MAX_TOP}.`],
  [['search', 'a', '--top', String(MAX_TOP + 1)], `--top must be a whole number from 1 to ${MAX_TOP}.`],
  [['search', 'a', '--offset', '-1'], '--offset must be a whole number from 0 to 100000.'],
  [['search', 'a', '--offset', '0x10'], '--offset must be a whole number from 0 to 100000.'],
  [['search', 'a', '--min-score', '2'], '--min-score must be a number from -1 to 1.'],
  [['search', 'a', '--min-score', '0x1'], '--min-score must be a number from -1 to 1.'],
  [['search', 'a', '--after', '2023-02-30'], 'after: a date is YYYY, YYYY-MM or YYYY-MM-DD'],
  [['search', 'a', '--before', '2024-13'], 'before: a date is YYYY, YYYY-MM or YYYY-MM-DD'],
  [['search', 'a', '--after', '2023-2-1'], 'after: a date is YYYY, YYYY-MM or YYYY-MM-DD'],
  [['duplicates', '--threshold', '0.2'], '--threshold must be a number from 0.5 to 1.'],
  [['duplicates', '--threshold', '1e0'], '--threshold must be a number from 0.5 to 1.'],
  [['serve', '--port', 'abc'], '--port must be a whole number from 0 to 65535.'],
  [['serve', '--port', '70000'], '--port must be a whole number from 0 to 65535.'],
  [['bench', 'search', '--vectors', '0'], '--vectors must be a whole number ≥ 1.'],
  [['bench', 'search', '--dim', '1e3'], '--dim must be a whole number from 1 to 65536.'],
];

describe('command-line options', () => {
  it.each(refused)('%j is refused in one line before anything runs', async (args, message) => {
    const parsed = parse(args);
    await expect(parsed).rejects.toBeInstanceOf(OptionRefused);
    await expect(parsed).rejects.toThrow(message);
    expect(message).not.toContain('\n');
  });

  it('accepts the values at the limits and the plain forms', async () => {
    expect(await parse(['train', 'set', '--epochs', String(MAX_EPOCHS), '--seed', '-3', '--name', 'x'.repeat(MAX_MODEL_NAME)])).toBe(true);
    expect(await parse(['search', 'a', '--top', String(MAX_TOP), '--offset', '0', '--after', '2024-02-29', '--before', '2024', '--min-score', '-0.5'])).toBe(true);
    expect(await parse(['duplicates', '--threshold', '1'])).toBe(true);
    expect(await parse(['serve', '--port', '0'])).toBe(true);
  });

  it('prints the refusal as one line and exits 1 (serve --port abc)', () => {
    const r = spawnSync(process.execPath, [BIN, 'serve', '--port', 'abc'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('photo-search: --port must be a whole number from 0 to 65535.\n');
    expect(r.stdout).toBe('');
  });
});
