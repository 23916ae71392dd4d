import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../main/backend/catalog/manifest';
import { listFolderFiles, writeModelFolder, type FileCopy, type WriteStage } from '../../main/backend/catalog/model-folder';
import { ModelRegistry } from '../../main/backend/catalog/registry';
import { loadHeads } from '../../main/backend/model/heads-format';
import { openModel } from '../../main/backend/catalog/open-model';
import type { ModelManifest } from '../../main/backend/model/types';
import { generateTestModel } from '../helpers/generate-model';

let tmp: string;
let baseDir: string;
let base: ModelManifest;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ps-model-folder-'));
  baseDir = await generateTestModel(path.join(tmp, 'base'), { seed: 5, knownWords: true });
  base = await readManifest(baseDir);
});

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** A copy of the base model under a new id, as imports and training saves describe one. */
async function copySpec(modelsDir: string, id: string) {
  const skip = new Set(['model.json', base.heads, base.heads.replace(/\.json$/, '.bin')]);
  const files: FileCopy[] = (await listFolderFiles(baseDir, skip)).map((rel) => ({ from: path.join(baseDir, rel), to: rel }));
  return {
    modelsDir,
    manifest: { ...base, id, name: `copy ${id}`, parent: base.id } satisfies ModelManifest,
    files,
    texts: [{ to: 'notes/why.txt', data: 'written fresh\n' }],
    heads: await loadHeads(path.join(baseDir, base.heads)),
  };
}

/** Every file under a folder with its bytes, to prove a failed write changed nothing. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rel of await listFolderFiles(dir)) out[rel] = (await fs.readFile(path.join(dir, rel))).toString('base64');
  return out;
}

/** The ids the registry lists for a models folder (no built-in model: an empty folder stands in). */
function listed(modelsDir: string): string[] {
  return new ModelRegistry(modelsDir, null, path.join(tmp, 'no-builtin')).list().map((m) => m.id);
}

describe('the model-folder writer', () => {
  it('writes a complete folder that loads: files linked in, fresh texts, heads and a valid manifest', async () => {
    const modelsDir = path.join(tmp, 'ok');
    const spec = await copySpec(modelsDir, 'copy-one');
    const seen: number[] = [];
    const w = await writeModelFolder({ ...spec, onProgress: (done) => seen.push(done) });
    expect(w.dir).toBe(path.join(modelsDir, 'copy-one'));
    expect(await fs.readdir(modelsDir)).toEqual(['copy-one']);
    // Same disk: the tower is the base's file (a hard link), not a second copy.
    const [a, b] = await Promise.all([fs.stat(path.join(baseDir, base.image.file)), fs.stat(path.join(w.dir, base.image.file))]);
    expect(b.ino).toBe(a.ino);
    expect(await fs.readFile(path.join(w.dir, 'notes/why.txt'), 'utf8')).toBe('written fresh\n');
    expect((await readManifest(w.dir)).id).toBe('copy-one');
    expect(seen.at(-1)).toBeGreaterThan(0);
    expect(listed(modelsDir)).toEqual(['copy-one']);
    const model = await openModel(w.dir);
    try {
      const [v] = await model.embedTexts(['a red circle']);
      expect(v.length).toBe(base.embedDim);
    } finally {
      await model.dispose();
    }
  });

  for (const failAt of ['files', 'heads', 'manifest', 'rename'] as WriteStage[]) {
    it(`a failure at "${failAt}" leaves no half folder, the registry unchanged and the source untouched`, async () => {
      const modelsDir = path.join(tmp, `fail-${failAt}`);
      await writeModelFolder(await copySpec(modelsDir, 'kept'));
      const before = { listed: listed(modelsDir), names: await fs.readdir(modelsDir), kept: await snapshot(path.join(modelsDir, 'kept')), base: await snapshot(baseDir) };
      await expect(
        writeModelFolder({
          ...(await copySpec(modelsDir, 'broken')),
          onStage: (s) => {
            if (s === failAt) throw new Error(`injected failure at ${s}`);
          },
        }),
      ).rejects.toThrow(`injected failure at ${failAt}`);
      expect(await fs.readdir(modelsDir)).toEqual(before.names);
      expect(listed(modelsDir)).toEqual(before.listed);
      expect(await snapshot(path.join(modelsDir, 'kept'))).toEqual(before.kept);
      expect(await snapshot(baseDir)).toEqual(before.base);
    });
  }

  it('a source file that vanishes half-way through the copy leaves nothing behind', async () => {
    const modelsDir = path.join(tmp, 'vanish');
    const spec = await copySpec(modelsDir, 'half');
    const gone = path.join(tmp, 'gone.onnx');
    await fs.writeFile(gone, 'x');
    let fileSteps = 0;
    let during: string[] = [];
    let listedDuring: string[] = ['not checked'];
    await expect(
      writeModelFolder({
        ...spec,
        files: [spec.files[0], { from: gone, to: 'extra/gone.onnx' }, ...spec.files.slice(1)],
        // 'files' is called once at the start of the stage, then before each file: the third call comes
        // after the first file is in, so the copy fails in the middle.
        onStage: async (s) => {
          if (s === 'files' && ++fileSteps === 3) {
            during = await fs.readdir(modelsDir);
            listedDuring = listed(modelsDir);
            await fs.rm(gone);
          }
        },
      }),
    ).rejects.toThrow(/ENOENT/);
    // Mid-write the files sit in a hidden temp folder the registry does not list…
    expect(during).toHaveLength(1);
    expect(during[0]).toMatch(new RegExp(`^\\.tmp-${process.pid}-half-[0-9a-f]{8}$`));
    expect(listedDuring).toEqual([]);
    // …and a failure removes it.
    expect(await fs.readdir(modelsDir)).toEqual([]);
    expect(listed(modelsDir)).toEqual([]);
  });

  it('refuses an id that is taken or breaks the rule, before writing anything', async () => {
    const modelsDir = path.join(tmp, 'taken');
    await writeModelFolder(await copySpec(modelsDir, 'same'));
    const before = await snapshot(path.join(modelsDir, 'same'));
    await expect(writeModelFolder(await copySpec(modelsDir, 'same'))).rejects.toThrow(`A model with id "same" already exists in ${modelsDir}. Choose another id.`);
    await expect(writeModelFolder(await copySpec(modelsDir, 'Bad Id'))).rejects.toThrow('"Bad Id" is not a valid model id');
    expect(await fs.readdir(modelsDir)).toEqual(['same']);
    expect(await snapshot(path.join(modelsDir, 'same'))).toEqual(before);
  });
});

describe('replacing a folder (re-installing the built-in model)', () => {
  it('swaps in the new folder only when complete, and keeps the old one on a failure', async () => {
    const modelsDir = path.join(tmp, 'replace');
    await writeModelFolder(await copySpec(modelsDir, 'builtin'));
    const old = await snapshot(path.join(modelsDir, 'builtin'));
    const next = await copySpec(modelsDir, 'builtin');
    next.manifest = { ...next.manifest, name: 'new heads' };
    await expect(
      writeModelFolder({
        ...next,
        replace: true,
        onStage: (s) => {
          if (s === 'rename') throw new Error('injected');
        },
      }),
    ).rejects.toThrow('injected');
    expect(await snapshot(path.join(modelsDir, 'builtin'))).toEqual(old);
    expect(await fs.readdir(modelsDir)).toEqual(['builtin']);

    await writeModelFolder({ ...next, replace: true });
    expect((await readManifest(path.join(modelsDir, 'builtin'))).name).toBe('new heads');
    expect(await fs.readdir(modelsDir)).toEqual(['builtin']);
  });
});
