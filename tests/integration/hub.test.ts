import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { downloadFromHub, ENV_HUB_ENDPOINT, HF_CLIP_FILES, hubEndpoint, type HubProgress } from '../../main/backend/catalog/hub';
import { importModel } from '../../main/backend/catalog/import';
import { openModel } from '../../main/backend/catalog/open-model';
import { generateHfClipFolder } from '../helpers/gen-encoders';
import { startHubServer, type HubServer } from '../helpers/hub-server';

const REPO = 'test-owner/clip-small';
const QREPO = 'test-owner/clip-quantized';
let root: string;
let src: string;
let hub: HubServer;
let counter = 0;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'ps-hub-'));
  src = await generateHfClipFolder(path.join(root, 'src'), { embedDim: 32 });
  const qsrc = await generateHfClipFolder(path.join(root, 'qsrc'), { embedDim: 16, quantizedNames: true });
  hub = await startHubServer({ [REPO]: src, [QREPO]: qsrc });
});

afterEach(() => {
  hub.requests.length = 0;
  hub.dropOnce = null;
  hub.notFound = false;
  hub.wrongSize = null;
  hub.ignoreRange = false;
  hub.redirect = false;
});

afterAll(async () => {
  await hub.close();
  await fs.rm(root, { recursive: true, force: true });
});

function dest(): string {
  counter += 1;
  return path.join(root, `dl-${counter}`);
}

async function same(a: string, b: string): Promise<boolean> {
  return Buffer.compare(await fs.readFile(a), await fs.readFile(b)) === 0;
}

describe('downloadFromHub', () => {
  it('downloads the HF CLIP layout with progress events, byte for byte', async () => {
    const dir = dest();
    const events: HubProgress[] = [];
    const r = await downloadFromHub({ repo: REPO, files: HF_CLIP_FILES, destDir: dir, endpoint: hub.url, onProgress: (p) => events.push(p) });
    expect(r.files).toEqual({
      'config.json': 'config.json',
      'preprocessor_config.json': 'preprocessor_config.json',
      'tokenizer.json': 'tokenizer.json',
      'tokenizer_config.json': 'tokenizer_config.json',
      'onnx/text_model.onnx': 'onnx/text_model.onnx',
      'onnx/vision_model.onnx': 'onnx/vision_model.onnx',
    });
    for (const f of Object.values(r.files)) expect(await same(path.join(dir, f as string), path.join(src, f as string))).toBe(true);
    const size = (await fs.stat(path.join(src, 'onnx/vision_model.onnx'))).size;
    const vision = events.filter((e) => e.file === 'onnx/vision_model.onnx');
    expect(vision[vision.length - 1]).toEqual({ file: 'onnx/vision_model.onnx', received: size, total: size, index: 6, count: 6 });
    expect(vision[0].received).toBe(0);
    expect(hub.requests.map((q) => q.path)).toContain(`/${REPO}/resolve/main/onnx/vision_model.onnx`);
    // No .part files remain.
    expect((await fs.readdir(path.join(dir, 'onnx'))).sort()).toEqual(['text_model.onnx', 'vision_model.onnx']);
  });

  it('resumes after a dropped connection with a Range request', async () => {
    const dir = dest();
    hub.dropOnce = 'onnx/vision_model.onnx';
    await downloadFromHub({ repo: REPO, files: ['onnx/vision_model.onnx'], destDir: dir, endpoint: hub.url });
    const reqs = hub.requests.filter((q) => q.path.endsWith('vision_model.onnx'));
    expect(reqs.length).toBe(2);
    expect(reqs[0]).toMatchObject({ range: null, status: 200 });
    expect(reqs[1].range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(reqs[1].range as string)?.[0])).toBeGreaterThan(0);
    expect(reqs[1].status).toBe(206);
    expect(await same(path.join(dir, 'onnx/vision_model.onnx'), path.join(src, 'onnx/vision_model.onnx'))).toBe(true);
  });

  it('resumes a .part left by an earlier run, and starts over when the server ignores Range', async () => {
    const full = await fs.readFile(path.join(src, 'tokenizer.json'));
    const dir = dest();
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'tokenizer.json.part'), full.subarray(0, 100));
    await downloadFromHub({ repo: REPO, files: ['tokenizer.json'], destDir: dir, endpoint: hub.url });
    expect(hub.requests[0]).toMatchObject({ range: 'bytes=100-', status: 206 });
    expect(await same(path.join(dir, 'tokenizer.json'), path.join(src, 'tokenizer.json'))).toBe(true);

    hub.requests.length = 0;
    hub.ignoreRange = true;
    const dir2 = dest();
    await fs.mkdir(dir2, { recursive: true });
    await fs.writeFile(path.join(dir2, 'tokenizer.json.part'), full.subarray(0, 100));
    await downloadFromHub({ repo: REPO, files: ['tokenizer.json'], destDir: dir2, endpoint: hub.url });
    expect(hub.requests[0]).toMatchObject({ range: 'bytes=100-', status: 200 });
    expect(await same(path.join(dir2, 'tokenizer.json'), path.join(src, 'tokenizer.json'))).toBe(true);
  });

  it('follows the hub redirect to the CDN and checks x-linked-size and the sha256 in x-linked-etag', async () => {
    hub.redirect = true;
    const dir = dest();
    await downloadFromHub({ repo: REPO, files: ['onnx/text_model.onnx'], destDir: dir, endpoint: hub.url });
    expect(hub.requests.map((q) => q.status)).toEqual([302, 200]);
    expect(hub.requests[1].path).toBe(`/cdn/${REPO}/resolve/main/onnx/text_model.onnx`);
    expect(await same(path.join(dir, 'onnx/text_model.onnx'), path.join(src, 'onnx/text_model.onnx'))).toBe(true);
  });

  it('a size that disagrees with the announced one is an error and leaves no file', async () => {
    hub.wrongSize = 'onnx/text_model.onnx';
    const dir = dest();
    const err = await downloadFromHub({ repo: REPO, files: ['onnx/text_model.onnx'], destDir: dir, endpoint: hub.url }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^Downloaded onnx\/text_model\.onnx from test-owner\/clip-small has \d+ bytes but the hub announced \d+: the download is corrupt/);
    expect(await fs.readdir(path.join(dir, 'onnx'))).toEqual([]);
  });

  it('404 → "not found on the hub"; missing files fall back to the quantized names', async () => {
    const err = await downloadFromHub({ repo: 'nobody/nothing', files: HF_CLIP_FILES, destDir: dest(), endpoint: hub.url }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'not_found' });
    expect((err as Error).message).toBe(`Model nobody/nothing not found on the hub (${hub.url}). Check the name (OWNER/NAME); private and gated models are not supported.`);

    hub.notFound = true;
    await expect(downloadFromHub({ repo: REPO, files: ['config.json'], destDir: dest(), endpoint: hub.url })).rejects.toThrow(`Model ${REPO} not found on the hub`);
    hub.notFound = false;

    const dir = dest();
    const r = await downloadFromHub({ repo: QREPO, files: HF_CLIP_FILES, destDir: dir, endpoint: hub.url });
    expect(r.files['onnx/vision_model.onnx']).toBe('onnx/vision_model_quantized.onnx');
    expect(hub.requests.map((q) => [q.path.split('/resolve/main/')[1], q.status])).toContainEqual(['onnx/vision_model.onnx', 404]);

    await expect(downloadFromHub({ repo: QREPO, files: ['config.json', 'onnx/missing.onnx'], destDir: dest(), endpoint: hub.url })).rejects.toThrow(
      `Model ${QREPO} on the hub has no onnx/missing.onnx: it is not a Hugging Face / transformers.js CLIP ONNX export`,
    );
    await expect(downloadFromHub({ repo: 'no-slash', files: ['x'], destDir: dest(), endpoint: hub.url })).rejects.toThrow('"no-slash" is not a hub model name');
  });

  it('an unreachable hub says so; a server cutting every connection is "interrupted", resumable', async () => {
    // A port that was just free: connection refused.
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await expect(downloadFromHub({ repo: REPO, files: ['config.json'], destDir: dest(), endpoint: `http://127.0.0.1:${port}`, retries: 1 })).rejects.toThrow(
      `Cannot reach the model hub at http://127.0.0.1:${port}: check your connection (ECONNREFUSED).`,
    );

    // Headers promise the whole file, then the socket closes every time.
    const cutter = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(10), () => res.socket?.destroy());
    });
    await new Promise<void>((r) => cutter.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(cutter.address() as AddressInfo).port}`;
    try {
      const dir = dest();
      await expect(downloadFromHub({ repo: REPO, files: ['config.json'], destDir: dir, endpoint: url, retries: 1 })).rejects.toThrow(
        'Download of config.json from test-owner/clip-small was interrupted',
      );
      expect(await fs.readdir(dir)).toEqual(['config.json.part']);
    } finally {
      await new Promise<void>((r) => cutter.close(() => r()));
    }
  });

  it('cancels', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(downloadFromHub({ repo: REPO, files: ['config.json'], destDir: dest(), endpoint: hub.url, signal: ac.signal })).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('reads the endpoint from PHOTO_SEARCH_HF_ENDPOINT', () => {
    expect(hubEndpoint(undefined, {})).toBe('https://huggingface.co');
    expect(hubEndpoint(undefined, { [ENV_HUB_ENDPOINT]: 'http://127.0.0.1:9/' })).toBe('http://127.0.0.1:9');
    expect(hubEndpoint('http://x', { [ENV_HUB_ENDPOINT]: 'http://y' })).toBe('http://x');
  });
});

describe('importModel hf:OWNER/NAME', () => {
  it('downloads through PHOTO_SEARCH_HF_ENDPOINT, imports as the HF layout, and removes the cache', async () => {
    const modelsDir = path.join(root, 'models-hf');
    const old = process.env[ENV_HUB_ENDPOINT];
    process.env[ENV_HUB_ENDPOINT] = hub.url;
    hub.dropOnce = 'onnx/text_model.onnx';
    const stages: string[] = [];
    try {
      const r = await importModel({ source: `hf:${REPO}`, modelsDir, onProgress: (p) => stages.push(p.stage) });
      expect(r.id).toBe('clip-small');
      expect(r.manifest.source).toBe(`hf:${REPO}`);
      expect(r.manifest.name).toBe(REPO);
      expect(stages).toContain('Downloading onnx/vision_model.onnx (6 of 6)');
      expect(hub.requests.some((q) => q.path.endsWith('text_model.onnx') && q.range !== null)).toBe(true);
      expect(await fs.readdir(modelsDir)).toEqual(['clip-small']);
      const model = await openModel(r.dir);
      try {
        const [v] = await model.embedTexts(['a dog on the beach']);
        expect(v.length).toBe(32);
        expect(Math.hypot(...v)).toBeCloseTo(1, 5);
      } finally {
        await model.dispose();
      }
    } finally {
      if (old === undefined) delete process.env[ENV_HUB_ENDPOINT];
      else process.env[ENV_HUB_ENDPOINT] = old;
    }
  });

  it('a failed download leaves no model folder', async () => {
    const modelsDir = path.join(root, 'models-hf-404');
    await expect(importModel({ source: 'hf:nobody/nothing', modelsDir, endpoint: hub.url })).rejects.toThrow('Model nobody/nothing not found on the hub');
    const left = await fs.readdir(modelsDir);
    expect(left.filter((n) => !n.startsWith('.'))).toEqual([]);
  });
});
