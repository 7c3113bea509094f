import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { AppFixture } from '../helpers/app.js';
import { enqueueThroughOutage } from '../helpers/outage.js';
import { ensurePostgresUp, localCluster, pgctl, postgresUp } from '../helpers/postgres-admin.js';
import { report } from '../helpers/soak.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Stops and starts the machine's PostgreSQL, so it runs in the serial group, after every other
 * test file (vitest.config.ts): nothing else of this suite uses the server meanwhile.
 */
describe.skipIf(!inject('postgres') || !localCluster())('PostgreSQL restart under load', () => {
  const fx = new AppFixture('postgres');
  beforeEach(() => fx.setup());
  afterEach(async () => {
    await ensurePostgresUp();
    await fx.teardown();
  });
  afterAll(ensurePostgresUp);

  it('the server stops mid-run and comes back: enqueues answer 503 meanwhile, then 200, without restarting the app; nothing acknowledged lost', async () => {
    let downForMs = 0;
    let engineRefusedInMs = 0;
    const figures = await enqueueThroughOutage(fx, async (scenario) => {
      const stopped = Date.now();
      await pgctl('stop');
      try {
        const refusedBefore = scenario.refused();
        await waitFor('enqueues to be refused during the outage', () => scenario.refused() >= refusedBefore + 20, { timeout: 30_000 });
        // The HTTP answers above come from the token check, which reads the database first; the
        // engine itself must fail as clearly, and as fast.
        const asked = Date.now();
        await expect(scenario.app.jobs.enqueue('work', { during: 'outage' })).rejects.toMatchObject({ code: 'unavailable' });
        await expect(scenario.app.jobs.stats()).rejects.toMatchObject({ code: 'unavailable' });
        engineRefusedInMs = Date.now() - asked;
      } finally {
        await pgctl('start');
        await waitFor('PostgreSQL to answer', postgresUp, { timeout: 60_000, interval: 100 });
        downForMs = Date.now() - stopped;
      }
    });
    report('pg-restart', 'postgres', { faults: 1, downForMs, engineRefusedInMs, ...figures, lost: 0 });
  });
});
