import type { ClaimedJobBody } from '@jobbase/contract';
import type { Response } from 'express';
import type { ClaimedJob } from '../engine/jobs.js';
import { forbiddenTopic, type RemoteFinish, type RemoteFinishItem, type RemoteWork, type TopicGuard } from '../engine/remote-work.js';
import { toJobBody } from './wire.js';
import { workerStillValid, workerTopicGuard } from './require-worker.js';

/** A claimed job → its body, with the lock the worker finishes it on. */
export function toClaimedJobBody(job: ClaimedJob): ClaimedJobBody {
  return { ...toJobBody(job), lock_token: job.lockToken, locked_until: job.lockedUntil.toISOString() };
}

function finishedBody(f: RemoteFinish) {
  return {
    status: 200 as const,
    body: { id: f.id, outcome: f.outcome, status: f.job.status, run_at: f.job.runAt.toISOString() },
  };
}

/** Each item's outcome, in the order given: `lost` when its token no longer held the job. */
async function finishResults(remote: RemoteWork, items: RemoteFinishItem[], guard: TopicGuard, field: 'items' | 'finish' = 'items') {
  const finished = new Map((await remote.finishMany(items, guard, false, field)).map((f) => [f.id, f.outcome]));
  return items.map((i) => ({ id: i.id, outcome: finished.get(i.id) ?? ('lost' as const) }));
}

/**
 * The remote workers' routes (issue 19): one engine call each (`jobs.remote`), engine errors
 * left to the error handler. A worker token's topics bound every call (require-worker.ts).
 */
export function workerHandlers(remote: RemoteWork) {
  const guard = (res: Response): TopicGuard => workerTopicGuard(res);
  return {
    claim: async ({ body, res }: { body: { topics: string[]; limit?: number; wait?: number; finish?: RemoteFinishItem[] }; res: Response }) => {
      const allowed = guard(res);
      const forbidden = allowed && body.topics.find((t) => !allowed.has(t));
      if (forbidden) throw forbiddenTopic(forbidden);
      // A worker that hangs up ends its wait.
      const gone = new AbortController();
      const hungUp = () => gone.abort();
      res.on('close', hungUp);
      try {
        // The worker's finished jobs and its claim in one round trip, their statements side by
        // side (on PostgreSQL, two connections: the answer waits for the slower, not for both in
        // turn). A claim under a topic's cap may not count the slots these finishes free: it
        // claims fewer, never more, and the worker's next claim gets them.
        const [finishing, claiming] = await Promise.allSettled([
          body.finish?.length
            ? finishResults(remote, body.finish, allowed, 'finish').catch((err: unknown) => {
                gone.abort(); // a claim waiting for jobs (`wait`) stops: the answer is the refusal, now
                throw err;
              })
            : undefined,
          remote.claim({
            topics: body.topics,
            limit: body.limit ?? 1,
            wait: body.wait ?? 0,
            signal: gone.signal,
            stillValid: workerStillValid(res),
          }),
        ]);
        if (finishing.status === 'rejected') {
          // The request is refused as a whole: the jobs claimed alongside go back, due now (should
          // that fail too, their locks run out and the rescuer makes them due).
          if (claiming.status === 'fulfilled' && claiming.value.length > 0) {
            await remote
              .finishMany(claiming.value.map((job) => ({ action: 'release' as const, id: job.id, token: job.lockToken })), allowed)
              .catch(() => undefined);
          }
          throw finishing.reason;
        }
        if (claiming.status === 'rejected') throw claiming.reason;
        const [finished, jobs] = [finishing.value, claiming.value];
        return { status: 200 as const, body: { items: jobs.map(toClaimedJobBody), ...(finished ? { finished } : {}) } };
      } finally {
        res.off('close', hungUp);
      }
    },
    finish: async ({ body, res }: { body: { items: RemoteFinishItem[] }; res: Response }) => ({
      status: 200 as const,
      body: { items: await finishResults(remote, body.items, guard(res)) },
    }),
    complete: async ({ params, body, res }: { params: { id: string }; body: { token: string; result?: unknown }; res: Response }) =>
      finishedBody(await remote.complete(params.id, body.token, body.result, guard(res))),
    fail: async ({ params, body, res }: { params: { id: string }; body: { token: string; error: string; permanent?: boolean }; res: Response }) =>
      finishedBody(await remote.fail(params.id, body.token, body.error, body.permanent === true, guard(res))),
    snooze: async ({ params, body, res }: { params: { id: string }; body: { token: string; ms: number }; res: Response }) =>
      finishedBody(await remote.snooze(params.id, body.token, body.ms, guard(res))),
    heartbeat: async ({
      params,
      body,
      res,
    }: {
      params: { id: string };
      body: { token: string; progress?: unknown; extend_ms?: number };
      res: Response;
    }) => {
      const held = await remote.heartbeat(params.id, body.token, { progress: body.progress, extendMs: body.extend_ms }, guard(res));
      return { status: 200 as const, body: { id: held.id, locked_until: held.lockedUntil.toISOString(), cancel_requested: held.cancelRequested } };
    },
  };
}
