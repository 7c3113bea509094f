import { rawQuery } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { jobParams, useStore } from './fixture.js';

/**
 * A statement the database refuses is the caller's error, not an outage: it surfaces as the
 * driver's own error (the engine and the HTTP layer tell a 4xx or a 500 from a 503 by `code`),
 * at once, rather than as `unavailable` after waiting.
 */
describe.each(dialects())('store: refused statements on %s', (dialect) => {
  const fx = useStore(dialect);

  const notUnavailable = (err: unknown) => {
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: unknown }).code).toBeDefined();
    expect((err as { code?: unknown }).code).not.toBe('unavailable');
    return true;
  };

  it('an SQL error comes back as the driver’s error, not unavailable', async () => {
    const started = Date.now();
    const err = await rawQuery(fx.store, 'select * from no_such_table').catch((e: unknown) => e);
    expect(notUnavailable(err)).toBe(true);
    expect((err as Error).message).toContain('no_such_table');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a constraint the insert breaks (an id already stored) comes back as the driver’s error, not unavailable', async () => {
    const first = await fx.store.jobInsert(jobParams());
    const err = await fx.store.jobInsert(jobParams({ id: first.id })).catch((e: unknown) => e);
    expect(notUnavailable(err)).toBe(true);
    const many = await fx.store.jobInsertMany([jobParams(), jobParams({ id: first.id })]).catch((e: unknown) => e);
    expect(notUnavailable(many)).toBe(true);
  });
});
