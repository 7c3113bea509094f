import { openStore, rawQuery, type JobChange, type Store } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, dialects } from '../helpers/databases.js';
import { waitFor } from '../helpers/wait.js';
import { insertJobs, jobParams, useStore } from './fixture.js';
import { undoOperations } from './undo-operations.js';

/** Collects what the change feed reports, until stopped. */
async function collectChanges(store: Store) {
  const changes: JobChange[] = [];
  const stop = await store.listenForChanges({ onChanges: (c) => changes.push(...c), onGap: () => undefined });
  return { changes, stop };
}

/** Claims `n` jobs of `default` with a minute's lock, as a worker would. */
function claim(store: Store, n: number) {
  return store.jobClaim({ topics: ['default'], limit: n, lockDuration: 60_000 });
}

describe.each(dialects())('store: bulk cancel and cancelled jobs in bulk actions on %s', (dialect) => {
  const fx = useStore(dialect);

  it('a cancel chunk cancels pending jobs, marks processing ones once, and leaves finished ones and other topics', async () => {
    await insertJobs(fx.store, 6);
    const other = await fx.store.jobInsert(jobParams({ topic: 'other' }));
    const [running, done] = await claim(fx.store, 2);
    await fx.store.jobCompleteMany([{ id: done!.id, lockToken: done!.lockToken }]);
    const filter = { topic: 'default', statuses: ['pending' as const, 'processing' as const] };
    expect(await fx.store.jobCountMatching(filter)).toBe(5);

    let changed = 0;
    const marked: string[] = [];
    let after;
    for (;;) {
      const result = await fx.store.jobCancelChunk({ filter, limit: 2, after });
      changed += result.changed;
      marked.push(...result.marked);
      if (!result.cursor) break;
      after = result.cursor;
    }
    expect(changed).toBe(5);
    expect(marked).toEqual([running!.id]);
    expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 1, processing: 1, completed: 1, cancelled: 4 });
    expect((await fx.store.jobGet(running!.id))!.cancelRequested).toBe(true);
    expect((await fx.store.jobGet(other.id))!.status).toBe('pending');

    // Marked already: not counted again.
    const again = await fx.store.jobCancelChunk({ filter, limit: 10 });
    expect(again).toMatchObject({ changed: 0, marked: [] });

    // Its handler settles, however: the job ends cancelled, never retried.
    await fx.store.jobFail({ id: running!.id, lockToken: running!.lockToken, error: 'aborted' });
    expect((await fx.store.jobGet(running!.id))!.status).toBe('cancelled');
  });

  it('a cancel chunk given only pending marks no processing job; a keyed job keeps its key when cancelled is one of its states', async () => {
    await insertJobs(fx.store, 1);
    const [running] = await claim(fx.store, 1);
    const keeps = await fx.store.jobInsertUnique({ ...jobParams(), unique: { key: 'k', states: ['pending', 'cancelled'], onConflict: 'existing' } });
    const leaves = await fx.store.jobInsertUnique({ ...jobParams(), unique: { key: 'q', states: ['pending'], onConflict: 'existing' } });
    const result = await fx.store.jobCancelChunk({ filter: { statuses: ['pending'] }, limit: 10 });
    expect(result).toMatchObject({ changed: 2, marked: [] });
    expect((await fx.store.jobGet(running!.id))!.cancelRequested).toBe(false);
    const slot = async (id: string) => (await rawQuery(fx.store, 'select unique_slot from jobs where id = ?', [id]))[0]!.unique_slot;
    expect(await slot(keeps.job.id)).toBe('k');
    expect(await slot(leaves.job.id)).toBeNull();
  });

  it('bulk requeue takes cancelled jobs too, clearing their cancel mark, result and progress; bulk delete takes them', async () => {
    await insertJobs(fx.store, 3);
    const [a, b] = await claim(fx.store, 2);
    await fx.store.jobSetProgress({ id: a!.id, lockToken: a!.lockToken, progressJson: '{"done":5}' });
    await fx.store.jobCancel(a!.id);
    await fx.store.jobFail({ id: a!.id, lockToken: a!.lockToken, error: 'aborted' });
    await fx.store.jobFail({ id: b!.id, lockToken: b!.lockToken, error: 'boom' });
    expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 1, failed: 1, cancelled: 1 });

    const onlyCancelled = await fx.store.jobRequeueChunk({ filter: { statuses: ['cancelled'] }, limit: 10 });
    expect(onlyCancelled.changed).toBe(1);
    const requeued = (await fx.store.jobGet(a!.id))!;
    expect(requeued).toMatchObject({ status: 'pending', cancelRequested: false, progress: null, retries: 0 });
    expect(await fx.store.jobCountByStatus()).toMatchObject({ pending: 2, failed: 1, cancelled: 0 });

    await fx.store.jobCancel(a!.id);
    const deleted = await fx.store.jobDeleteChunk({ filter: { statuses: ['cancelled'] }, limit: 10 });
    expect(deleted.changed).toBe(1);
    expect(await fx.store.jobGet(a!.id)).toBeNull();
  });

  it('the change feed reports progress writes and cancels from every connection, and nothing for a heartbeat', async () => {
    const feed = await collectChanges(fx.store);
    const other = await fx.openAnother();
    try {
      const [a, b] = await insertJobs(other, 2);
      const claimed = await claim(other, 2);
      const held = (id: string) => claimed.find((j) => j.id === id)!;
      await other.jobSetProgress({ id: a!.id, lockToken: held(a!.id).lockToken, progressJson: '{"done":1}' });
      await other.jobHeartbeatMany([{ id: a!.id, lockToken: held(a!.id).lockToken, lockedUntil: new Date(Date.now() + 120_000) }]);
      // The same value again changes nothing: no event.
      await other.jobSetProgress({ id: a!.id, lockToken: held(a!.id).lockToken, progressJson: '{"done":1}' });
      await other.jobSetProgress({ id: a!.id, lockToken: held(a!.id).lockToken, progressJson: '{"done":2}' });
      await other.jobCancel(a!.id);
      await other.jobFail({ id: a!.id, lockToken: held(a!.id).lockToken, error: 'aborted' });
      await other.jobCompleteMany([{ id: b!.id, lockToken: held(b!.id).lockToken }]);
      await waitFor('the feed to hear b complete', () => feed.changes.some((c) => c.id === b!.id && c.type === 'completed'));
      await waitFor('the feed to hear a cancelled', () => feed.changes.some((c) => c.id === a!.id && c.type === 'cancelled'));
      const types = (id: string) => feed.changes.filter((e) => e.id === id).map((e) => e.type);
      expect(types(a!.id)).toEqual(['created', 'started', 'progress', 'progress', 'cancelled']);
      expect(types(b!.id)).toEqual(['created', 'started', 'completed']);
      expect(feed.changes.find((c) => c.type === 'progress')).toMatchObject({ id: a!.id, topic: 'default', status: 'processing' });
    } finally {
      await feed.stop();
    }
  });
});

describe.each(dialects())('store: the change feed’s progress on a database of the release before, on %s', (dialect) => {
  it('upgraded in place, progress writes and cancels reach the feed', async () => {
    const db = await createTestDatabase(dialect);
    try {
      const old = await openStore(db.url);
      const name = await undoOperations(old);
      await old.close();
      const upgraded = await openStore(db.url);
      try {
        expect(upgraded.opening.migrationsApplied).toEqual([name]);
        const feed = await collectChanges(upgraded);
        const [job] = await insertJobs(upgraded, 1);
        const [held] = await claim(upgraded, 1);
        await upgraded.jobSetProgress({ id: job!.id, lockToken: held!.lockToken, progressJson: '"half"' });
        await upgraded.jobCancel(job!.id);
        await upgraded.jobFail({ id: job!.id, lockToken: held!.lockToken, error: 'aborted' });
        await waitFor('progress then cancelled on the feed', () => feed.changes.some((c) => c.type === 'cancelled'));
        expect(feed.changes.map((c) => c.type)).toEqual(['created', 'started', 'progress', 'cancelled']);
        await feed.stop();
      } finally {
        await upgraded.close();
      }
    } finally {
      await db.drop();
    }
  });
});
