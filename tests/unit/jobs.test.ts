import { describe, expect, it } from 'vitest';
import { JobManager, KEEP_FINISHED } from '../../main/backend/jobs';

describe('JobManager over days', () => {
  it('keeps every running job and only the most recent finished ones (a long-running server starts thousands)', async () => {
    const jobs = new JobManager();
    let release: () => void = () => undefined;
    const long = jobs.start('train', 'Training', () => new Promise<void>((r) => (release = r)));
    const ids: string[] = [];
    for (let i = 0; i < KEEP_FINISHED + 50; i++) {
      const j = jobs.start('import', `Importing ${i}`, async () => i);
      ids.push(j.info.id);
      await j.done;
    }
    const list = jobs.list();
    expect(list).toHaveLength(KEEP_FINISHED + 1);
    expect(list.filter((j) => j.state === 'running').map((j) => j.id)).toEqual([long.info.id]);
    expect(list.filter((j) => j.kind === 'import').map((j) => j.id)).toEqual(ids.slice(-KEEP_FINISHED));
    expect(await jobs.result(ids.at(-1)!)).toBe(KEEP_FINISHED + 49);
    release();
    await long.done;
  });
});
