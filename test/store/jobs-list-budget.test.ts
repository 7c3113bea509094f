import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { insertJobs, useStore } from './fixture.js';

/**
 * jobList's payload budget and its page without payloads, on each dialect: the bytes measured
 * are those of each payload's UTF-8 JSON text, and a page over the budget reads no payload.
 */
describe.each(dialects())('store: jobList payload budget on %s', (dialect) => {
  const fx = useStore(dialect);

  /** Four jobs whose payloads are JSON strings of exactly 100 bytes (2-byte characters in quotes). */
  async function fourJobs(): Promise<string[]> {
    const made = await insertJobs(fx.store, 4, (i) => ({ payload: `${'é'.repeat(48)}${i}${i}` }));
    return made.map((j) => j.id).reverse();
  }

  it('a page whose payloads take exactly the budget is read whole; one byte less is over it, and nothing is read', async () => {
    const ids = await fourJobs();
    const whole = await fx.store.jobList({ limit: 10, offset: 0, payloadBudget: 400 });
    expect(whole.overBudget).toBeUndefined();
    expect(whole.items.map((j) => j.id)).toEqual(ids);
    expect(whole.items.map((j) => j.payload)).toEqual([3, 2, 1, 0].map((i) => `${'é'.repeat(48)}${i}${i}`));
    expect(await fx.store.jobList({ limit: 10, offset: 0, payloadBudget: 399 })).toEqual({ items: [], total: 4, overBudget: true });
    // Only the page counts: three of the four, from either end of the list.
    expect((await fx.store.jobList({ limit: 3, offset: 0, payloadBudget: 300 })).items.map((j) => j.id)).toEqual(ids.slice(0, 3));
    expect((await fx.store.jobList({ limit: 3, offset: 1, payloadBudget: 300 })).items.map((j) => j.id)).toEqual(ids.slice(1));
    expect(await fx.store.jobList({ limit: 3, offset: 1, payloadBudget: 299 })).toMatchObject({ items: [], overBudget: true });
    expect(await fx.store.jobList({ status: 'pending', limit: 2, offset: 2, payloadBudget: 199 })).toMatchObject({ overBudget: true });
  });

  it('payloads: false reads every other field and no payload, whatever the budget', async () => {
    const ids = await fourJobs();
    for (const payloadBudget of [undefined, 1]) {
      const page = await fx.store.jobList({ limit: 10, offset: 0, payloads: false, payloadBudget });
      expect(page.overBudget).toBeUndefined();
      expect(page.items.map((j) => j.id)).toEqual(ids);
      for (const item of page.items) {
        const { payload, result, progress, ...rest } = (await fx.store.jobGet(item.id))!;
        expect(payload).toEqual(expect.any(String));
        // Result and progress are left out with the payload.
        expect([result, progress]).toEqual([null, null]);
        expect(item).toEqual({ ...rest, payload: undefined, result: undefined, progress: undefined });
      }
    }
  });

  it('without a budget every page is read, as before', async () => {
    const ids = await fourJobs();
    const page = await fx.store.jobList({ limit: 10, offset: 0 });
    expect(page).toEqual({ items: await Promise.all(ids.map(async (id) => (await fx.store.jobGet(id))!)), total: 4 });
  });
});
