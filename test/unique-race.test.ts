import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createJobs } from '@jobbase/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, dialects, type TestDatabase } from './helpers/databases.js';
import { waitFor } from './helpers/wait.js';

const script = fileURLToPath(new URL('./fixtures/unique-enqueuer.mjs', import.meta.url));

interface Tally {
  created: number;
  existing: number;
  replaced: number;
  ids: string[];
}

/** A unique-enqueuer.mjs child: `ready` once its engine is open, then its tally after `go`. */
function enqueuer(config: Record<string, unknown>) {
  const child = spawn(process.execPath, [script, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, JOBBASE_LOG_LEVEL: 'silent' },
  });
  const lines: string[] = [];
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (buffered + chunk).split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    child,
    exited,
    ready: () => waitFor(`process ${child.pid} ready`, () => lines.includes('ready'), { timeout: 30_000 }),
    go: () => child.stdin!.end('go\n'),
    tally: async (): Promise<Tally> => {
      expect(await exited).toBe(0);
      return JSON.parse(lines.find((l) => l.startsWith('{'))!) as Tally;
    },
  };
}

/**
 * The proof that the database, not a read before the insert, keeps a key unique:
 * 4 processes × 200 concurrent enqueues of one key make exactly one job.
 */
describe.each(dialects())('unique key race on %s', (dialect) => {
  let db: TestDatabase;
  let children: ReturnType<typeof enqueuer>[] = [];
  beforeEach(async () => {
    db = await createTestDatabase(dialect);
  });
  afterEach(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    children = [];
    await db.drop();
  });

  it('4 processes × 200 concurrent enqueues of the same key make exactly one job', { timeout: 120_000 }, async () => {
    // Migrated once here, so the children race on the enqueues, not on creating the schema.
    const jobs = await createJobs({ database: db.url });
    try {
      children = Array.from({ length: 4 }, () => enqueuer({ database: db.url, key: 'the-one', count: 200 }));
      await Promise.all(children.map((c) => c.ready()));
      for (const c of children) c.go();
      const tallies = await Promise.all(children.map((c) => c.tally()));

      expect(tallies.reduce((n, t) => n + t.created, 0)).toBe(1);
      expect(tallies.reduce((n, t) => n + t.created + t.existing, 0)).toBe(800);
      expect(tallies.every((t) => t.replaced === 0)).toBe(true);
      const ids = new Set(tallies.flatMap((t) => t.ids));
      expect(ids.size).toBe(1);
      const page = await jobs.list({ uniqueKey: 'the-one' });
      expect(page.total).toBe(1);
      expect(page.items[0]!.id).toBe([...ids][0]);
      expect((await jobs.stats()).total).toBe(1);
    } finally {
      await jobs.close();
    }
  });
});
