import { rawQuery } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { insertJobs, useStore } from './fixture.js';

/**
 * A database a later release has written to (opened again after a rollback: the store only
 * checks that its own migrations are recorded) may count jobs in a status this release does not
 * know. The counts answer with this release's statuses only, as the API's schema expects.
 */
describe.each(dialects())('store: jobCountByStatus on %s, with a status it does not know', (dialect) => {
  const fx = useStore(dialect);

  it('leaves a status it does not know out of the counts', async () => {
    await insertJobs(fx.store, 2);
    await rawQuery(fx.store, 'insert into job_counts (topic, status, n) values (?, ?, ?)', ['default', 'from-v9', 5]);
    try {
      expect(await fx.store.jobCountByStatus()).toEqual({ pending: 2, processing: 0, completed: 0, failed: 0 });
    } finally {
      await rawQuery(fx.store, 'delete from job_counts where status = ?', ['from-v9']);
    }
  });
});
