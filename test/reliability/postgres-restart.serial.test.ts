import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppFixture } from '../helpers/app.js';
import { enqueueThroughOutage } from '../helpers/outage.js';
import { prerequisite } from '../helpers/prerequisites.js';
import { report } from '../helpers/soak.js';
import { ThrowawayPostgres, throwawayPostgresMissing } from '../helpers/throwaway-postgres.js';
import { waitFor } from '../helpers/wait.js';

const missing = throwawayPostgresMissing();

/**
 * Stops and starts a PostgreSQL cluster of its own (made with initdb, removed afterwards), never
 * the machine's. It still runs in the serial group, after every other test file
 * (vitest.config.ts): it times the answers through the outage, and a second server is heavy on
 * a small machine.
 */
describe.skipIf(!prerequisite(missing === null, `the PostgreSQL restart test cannot run: ${missing}`))('PostgreSQL restart under load', () => {
  let cluster: ThrowawayPostgres | undefined;
  let fx: AppFixture;
  beforeAll(async () => {
    cluster = await ThrowawayPostgres.start();
    fx = new AppFixture('postgres', cluster.adminUrl);
  });
  // Stops the cluster and deletes it, however the test ended.
  afterAll(() => cluster?.remove());
  beforeEach(() => fx.setup());
  afterEach(async () => {
    if (!(await cluster!.answers())) {
      await cluster!.start().catch(() => undefined);
    }
    await fx.teardown();
  });

  it('the server stops mid-run and comes back: enqueues answer 503 meanwhile, then 200, without restarting the app; nothing acknowledged lost', async () => {
    const server = cluster!;
    let downForMs = 0;
    let engineRefusedInMs = 0;
    const figures = await enqueueThroughOutage(fx, async (scenario) => {
      const stopped = Date.now();
      await server.stop();
      try {
        expect(await server.answers()).toBe(false);
        const refusedBefore = scenario.refused();
        await waitFor('enqueues to be refused during the outage', () => scenario.refused() >= refusedBefore + 20, { timeout: 30_000 });
        // The HTTP answers above come from the token check, which reads the database first; the
        // engine itself must fail as clearly, and as fast.
        const asked = Date.now();
        await expect(scenario.app.jobs.enqueue('work', { during: 'outage' })).rejects.toMatchObject({ code: 'unavailable' });
        await expect(scenario.app.jobs.stats()).rejects.toMatchObject({ code: 'unavailable' });
        engineRefusedInMs = Date.now() - asked;
      } finally {
        await server.start();
        await waitFor('PostgreSQL to answer', () => server.answers(), { timeout: 60_000, interval: 100 });
        downForMs = Date.now() - stopped;
      }
    });
    report('pg-restart', 'postgres', { faults: 1, downForMs, engineRefusedInMs, ...figures, lost: 0 });
  });
});
