import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { countedByStatus, insertJobs, jobCount, jobParams, jobRow, unknownId, useStore } from './fixture.js';

describe.each(dialects())('store: jobInsert, jobInsertMany, jobGet on %s', (dialect) => {
  const fx = useStore(dialect);

  it('jobInsert returns the stored record: pending, retries 0, payload decoded, times to the ms', async () => {
    const params = jobParams({
      topic: 'send_email',
      payload: { to: 'a@b.c', tags: ['x', 'y'], n: 1.5, nested: { ok: true, none: null } },
      runAt: new Date('2031-05-06T07:08:09.123Z'),
      maxRetries: 5,
      priority: -7,
    });
    const before = Date.now();
    const record = await fx.store.jobInsert(params);
    const after = Date.now();

    expect(record).toEqual({
      id: params.id,
      topic: 'send_email',
      payload: { to: 'a@b.c', tags: ['x', 'y'], n: 1.5, nested: { ok: true, none: null } },
      status: 'pending',
      runAt: new Date('2031-05-06T07:08:09.123Z'),
      retries: 0,
      maxRetries: 5,
      lastError: null,
      priority: -7,
      snoozes: 0,
      cancelRequested: false,
      result: null,
      progress: null,
      uniqueKey: null,
      uniqueStates: null,
      scheduleName: null,
      scheduleTick: null,
      created: expect.any(Date),
      updated: expect.any(Date),
      traceContext: null,
    });
    expect(record.created.getTime()).toBeGreaterThanOrEqual(before);
    expect(record.created.getTime()).toBeLessThanOrEqual(after);
    expect(record.updated).toEqual(record.created);
    expect(await fx.store.jobGet(params.id)).toEqual(record);
    expect(await jobRow(fx.store, params.id)).toMatchObject({ lockToken: null, lockedUntil: null });
  });

  it('payloads of every JSON kind come back as they went in, from both inserts', async () => {
    const payloads = [
      {},
      [],
      [1, 'two', null],
      'text with "quotes", \\backslashes\\, {braces} and ünïcødé ✓',
      { 'key "quoted"': '\\', '{}': [',', '"'] },
      0,
      -12.25,
      true,
      false,
      null,
      { a: { b: { c: [{}] } } },
    ];
    const single = await Promise.all(payloads.map((payload) => fx.store.jobInsert(jobParams({ payload }))));
    const many = await fx.store.jobInsertMany(payloads.map((payload) => jobParams({ payload })));
    for (const records of [single, many]) {
      expect(records.map((r) => r.payload)).toEqual(payloads);
      for (const r of records) expect((await fx.store.jobGet(r.id))!.payload).toEqual(r.payload);
    }
  });

  it('run_at at the ends of years 1..9999 round-trips to the ms', async () => {
    const times = [
      '0001-01-01T00:00:00.000Z',
      '0099-12-31T00:00:00.500Z',
      '1969-12-31T23:59:59.999Z',
      '9999-12-31T23:59:59.999Z',
    ];
    for (const time of times) {
      const job = await fx.store.jobInsert(jobParams({ runAt: new Date(time) }));
      expect(job.runAt.toISOString()).toBe(time);
      expect((await fx.store.jobGet(job.id))!.runAt.toISOString()).toBe(time);
    }
    const [many] = await fx.store.jobInsertMany([jobParams({ runAt: new Date(times[0]!) })]);
    expect((await fx.store.jobGet(many!.id))!.runAt.toISOString()).toBe(times[0]);
  });

  // PostgreSQL's driver writes a Date in the process's local time; before 1900 many zones had
  // offsets in seconds (Paris: +00:09:21), which that text cannot carry.
  it('run_at round-trips whatever the process time zone', async () => {
    const zone = process.env.TZ;
    process.env.TZ = 'Europe/Paris';
    try {
      const times = ['0001-01-01T00:00:00.000Z', '1850-06-01T12:00:00.250Z', '2030-06-01T00:00:00.000Z'];
      const single = await Promise.all(times.map((t) => fx.store.jobInsert(jobParams({ runAt: new Date(t) }))));
      const many = await fx.store.jobInsertMany(times.map((t) => jobParams({ runAt: new Date(t) })));
      for (const job of [...single, ...many]) {
        expect((await fx.store.jobGet(job.id))!.runAt).toEqual(job.runAt);
      }
      expect(single.map((j) => j.runAt.toISOString())).toEqual(times);
      expect(many.map((j) => j.runAt.toISOString())).toEqual(times);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('jobInsert of an id already stored throws and leaves the stored job as it was', async () => {
    const first = await fx.store.jobInsert(jobParams({ topic: 'a', payload: 1 }));
    await expect(fx.store.jobInsert(jobParams({ id: first.id, topic: 'b', payload: 2 }))).rejects.toThrow();
    expect(await fx.store.jobGet(first.id)).toEqual(first);
    expect(await fx.store.jobCountByStatus()).toEqual({ pending: 1, processing: 0, completed: 0, failed: 0, cancelled: 0 });
  });

  it('jobGet of an unknown id is null', async () => {
    expect(await fx.store.jobGet(unknownId())).toBeNull();
  });

  it('jobInsertMany returns the records in the order given, each as stored', async () => {
    // Ids (time-ordered uuid v7) given out of order, so an answer sorted by id shows.
    const made = [0, 1, 2, 3, 4].map((i) =>
      jobParams({ topic: `t${i}`, payload: { i }, runAt: new Date(Date.UTC(2030, 0, 1, 0, 0, 0, i)), maxRetries: i }),
    );
    const params = [2, 0, 4, 1, 3].map((i) => made[i]!);
    const before = Date.now();
    const records = await fx.store.jobInsertMany(params);
    const after = Date.now();

    expect(records.map((r) => r.id)).toEqual(params.map((p) => p.id));
    records.forEach((r, i) => {
      const p = params[i]!;
      expect(r).toMatchObject({ topic: p.topic, payload: JSON.parse(p.payloadJson), runAt: p.runAt });
      expect(r.maxRetries).toBe(p.maxRetries);
      expect(r).toMatchObject({ status: 'pending', retries: 0, lastError: null });
      expect(r.created.getTime()).toBeGreaterThanOrEqual(before);
      expect(r.created.getTime()).toBeLessThanOrEqual(after);
    });
    for (const r of records) expect(await fx.store.jobGet(r.id)).toEqual(r);
  });

  it('jobInsertMany of [] returns [] and stores nothing', async () => {
    expect(await fx.store.jobInsertMany([])).toEqual([]);
    expect(await jobCount(fx.store)).toBe(0);
  });

  it('jobInsertMany with one id twice in the batch stores nothing, counts included', async () => {
    await fx.store.jobInsert(jobParams());
    const a = jobParams();
    await expect(fx.store.jobInsertMany([a, jobParams(), { ...jobParams(), id: a.id }])).rejects.toThrow();
    expect(await jobCount(fx.store)).toBe(1);
    expect(await fx.store.jobGet(a.id)).toBeNull();
    expect(await fx.store.jobCountByStatus()).toEqual({ pending: 1, processing: 0, completed: 0, failed: 0, cancelled: 0 });
  });

  it('jobInsertMany with an id already stored stores nothing and leaves that job alone', async () => {
    const stored = await fx.store.jobInsert(jobParams({ payload: 'original' }));
    const fresh = [jobParams(), jobParams()];
    await expect(fx.store.jobInsertMany([...fresh, jobParams({ id: stored.id, payload: 'replacement' })])).rejects.toThrow();
    expect(await jobCount(fx.store)).toBe(1);
    expect(await fx.store.jobGet(stored.id)).toEqual(stored);
    for (const p of fresh) expect(await fx.store.jobGet(p.id)).toBeNull();
  });

  // SQLite inserts in chunks of 500 rows within one transaction.
  it('jobInsertMany of 1,200 jobs stores them all and answers in order', async () => {
    const params = Array.from({ length: 1_200 }, (_, i) => jobParams({ topic: `t${i % 3}`, payload: { i } }));
    const records = await fx.store.jobInsertMany(params);
    expect(records).toHaveLength(1_200);
    expect(records.map((r) => r.id)).toEqual(params.map((p) => p.id));
    expect(records.map((r) => (r.payload as { i: number }).i)).toEqual(params.map((_, i) => i));
    expect(await jobCount(fx.store)).toBe(1_200);
    expect(await fx.store.jobCountByStatus()).toEqual({ pending: 1_200, processing: 0, completed: 0, failed: 0, cancelled: 0 });
    expect((await fx.store.jobList({ topic: 't1', limit: 1, offset: 0 })).total).toBe(400);
  });

  it('jobInsertMany of 1,200 jobs with a clash in the last chunk stores none of them', async () => {
    const stored = await fx.store.jobInsert(jobParams());
    const params = Array.from({ length: 1_200 }, () => jobParams());
    params[1_150] = jobParams({ id: stored.id });
    await expect(fx.store.jobInsertMany(params)).rejects.toThrow();
    expect(await jobCount(fx.store)).toBe(1);
    expect(await countedByStatus(fx.store)).toEqual(await fx.store.jobCountByStatus());
    // The store is still usable afterwards (the failed transaction was rolled back, not left open).
    expect(await insertJobs(fx.store, 2)).toHaveLength(2);
    expect(await jobCount(fx.store)).toBe(3);
  });
});
