// No import cycles, between files or between folders (`npm test` runs this after lint). Files: dpdm's
// cycle finder over what runs (type-only imports are left out: they vanish at compile time). Folders: each
// domain folder of main/backend (library, catalog, search, train, model, store, …) and each of the
// backend's top-level files is one node; a cycle among them means a domain reaches up into one that
// depends on it (as model/ importing catalog/ once did).
import { parseCircular, parseDependencyTree } from 'dpdm';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const ENTRIES = ['main/**/*.ts', 'shared/**/*.ts', 'preload/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'];

/** The node a file belongs to: its folder under main/backend, else the file itself (a top-level backend file), else its top folder. */
function nodeOf(file) {
  const parts = file.split('/');
  if (parts[0] === 'main' && parts[1] === 'backend') return parts.length > 3 ? `main/backend/${parts[2]}/` : file;
  return parts.length > 2 ? `${parts[0]}/${parts[1]}/` : file;
}

/** Strongly connected components with more than one node (Tarjan). */
function cycles(graph) {
  let index = 0;
  const stack = [];
  const info = new Map();
  const out = [];
  const visit = (v) => {
    info.set(v, { index, low: index, on: true });
    index++;
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!info.has(w)) {
        visit(w);
        info.get(v).low = Math.min(info.get(v).low, info.get(w).low);
      } else if (info.get(w).on) info.get(v).low = Math.min(info.get(v).low, info.get(w).index);
    }
    if (info.get(v).low === info.get(v).index) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        info.get(w).on = false;
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!info.has(v)) visit(v);
  return out;
}

const tree = await parseDependencyTree(ENTRIES, { context: ROOT, cwd: ROOT, transform: true, tsconfig: path.join(ROOT, 'tsconfig.json') });
const problems = [];
for (const c of parseCircular(tree, true)) problems.push(`file cycle: ${[...c, c[0]].join(' → ')}`);

const graph = new Map();
for (const [file, deps] of Object.entries(tree)) {
  for (const d of deps ?? []) {
    if (!d.id || d.id.includes('node_modules') || d.kind === 'DynamicImport') continue;
    const [a, b] = [nodeOf(file), nodeOf(d.id)];
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Set());
    graph.get(a).add(b);
  }
}
for (const scc of cycles(graph)) {
  const edges = scc.flatMap((a) => [...(graph.get(a) ?? [])].filter((b) => scc.includes(b)).map((b) => `${a} → ${b}`));
  problems.push(`folder cycle between ${scc.join(', ')} (${edges.join('; ')})`);
}
if (problems.length) {
  for (const p of problems) process.stderr.write(`${p}\n`);
  process.exit(1);
}
process.stdout.write(`No import cycles (${Object.keys(tree).length} files, ${graph.size} folders and top-level backend files).\n`);
