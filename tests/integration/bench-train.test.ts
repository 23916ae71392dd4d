import { describe, expect, it } from 'vitest';
import { benchTrain } from '../../bench/bench-train';

describe('benchTrain', () => {
  it('reports captions per second per epoch for the backends that start, and lists the others', async () => {
    const r = await benchTrain({ photos: 40, captionsPerPhoto: 2, imageInDim: 32, textInDim: 16, textLength: 4, embedDim: 16, epochs: 2, batchSize: 8, backends: ['tensorflow', 'cpu'] });
    expect(r.trainCaptions).toBe(36 * 2);
    // tfjs-node cannot install here; when it can, it must be measured instead of listed.
    const names = r.results.map((x) => x.backend);
    // Whether its native binding loads (an install without its binary resolves but cannot start).
    const tfjsNode = (() => {
      try {
        require('@tensorflow/tfjs-node');
        return true;
      } catch {
        return false;
      }
    })();
    expect(names).toEqual(tfjsNode ? ['tensorflow', 'cpu'] : ['cpu']);
    expect(r.unavailable).toEqual(tfjsNode ? [] : ['tensorflow']);
    const cpu = r.results.find((x) => x.backend === 'cpu');
    expect(cpu?.captionsPerSecByEpoch).toHaveLength(2);
    for (const v of cpu?.captionsPerSecByEpoch ?? []) expect(v).toBeGreaterThan(0);
    expect(cpu?.captionsPerSec).toBe(cpu?.captionsPerSecByEpoch[1]);
  });
});
