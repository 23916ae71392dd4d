/** `models`, `models add`, `models use`, `models remove`: the catalog, by name or id. */
import type { Command } from 'commander';
import type { ModelInfo } from '../../../shared/api';
import type { Runner } from '../context';
import { modelRecall, out, table } from '../format';
import { cliPath } from '../options';
import { shown } from '../terminal';

export function registerModels(program: Command, run: Runner): void {
  const models = program
    .command('models')
    .description('list, import, activate and remove models (by name or id)')
    .option('--json', 'print the list as JSON')
    .action((o: { json?: boolean }) =>
      run(async ({ api }) => {
        const list = await api.models();
        out(!!o.json, list, () =>
          table([
            ['', 'NAME', 'ID', 'R@1/5/10', 'GAIN R@5', 'FROM', 'MEASURED ON'],
            ...list.map((m) => {
              const [recall, gain, on] = modelRecall(m);
              return [m.active ? '*' : ' ', shown(m.name), shown(m.id), recall, gain, m.builtin ? 'built-in' : shown(m.parent ?? m.source ?? '—'), on];
            }),
          ]) +
            '\n(* = active; R@1/5/10 = text→photo recall in percent on photos the model was not trained on. Recall falls as the photos each caption is' +
            ' ranked among grow: compare figures measured the same way, or run `photo-search eval SET --model NAME` on one set for each.' +
            " GAIN R@5 = a fine-tune's held-out change in points ± its error; within two errors it is no measurable gain: keep the current model.)",
        );
      }),
    );
  // `models use X --json` hands --json to `models` (commander parses a parent's options anywhere on the
  // line, and positional options would stop `--data` working after a command): either place counts.
  const modelsJson = (o: { json?: boolean }): boolean => !!(o.json || models.opts<{ json?: boolean }>().json);
  models
    .command('add')
    .description('import a model: a Hugging Face / transformers.js folder, an immich folder, an encoder pair folder, or hf:OWNER/NAME')
    .argument('<source>')
    .option('--json', 'print the new model as JSON')
    .action((source: string, o: { json?: boolean }) =>
      run(async ({ api, follow }) => {
        const job = await api.importModel({ source: /^hf:/.test(source) ? source : cliPath(source) });
        const info = await follow<ModelInfo>(job, 'Importing');
        out(modelsJson(o), info, () => `Imported model "${shown(info.name)}" (${shown(info.id)}). Activate it with \`photo-search models use ${shown(info.id)}\`.`);
      }),
    );
  models
    .command('use')
    .description('activate a model (re-embeds the library from cached features)')
    .argument('<model>', 'name or id')
    .option('--json', 'print {model, name, images, embedded} as JSON')
    .action((id: string, o: { json?: boolean }) =>
      run(async ({ api, follow }) => {
        const job = await api.activateModel({ id });
        if (job) await follow(job, 'Re-embedding');
        const st = await api.status();
        out(modelsJson(o), { model: st.model, name: st.modelName, images: st.images, embedded: st.embedded }, () => `Active model: ${shown(st.modelName)} (${shown(st.model)}; ${st.embedded} photos embedded).`);
      }),
    );
  models
    .command('remove')
    .description('delete a trained or imported model (not the active one, never the built-in)')
    .argument('<model>', 'name or id')
    .option('--json')
    .action((id: string, o: { json?: boolean }) =>
      run(async ({ api }) => {
        const r = await api.removeModel({ id });
        out(modelsJson(o), r, () => `Removed model ${shown(String(r.removed))}.`);
      }),
    );
}
