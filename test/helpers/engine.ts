import { afterEach, beforeEach } from 'vitest';
import { createJobs, type Jobs, type JobsOptions } from '@jobbase/server';
import { createTestDatabase, type Dialect, type TestDatabase } from './databases.js';

/** Engines opened by a test, closed (and their databases dropped) after it. */
export class EngineFixture {
  readonly engines: Jobs[] = [];
  db!: TestDatabase;

  constructor(readonly dialect: Dialect) {}

  async setup(): Promise<void> {
    this.db = await createTestDatabase(this.dialect);
  }

  /** A new engine on this test's database; fast polling and backoff unless overridden. */
  async open(options: JobsOptions = {}): Promise<Jobs> {
    const jobs = await createJobs({
      database: this.db.url,
      pollInterval: 100,
      backoff: { base: 20, max: 100 },
      shutdownTimeout: 2_000,
      ...options,
    });
    this.engines.push(jobs);
    return jobs;
  }

  async teardown(): Promise<void> {
    await Promise.all(this.engines.splice(0).map((j) => j.close().catch(() => undefined)));
    await this.db.drop();
  }
}

/**
 * For a describe block whose tests start child processes: a new database before each test;
 * after it, every process in `processes` killed, then the engines closed and the database
 * dropped. Push each process a test starts into `processes`.
 */
export function engineWithProcesses<P extends { kill9(): Promise<unknown> }>(dialect: Dialect): { fx: EngineFixture; processes: P[] } {
  const fx = new EngineFixture(dialect);
  const processes: P[] = [];
  beforeEach(() => fx.setup());
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.kill9()));
    await fx.teardown();
  });
  return { fx, processes };
}
