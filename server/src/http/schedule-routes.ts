import type { JobBody, ScheduleBody, ScheduleCreateBody, ScheduleUpdateBody } from '@jobbase/contract';
import type { ScheduleControls } from '../engine/schedule-controls.js';
import type { ScheduleOptions, ScheduleRecord } from '../engine/schedules.js';
import { toJobBody } from './wire.js';

/** A schedule record → the contract's snake_case body. */
export function toScheduleBody(s: ScheduleRecord): ScheduleBody {
  const time = (d: Date | null) => d?.toISOString() ?? null;
  return {
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    topic: s.topic,
    payload: s.payload,
    max_retries: s.maxRetries,
    priority: s.priority,
    misfire: s.misfire,
    overlap: s.overlap,
    paused: s.paused,
    next_run_at: s.nextRunAt.toISOString(),
    last_run_at: time(s.lastRunAt),
    last_job_id: s.lastJobId,
    last_job_status: s.lastJobStatus,
    skipped_ticks: s.skippedTicks,
    last_skipped_at: time(s.lastSkippedAt),
    created: s.created.toISOString(),
    updated: s.updated.toISOString(),
  };
}

/** A body's definition fields under the library's names (absent stays absent). */
function scheduleOptions(body: ScheduleUpdateBody): Partial<ScheduleOptions> {
  const { max_retries, ...rest } = body;
  return { ...rest, maxRetries: max_retries };
}

/**
 * The schedule routes' handlers: one engine call each, engine errors left to the error handler
 * (routes.ts mounts them under `schedules`).
 */
export function scheduleHandlers(schedules: ScheduleControls) {
  const ok = (s: ScheduleRecord) => ({ status: 200 as const, body: toScheduleBody(s) });
  return {
    list: async () => ({ status: 200 as const, body: { items: (await schedules.list()).map(toScheduleBody) } }),
    create: async ({ body }: { body: ScheduleCreateBody }) => {
      const { name, paused, ...definition } = body;
      return ok(await schedules.create({ name, paused, ...(scheduleOptions(definition) as ScheduleOptions) }));
    },
    get: async ({ params }: { params: { name: string } }) => ok(await schedules.get(params.name)),
    update: async ({ params, body }: { params: { name: string }; body: ScheduleUpdateBody }) =>
      ok(await schedules.update(params.name, scheduleOptions(body))),
    delete: async ({ params }: { params: { name: string } }) => {
      await schedules.delete(params.name);
      return { status: 204 as const, body: undefined };
    },
    pause: async ({ params }: { params: { name: string } }) => ok(await schedules.pause(params.name)),
    resume: async ({ params }: { params: { name: string } }) => ok(await schedules.resume(params.name)),
    trigger: async ({ params }: { params: { name: string } }): Promise<{ status: 200; body: JobBody }> => ({
      status: 200,
      body: toJobBody(await schedules.trigger(params.name)),
    }),
  };
}
