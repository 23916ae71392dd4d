import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkModelId, newModelId, slug, takenModelIds, trainedModelId } from '../../main/backend/catalog/model-id';

let tmp: string;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ps-model-id-'));
});

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('the model id policy', () => {
  it('slugs names into folder-safe lowercase ids', () => {
    expect(slug('Holiday CLIP (retrained)')).toBe('holiday-clip-retrained');
    expect(slug('ViT-B-32__openai')).toBe('vit-b-32__openai');
    expect(slug('  ..Ünïcode!! ')).toBe('n-code');
    expect(slug('!!!')).toBe('model');
    expect(slug('a'.repeat(80))).toHaveLength(56);
    expect(slug('abc-def', 4)).toBe('abc');
  });

  it('numbers a taken name, and takes an explicit id only when valid and free', () => {
    const taken = new Set(['clip', 'clip-2']);
    expect(newModelId('CLIP', taken)).toBe('clip-3');
    expect(newModelId('other', taken)).toBe('other');
    expect(newModelId('x', taken, 'mine')).toBe('mine');
    expect(() => newModelId('x', taken, 'clip')).toThrow('A model with id "clip" already exists');
    expect(() => checkModelId('-lead')).toThrow('is not a valid model id');
    expect(() => checkModelId('a'.repeat(65))).toThrow('is not a valid model id');
    expect(() => checkModelId('a'.repeat(64))).not.toThrow();
  });

  it('gives trained versions the name plus the time, never an id already taken', () => {
    const now = new Date('2026-12-02T01:02:03Z');
    const id = trainedModelId('My Flickr', new Set(), undefined, now);
    expect(id).toMatch(/^my-flickr-20261202010203-[0-9a-f]{4}$/);
    expect(id.length).toBeLessThanOrEqual(64);
    expect(trainedModelId('x'.repeat(100), new Set(), undefined, now)).toMatch(/^x{36}-20261202010203-[0-9a-f]{4}$/);
    expect(trainedModelId('ignored', new Set(), 'staged')).toBe('staged');
  });

  it('counts the folders in the models folder and the registry ids as taken', async () => {
    const modelsDir = path.join(tmp, 'models');
    await fs.mkdir(path.join(modelsDir, 'some-folder'), { recursive: true });
    const taken = await takenModelIds(modelsDir, ['elsewhere']);
    expect(taken.has('some-folder')).toBe(true);
    expect(taken.has('elsewhere')).toBe(true);
  });
});
