import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hfMaxLength } from '../../main/backend/catalog/huggingface';
import { importModel } from '../../main/backend/catalog/import';
import { resolveModelFolder } from '../../main/backend/catalog/resolve';
import { loadHeads } from '../../main/backend/model/heads-format';
import { generateHfClipFolder } from '../helpers/gen-encoders';

let root: string;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'ps-hf-reader-'));
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('the text length of a Hugging Face export', () => {
  it('is the smallest limit declared, ignoring "unset" markers; CLIP\'s 77 when none is declared', () => {
    expect(hfMaxLength({ positions: 77, modelMaxLength: 77 })).toBe(77);
    // The text model cannot take more than its position embeddings, whatever the tokenizer says.
    expect(hfMaxLength({ positions: 64, modelMaxLength: 77 })).toBe(64);
    expect(hfMaxLength({ positions: 77, modelMaxLength: 1e30, truncation: 32 })).toBe(32);
    expect(hfMaxLength({ modelMaxLength: 1e30 })).toBe(77);
    expect(hfMaxLength({ positions: 'x', modelMaxLength: 12.5, truncation: 1 })).toBe(77);
    expect(hfMaxLength({})).toBe(77);
  });
});

describe('one reader for importing and for loading in place', () => {
  it('gives the same manifest settings and the same identity heads either way', async () => {
    const src = await generateHfClipFolder(path.join(root, 'clip-64'), { embedDim: 16, size: 32, seed: 9 });
    // Position embeddings below the tokenizer's model_max_length (77): the two readers used to disagree here.
    const cfgFile = path.join(src, 'config.json');
    const cfg = JSON.parse(await fs.readFile(cfgFile, 'utf8')) as Record<string, unknown>;
    await fs.writeFile(cfgFile, JSON.stringify({ ...cfg, text_config: { max_position_embeddings: 64 } }));

    const inPlace = await resolveModelFolder(src);
    const imported = await importModel({ source: src, modelsDir: path.join(root, 'models') });
    expect(inPlace.layout).toBe('huggingface');
    expect(inPlace.manifest.text.maxLength).toBe(64);
    expect(imported.manifest.text.maxLength).toBe(64);
    for (const key of ['padId', 'output', 'outputKind', 'featureDim'] as const) expect(imported.manifest.text[key]).toEqual(inPlace.manifest.text[key]);
    expect(imported.manifest.image.preprocess).toEqual(inPlace.manifest.image.preprocess);
    expect(imported.manifest.embedDim).toBe(inPlace.manifest.embedDim);
    expect(imported.manifest.name).toBe(inPlace.manifest.name);

    // Same spec and seed: the adapter that retraining starts from is the same whichever way the folder came in.
    const saved = await loadHeads(path.join(imported.dir, imported.manifest.heads));
    const memory = inPlace.heads!;
    expect(saved.spec).toEqual(memory.spec);
    expect([...saved.weights.keys()]).toEqual([...memory.weights.keys()]);
    for (const [name, t] of memory.weights) expect(Array.from(saved.weights.get(name)!.data)).toEqual(Array.from(t.data));
  });

  it('names a broken config.json whichever way the folder is used', async () => {
    const src = await generateHfClipFolder(path.join(root, 'broken-config'), { embedDim: 16, size: 32 });
    await fs.writeFile(path.join(src, 'config.json'), '{ not json');
    const want = `${path.join(src, 'config.json')} is not valid JSON`;
    await expect(resolveModelFolder(src)).rejects.toThrow(want);
    await expect(importModel({ source: src, modelsDir: path.join(root, 'models-broken') })).rejects.toThrow(want);
  });
});
