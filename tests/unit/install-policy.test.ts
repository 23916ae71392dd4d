// The README's first command is a plain `npm install`: it must work offline (npm registry only) and stay quiet.
// What decides that is in package.json and the lock file, so check it there; `.ci/run` then runs the command.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  engines: { node: string; npm?: string };
  allowScripts?: Record<string, boolean>;
};
interface Locked { version: string; hasInstallScript?: boolean; engines?: { node?: string } | string[]; optional?: boolean; dev?: boolean; os?: string[]; cpu?: string[] }
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, Locked> };
const locked = Object.entries(lock.packages)
  .filter(([where]) => where !== '')
  .map(([where, p]) => ({ name: where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length), ...p }));

describe('npm install as the README writes it', () => {
  it('every dependency with an install script is approved or denied in package.json allowScripts', () => {
    const policy = pkg.allowScripts ?? {};
    const unreviewed = locked.filter((p) => p.hasInstallScript && !(p.name in policy) && !(`${p.name}@${p.version}` in policy));
    expect(unreviewed.map((p) => `${p.name}@${p.version}`)).toEqual([]);
  });

  it("denies onnxruntime-node's script (it fetches the CUDA provider from NuGet) and allows the native builds the app needs", () => {
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
    // better-sqlite3 ships no binary in its package: without its script there is no SQLite at all.
    expect(pkg.allowScripts?.['better-sqlite3']).toBe(true);
    // Name-only approvals: an approval pinned to one version would silently lapse when the lock file moves.
    for (const [key, allowed] of Object.entries(pkg.allowScripts ?? {})) if (allowed) expect(key).not.toMatch(/.@/);
  });

  it('every Node line that engines.node admits satisfies every locked dependency (no EBADENGINE warnings)', () => {
    const ours = pkg.engines.node;
    // The first release of each major line we admit, up to a few lines ahead (upper bounds like "26.x" are fine).
    const firsts = [20, 21, 22, 23, 24, 25, 26]
      .map((major) => semver.minVersion(ours.split('||').map((alt) => `${alt.trim()} ${major}.x`).join(' || ')))
      .filter((v): v is semver.SemVer => v !== null && semver.satisfies(v, ours));
    expect(firsts.length).toBeGreaterThan(0);
    const refused = locked
      // Platform binaries (os/cpu) are only installed where they fit, and say nothing about ours.
      .filter((p) => p.engines && !Array.isArray(p.engines) && p.engines.node && !p.os && !p.cpu)
      .flatMap((p) => firsts.filter((v) => !semver.satisfies(v, (p.engines as { node: string }).node)).map((v) => `${p.name}@${p.version} refuses node ${v.version}`));
    expect(refused).toEqual([]);
  });

  it('.ci/run runs the README install command exactly, with no variable for onnxruntime-node, and checks for CUDA files', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const setUp = readme.slice(readme.indexOf('## Set up'));
    const firstCommand = /```sh\n([^\n#]*?)\s*(#|\n)/.exec(setUp)?.[1];
    expect(firstCommand).toBe('npm install');
    const ci = readFileSync(path.join(root, '.ci', 'run'), 'utf8');
    const commands = ci.split('\n').filter((l) => !l.trim().startsWith('#'));
    expect(commands.some((l) => /^\s*npm install(\s|$)/.test(l) && !/--prefix/.test(l))).toBe(true);
    expect(ci).not.toMatch(/ONNXRUNTIME_NODE_INSTALL/);
    expect(readme).not.toMatch(/ONNXRUNTIME_NODE_INSTALL/);
    expect(ci).toMatch(/libonnxruntime_providers_/);
  });

  it('the renderer build config uses import.meta.dirname (Vite warns about __dirname in an ES module config)', () => {
    expect(readFileSync(path.join(root, 'renderer', 'vite.config.mts'), 'utf8')).not.toMatch(/__dirname/);
  });
});
