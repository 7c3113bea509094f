import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppFixture } from '../helpers/app.js';
import { postgresAvailable } from '../helpers/databases.js';
import { enqueueThroughOutage } from '../helpers/outage.js';
import { terminateBackends } from '../helpers/postgres-admin.js';
import { report } from '../helpers/soak.js';
import { waitFor } from '../helpers/wait.js';

describe.skipIf(!postgresAvailable())('PostgreSQL connections killed under load', () => {
  const fx = new AppFixture('postgres');
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('pg_terminate_backend of every Jobbase connection, 3 times: 200 or a clear 503, recovery without a restart, nothing lost', async () => {
    const database = new URL(fx.db.url).pathname.slice(1);
    let terminated = 0;
    const figures = await enqueueThroughOutage(fx, async (scenario) => {
      for (let i = 0; i < 3; i++) {
        const ended = await terminateBackends(database);
        expect(ended).toBeGreaterThan(0);
        terminated += ended;
        const target = scenario.acknowledged() + 100;
        await waitFor('enqueues to go on after the kill', () => scenario.acknowledged() >= target, { timeout: 30_000 });
      }
    });
    report('pg-terminate-backend', 'postgres', { faults: 3, connectionsTerminated: terminated, ...figures, lost: 0 });
  });
});
