import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Jobs } from '@jobbase/server';
import { EngineFixture } from './helpers/engine.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Job ids are UUIDv7 made from a pool of random bytes (server/src/engine/job-ids.ts). */
describe('job ids', () => {
  const fx = new EngineFixture('sqlite');
  let jobs: Jobs;
  beforeEach(async () => {
    await fx.setup();
    jobs = await fx.open();
  });
  afterEach(() => fx.teardown());

  it('are UUIDv7, all different, in the order the jobs were made, within a millisecond too', async () => {
    const made = [];
    for (let round = 0; round < 4; round++) {
      made.push(...(await jobs.enqueueMany(Array.from({ length: 2_000 }, (_, n) => ({ topic: 't', payload: { n } })))));
      made.push(await jobs.enqueue('t', {}));
    }
    const ids = made.map((j) => j.id);
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect(new Set(ids).size).toBe(ids.length);
    // 2,000 ids take a few milliseconds at most: many share one, and still sort in order.
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    const millisecond = (id: string) => id.slice(0, 13);
    expect(new Set(ids.map(millisecond)).size).toBeLessThan(ids.length / 10);
    // The random part differs from one id to the next (the pool is not reused).
    expect(new Set(ids.map((id) => id.slice(-12))).size).toBe(ids.length);
  });
});
