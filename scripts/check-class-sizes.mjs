// No class over 300 lines in the product's code (`npm test` runs this after lint, which holds files under 500
// lines and functions under 150; ESLint has no rule for classes). A class that grows past this has more than one job.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(import.meta.dirname, '..');
const MAX = 300;
const files = execFileSync('git', ['ls-files', 'main', 'shared', 'preload', 'renderer', 'bench', 'scripts'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => /\.(ts|tsx)$/.test(f));
const big = [];
for (const file of files) {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const visit = (node) => {
    if (ts.isClassDeclaration(node) || ts.isClassExpression(node)) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      if (last - first + 1 > MAX) big.push(`${file}:${first + 1} class ${node.name?.text ?? '(anonymous)'} has ${last - first + 1} lines (at most ${MAX})`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}
if (big.length) {
  console.error(big.join('\n'));
  process.exit(1);
}
console.log(`No class over ${MAX} lines (${files.length} files).`);
