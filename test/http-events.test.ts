import { createJobsClient, type JobEvent } from '@jobbase/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppFixture, api, expectError } from './helpers/app.js';
import { dialects } from './helpers/databases.js';
import { SseStream } from './helpers/sse.js';
import { deferred, waitFor } from './helpers/wait.js';
import { WorkProcess } from './helpers/work-process.js';

/**
 * `GET /api/jobs/events` (issue 18): the database's change signal as server-sent events. The
 * server here runs no handlers; a worker in another process runs the jobs, so the events it
 * causes reach the server only through the database.
 */
describe.each(dialects())('GET /api/jobs/events on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  const streams: SseStream[] = [];
  const processes: WorkProcess[] = [];
  beforeEach(() => fx.setup());
  afterEach(async () => {
    await Promise.all(streams.splice(0).map((s) => s.close()));
    await Promise.all(processes.splice(0).map((p) => p.kill9()));
    await fx.teardown();
  });

  async function follow(url: string, token: string, query = '', headers: Record<string, string> = {}) {
    const stream = await SseStream.open(`${url}/api/jobs/events${query}`, { authorization: token, ...headers });
    streams.push(stream);
    return stream;
  }

  const typesOf = (stream: SseStream, id: string) => stream.events.filter((e) => e.data.job?.id === id).map((e) => e.event);

  it('streams created, started and completed for a job another process runs; a topic filter keeps its topic', async () => {
    const { url, token } = await fx.startSignedIn();
    const worker = new WorkProcess({ database: fx.db.url, topics: ['work'], options: { pollInterval: 50 } });
    processes.push(worker);
    await worker.ready();
    const all = await follow(url, token);
    const onlyOther = await follow(url, token, '?topic=other');
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toMatch(/^text\/event-stream/);

    const job = (await api(url, '/api/jobs/enqueue', { token, json: { topic: 'work' } })).body;
    const other = (await api(url, '/api/jobs/enqueue', { token, json: { topic: 'other' } })).body;
    await waitFor('created, started and completed', () => typesOf(all, job.id).join() === 'created,started,completed');
    const completed = all.events.find((e) => e.data.job?.id === job.id && e.event === 'completed')!;
    expect(completed.data).toEqual({ id: completed.id, type: 'completed', job: { id: job.id, topic: 'work', status: 'completed' }, at: expect.any(String) });
    await waitFor('the other topic’s job', () => typesOf(onlyOther, other.id).includes('created'));
    expect(onlyOther.events.every((e) => e.data.job.topic === 'other')).toBe(true);
  });

  it('resumes from Last-Event-ID with the events missed meanwhile, and says so with a gap when it cannot', async () => {
    const { url, token } = await fx.startSignedIn();
    const first = await follow(url, token);
    const a = (await api(url, '/api/jobs/enqueue', { token, json: { topic: 't' } })).body;
    await waitFor('a created', () => typesOf(first, a.id).includes('created'));
    const lastSeen = first.events.at(-1)!.id!;
    await first.close();

    const b = (await api(url, '/api/jobs/enqueue', { token, json: { topic: 't' } })).body;
    await api(url, `/api/jobs/${b.id}`, { method: 'DELETE', token });
    // Another stream sees them, so they are in the server's buffer before the resume.
    const watcher = await follow(url, token);
    await api(url, '/api/jobs/enqueue', { token, json: { topic: 'marker' } });
    await waitFor('the marker', () => watcher.events.some((e) => e.data.job?.topic === 'marker'));

    const resumed = await follow(url, token, '', { 'last-event-id': lastSeen });
    await waitFor('the missed events', () => typesOf(resumed, b.id).length === 2);
    expect(typesOf(resumed, b.id)).toEqual(['created', 'deleted']);
    expect(resumed.events.some((e) => e.data.job?.id === a.id)).toBe(false);

    const lost = await follow(url, token, '', { 'last-event-id': 'another-server.12' });
    await waitFor('a gap event', () => lost.events.length > 0);
    expect(lost.events[0]).toMatchObject({ event: 'gap', data: { type: 'gap' } });
  });

  it('@jobbase/client follows the stream, resumes with lastEventId, and does bulk actions', async () => {
    const { url, token } = await fx.startSignedIn();
    const client = createJobsClient({ baseUrl: url, token });
    const seen: JobEvent[] = [];
    const controller = new AbortController();
    const open = deferred();
    const following = client.followEvents((events) => seen.push(...events), { topic: 'c', signal: controller.signal, onOpen: open.resolve });
    await open.promise;
    const first = await client.enqueue('c', { n: 1 });
    await waitFor('the first event', () => seen.some((e) => e.job?.id === first.id));
    controller.abort();
    await following;
    const lastEventId = seen.at(-1)!.id;
    const missed = await client.enqueue('c', { n: 2 });
    await client.enqueue('other', {});
    const resumed: JobEvent[] = [];
    const again = new AbortController();
    const resuming = client.followEvents((events) => resumed.push(...events), { topic: 'c', lastEventId, signal: again.signal });
    await waitFor('the missed event', () => resumed.some((e) => e.job?.id === missed.id));
    expect(resumed.every((e) => e.job?.topic === 'c')).toBe(true);
    again.abort();
    await resuming;

    expect(await client.deleteMatching({ topic: 'c', dry_run: true })).toEqual({ dry_run: true, matched: 2, changed: 0 });
    expect(await client.deleteMatching({ topic: 'c' })).toEqual({ dry_run: false, changed: 2 });
    await expect(client.requeueMatching({ status: 'pending' })).rejects.toMatchObject({ status: 400, data: { status: expect.any(Object) } });
    await expect(createJobsClient({ baseUrl: url }).followEvents(() => undefined)).rejects.toMatchObject({ status: 401 });
  });

  it('needs a superuser token', async () => {
    const { url } = await fx.startSignedIn();
    expectError(await api(url, '/api/jobs/events'), 401);
  });
});
