/**
 * Compile-time tests of createRemoteWorker's handler types (issue 19): `tsc -b` builds this with
 * the rest of test/ and fails when a line marked @ts-expect-error compiles. Nothing here runs.
 */
import { z } from 'zod';
import { createRemoteWorker, defineTopics } from '@jobbase/client';

const topics = defineTopics({ resize: z.object({ width: z.number().int().default(100) }) });

type Equal<A, B> = (<V>() => V extends A ? 1 : 2) extends <V>() => V extends B ? 1 : 2 ? true : false;
function assertType<_T extends true>(): void {}

export function remoteWorker(): void {
  createRemoteWorker({
    baseUrl: 'http://127.0.0.1:8090',
    token: 'jbw_x',
    topics,
    handlers: {
      resize: (job) => {
        // The schema's output: `width` always a number.
        assertType<Equal<typeof job.payload, { width: number }>>();
        // @ts-expect-error width is a number
        const width: string = job.payload.width;
        void width;
        void job.signal.aborted;
        void job.progress({ pct: 1 });
        void job.extendLock(1000);
        return job.snooze(10);
      },
      other: (job) => {
        assertType<Equal<typeof job.payload, unknown>>();
      },
    },
  });
}
