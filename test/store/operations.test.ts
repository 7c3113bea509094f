import { openStore, rawQuery, type JobChange, type Store } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, dialects } from '../helpers/databases.js';
import { waitFor } from '../helpers/wait.js';
import { insertJobs, jobParams, minutesAgo, minutesFromNow, useStore } from './fixture.js';
import { undoOperations } from './undo-operations.js';

/** Claims `n` jobs of `default` and fails them for good, through the store as a worker would. */
async function failJobs(store: Store, n: number): Promise<void> {
  const claimed = await store.jobClaim({ topics: ['default'], limit: n, lockDuration: 60_000 });
  for (const job of claimed) await store.jobFail({ id: job.id, lockToken: job.lockToken, error: 'boom' });
}

/** Collects what the change feed reports, until stopped. */
async function collectChanges(store: Store) {
  const changes: JobChange[] = [];
  let gaps = 0;
  const stop = await store.listenForChanges({ onChanges: (c) => changes.push(...c), onGap: () => gaps++ });
  return { changes, gaps: () => gaps, stop };
}

describe.each(dialects())('store: operations on %s', (dialect) => {
  const fx = useStore(dialect);

  it('stores the trace context given at insert, and reads it back with the job (claim included)', async () => {
    const traceContext = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const [single] = [await fx.store.jobInsert(jobParams({ traceContext }))];
    const [many] = await insertJobs(fx.store, 1, () => ({ traceContext, topic: 'other' }));
    const plain = await fx.store.jobInsert(jobParams({ topic: 'plain' }));
    expect(single!.traceContext).toBe(traceContext);
    expect(many!.traceContext).toBe(traceContext);
    expect((await fx.store.jobGet(many!.id))!.traceContext).toBe(traceContext);
    expect(plain.traceContext).toBeNull();
    const [claimed] = await fx.store.jobClaim({ topics: ['default'], limit: 1, lockDuration: 60_000 });
    expect(claimed!.traceContext).toBe(traceContext);
  });

  it('counts by topic and status from the kept counts, and finds when each topic’s next job became due', async () => {
    await insertJobs(fx.store, 3, (i) => ({ topic: i === 0 ? 'a' : 'b', runAt: minutesAgo(i + 1) }));
    await fx.store.jobInsert(jobParams({ topic: 'c', runAt: minutesFromNow(5) }));
    const counts = await fx.store.jobCountByTopicAndStatus();
    expect(counts.sort((x, y) => x.topic.localeCompare(y.topic))).toEqual([
      { topic: 'a', status: 'pending', n: 1 },
      { topic: 'b', status: 'pending', n: 2 },
      { topic: 'c', status: 'pending', n: 1 },
    ]);
    const due = await fx.store.jobNextDueByTopic(['a', 'b', 'c'], new Date());
    expect([...due.keys()].sort()).toEqual(['a', 'b']);
    // b's jobs were due 2 and 3 minutes ago: the claim takes the older first.
    expect(Math.round((Date.now() - due.get('b')!.getTime()) / 60_000)).toBe(3);
  });

  it('bulk requeue walks its chunks to the end, only failed jobs of the filter, and a dry run counts without changing', async () => {
    await insertJobs(fx.store, 7);
    await failJobs(fx.store, 5);
    await fx.store.jobInsert(jobParams({ topic: 'elsewhere' }));
    const filter = { statuses: ['failed' as const], topic: 'default' };
    expect(await fx.store.jobCountMatching(filter)).toBe(5);
    let changed = 0;
    let after;
    let chunks = 0;
    for (;;) {
      const result = await fx.store.jobRequeueChunk({ filter, limit: 2, after });
      changed += result.changed;
      chunks++;
      if (!result.cursor) break;
      after = result.cursor;
    }
    expect(changed).toBe(5);
    expect(chunks).toBe(4); // 2 + 2 + 1, then an empty chunk ends the walk
    expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 8, failed: 0 });
  });

  it('bulk requeue leaves a job whose unique key another job holds, and requeues the rest of its chunk', async () => {
    const keyed = await fx.store.jobInsertUnique({ ...jobParams(), unique: { key: 'k', states: ['pending', 'failed'], onConflict: 'existing' } });
    await failJobs(fx.store, 1);
    await fx.store.jobInsert(jobParams());
    await failJobs(fx.store, 1);
    // The keyed job lets go of its key (as if its states had left out failed) and a new job takes it.
    await rawQuery(fx.store, 'update jobs set unique_slot = null where id = ?', [keyed.job.id]);
    await fx.store.jobInsertUnique({ ...jobParams({ topic: 'holder' }), unique: { key: 'k', states: ['pending'], onConflict: 'existing' } });
    const result = await fx.store.jobRequeueChunk({ filter: { statuses: ['failed'] }, limit: 10 });
    expect(result.changed).toBe(1);
    expect((await fx.store.jobGet(keyed.job.id))!.status).toBe('failed');
  });

  it('bulk delete takes only the statuses it is given and the time range', async () => {
    const old = await insertJobs(fx.store, 3);
    const cutoff = new Date(Date.now() + 5);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await insertJobs(fx.store, 2);
    await failJobs(fx.store, 1); // the oldest job
    const filter = { statuses: ['pending' as const], createdBefore: cutoff };
    expect(await fx.store.jobCountMatching(filter)).toBe(2);
    const result = await fx.store.jobDeleteChunk({ filter, limit: 100 });
    expect(result.changed).toBe(2);
    expect(await fx.store.jobGet(old[0]!.id)).not.toBeNull(); // failed, not taken
    expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 2, failed: 1 });
  });

  it('the change feed reports what every connection does: created, started, completed, failed, retried, requeued, deleted', async () => {
    const feed = await collectChanges(fx.store);
    const other = await fx.openAnother();
    try {
      const [a, b, c] = await insertJobs(other, 3);
      const claimed = await other.jobClaim({ topics: ['default'], limit: 3, lockDuration: 60_000 });
      const held = (id: string) => claimed.find((j) => j.id === id)!;
      await other.jobCompleteMany([{ id: a!.id, lockToken: held(a!.id).lockToken }]);
      await other.jobFail({ id: b!.id, lockToken: held(b!.id).lockToken, error: 'x' });
      await other.jobRetry({ id: c!.id, lockToken: held(c!.id).lockToken, error: 'x', runAt: new Date() });
      await other.jobRequeue(b!.id);
      await other.jobDelete(c!.id);
      const types = (id: string) => feed.changes.filter((e) => e.id === id).map((e) => e.type);
      await waitFor('the feed to hear every change', () => feed.changes.length >= 11);
      expect(types(a!.id)).toEqual(['created', 'started', 'completed']);
      expect(types(b!.id)).toEqual(['created', 'started', 'failed', 'requeued']);
      expect(types(c!.id)).toEqual(['created', 'started', 'retried', 'deleted']);
      expect(feed.changes.find((e) => e.id === a!.id && e.type === 'completed')).toMatchObject({ topic: 'default', status: 'completed' });
      expect(feed.gaps()).toBe(0);
    } finally {
      await feed.stop();
    }
  });
});

describe.each(dialects())('store: the change feed’s batches on %s', (dialect) => {
  const fx = useStore(dialect);

  it('carries any topic: 300 jobs of 255-character topics that escape to 1.5 KB of JSON each, in one statement, all reported', async () => {
    const feed = await collectChanges(fx.store);
    try {
      const topic = (i: number) => `${'\u0001'.repeat(250)}${String(i).padStart(5, '0')}`;
      const jobs = await insertJobs(fx.store, 300, (i) => ({ topic: topic(i) }));
      await fx.store.jobDeleteChunk({ filter: { statuses: ['pending'] }, limit: 300 });
      await waitFor('every insert and delete', () => feed.changes.length === 600);
      expect(feed.changes.slice(0, 300).map((c) => [c.type, c.id, c.topic])).toEqual(jobs.map((j, i) => ['created', j.id, topic(i)]));
      expect(new Set(feed.changes.slice(300).map((c) => c.type))).toEqual(new Set(['deleted']));
    } finally {
      await feed.stop();
    }
  });
});

describe.each(dialects())('store: the change feed’s gaps on %s', (dialect) => {
  const fx = useStore(dialect);

  it('says when changes may have been missed: SQLite’s table moved past the reader, PostgreSQL’s LISTEN connection dropped', async () => {
    const feed = await collectChanges(fx.store);
    try {
      if (dialect === 'sqlite') {
        // One synchronous transaction writes more changes than the table keeps (it prunes every
        // 1,000) before the reader's next look.
        await insertJobs(fx.store, 11_050);
      } else {
        await rawQuery(fx.store, `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'jobbase-listener' and datname = current_database()`);
      }
      await waitFor('a gap', () => feed.gaps() > 0);
      if (dialect === 'sqlite') expect(feed.changes.length).toBe(10_050);
    } finally {
      await feed.stop();
    }
  });
});

describe.each(dialects())('store: operations migration on %s', (dialect) => {
  it('a database of the release before is upgraded in place: its jobs get no trace context, and the feed starts', async () => {
    const db = await createTestDatabase(dialect);
    try {
      const old = await openStore(db.url);
      const name = await undoOperations(old);
      const id = '01900000-0000-7000-8000-000000000001';
      const now = new Date().toISOString();
      await rawQuery(
        old,
        `insert into jobs (id, topic, payload, status, run_at, retries, max_retries, created, updated) values (?, 'old', '{}', 'pending', ?, 0, 3, ?, ?)`,
        [id, now, now, now],
      );
      await old.close();

      const upgraded = await openStore(db.url);
      try {
        expect(upgraded.opening.migrationsApplied).toEqual([name]);
        expect((await upgraded.jobGet(id))!.traceContext).toBeNull();
        const feed = await collectChanges(upgraded);
        await upgraded.jobDelete(id);
        await waitFor('the delete on the feed', () => feed.changes.some((c) => c.id === id && c.type === 'deleted'));
        await feed.stop();
      } finally {
        await upgraded.close();
      }
    } finally {
      await db.drop();
    }
  });
});

describe.each(dialects().filter((d) => d === 'postgres'))('store: no JIT in what runs inside the claim on %s', (dialect) => {
  const fx = useStore(dialect);

  it('the claim and the triggers it fires run with jit off, whatever the server’s jit_above_cost', async () => {
    // Inside the claim (enable_sort = off) a trigger's sort is priced at 10^10: with JIT on,
    // PostgreSQL compiled the feed's query on every claim (200–250 ms a statement).
    const rows = await rawQuery(
      fx.store,
      `select proname, proconfig from pg_proc
       where proname in ('jobbase_claim', 'jobbase_notify_changes', 'jobbase_count_changes') order by proname`,
    );
    expect(rows.map((r) => r.proname)).toEqual(['jobbase_claim', 'jobbase_count_changes', 'jobbase_notify_changes']);
    for (const row of rows) expect(row.proconfig, String(row.proname)).toContain('jit=off');
  });
});
