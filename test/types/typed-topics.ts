/**
 * Compile-time tests of typed topics: `tsc -b` builds this file with the rest of test/ and fails
 * when a line marked @ts-expect-error compiles (a wrong payload got through) or when an unmarked
 * line does not (a right one was refused). Nothing here runs.
 */
import { z } from 'zod';
import { createJobsClient } from '@jobbase/client';
import { createApp, createJobs, defineTopics, type Jobs, type TopicSchemasOf } from '@jobbase/server';

const topics = defineTopics({
  send_email: z.object({ to: z.string().email(), subject: z.string() }),
  // Input and output differ: `width` may be left out, and the handler always gets a number.
  resize: z.object({ width: z.number().int().default(100) }),
});

type Equal<A, B> = (<V>() => V extends A ? 1 : 2) extends <V>() => V extends B ? 1 : 2 ? true : false;
function assertType<_T extends true>(): void {}

export async function engine(): Promise<void> {
  const jobs = await createJobs({ topics });

  await jobs.enqueue('send_email', { to: 'a@example.com', subject: 'Welcome' });
  // @ts-expect-error `subject` is missing
  await jobs.enqueue('send_email', { to: 'a@example.com' });
  // @ts-expect-error `to` is a string
  await jobs.enqueue('send_email', { to: 42, subject: 'Welcome' });
  // @ts-expect-error a declared topic needs its payload
  await jobs.enqueue('send_email');
  await jobs.enqueueAt('send_email', { to: 'a@example.com', subject: 'Later' }, new Date());
  // @ts-expect-error `to` is missing
  await jobs.enqueueAt('send_email', { subject: 'Later' }, new Date());
  await jobs.enqueueWithOptions('resize', {}, { maxRetries: 1 });
  // @ts-expect-error `width` is a number
  await jobs.enqueueWithOptions('resize', { width: '100' });

  // Undeclared topics take any payload, or none, as without topics.
  await jobs.enqueue('cleanup');
  await jobs.enqueue('cleanup', 42);
  await jobs.enqueueWithOptions('cleanup', { anything: ['goes'] }, { maxRetries: 0 });

  jobs.register('send_email', async (job) => {
    assertType<Equal<typeof job.payload, { to: string; subject: string }>>();
    const payload = job.unmarshalPayload();
    assertType<Equal<typeof payload, { to: string; subject: string }>>();
    // @ts-expect-error no such field
    void job.payload.from;
  });
  // The handler gets the schema's output: `width` is always there.
  jobs.register('resize', (job) => {
    assertType<Equal<typeof job.payload, { width: number }>>();
  });
  jobs.register('cleanup', (job) => {
    assertType<Equal<typeof job.payload, unknown>>();
    const parsed = job.unmarshalPayload(z.object({ olderThanDays: z.number() }));
    assertType<Equal<typeof parsed, { olderThanDays: number }>>();
  });
  // @ts-expect-error a handler that wants another payload than the topic's
  jobs.register('send_email', (job: { payload: { width: number } }) => job.payload.width);
}

/** A function that takes the engine of these topics names them with TopicSchemasOf. */
export function worker(jobs: Jobs<TopicSchemasOf<typeof topics>>): void {
  jobs.register('send_email', (job) => {
    assertType<Equal<typeof job.payload.to, string>>();
  });
}

export async function withoutTopics(): Promise<void> {
  const jobs = await createJobs();
  await jobs.enqueue('send_email', { whatever: true });
  await jobs.enqueue('send_email');
  jobs.register('send_email', (job) => {
    assertType<Equal<typeof job.payload, unknown>>();
  });
}

export async function app(): Promise<void> {
  const served = await createApp({ topics });
  await served.jobs.enqueue('send_email', { to: 'a@example.com', subject: 'Welcome' });
  // @ts-expect-error `subject` is missing
  await served.jobs.enqueue('send_email', { to: 'a@example.com' });
  worker(served.jobs);
}

export async function client(): Promise<void> {
  const jobs = createJobsClient({ baseUrl: 'http://127.0.0.1:8090', topics });
  await jobs.enqueue('send_email', { to: 'a@example.com', subject: 'Welcome' });
  // @ts-expect-error `subject` is missing
  await jobs.enqueue('send_email', { to: 'a@example.com' });
  // @ts-expect-error a declared topic needs its payload
  await jobs.enqueue('send_email');
  await jobs.enqueueAt('send_email', { to: 'a@example.com', subject: 'Later' }, new Date());
  // @ts-expect-error `to` is a string
  await jobs.enqueueAt('send_email', { to: 1, subject: 'Later' }, new Date());
  await jobs.enqueueWithOptions('resize', {}, { maxRetries: 2 });
  // @ts-expect-error `width` is a number
  await jobs.enqueueWithOptions('resize', { width: 'wide' });
  await jobs.enqueue('cleanup');
  await jobs.enqueue('cleanup', [1, 2, 3]);

  const plain = createJobsClient({ baseUrl: 'http://127.0.0.1:8090' });
  await plain.enqueue('send_email', { anything: true });
}
