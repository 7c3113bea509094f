import { contract, type JobBody, type ScheduleBody, type ScheduleCreateBody, type ScheduleUpdateBody } from '@jobbase/contract';
import type { RawJobsClient } from './jobs-client.js';

/** A recurring schedule as the server answers it (snake_case, ISO 8601 times). */
export type Schedule = ScheduleBody;

/** `client.schedules`: recurring schedules, superusers only. Each call throws a JobsApiError on an error status. */
export interface SchedulesClient {
  list(): Promise<Schedule[]>;
  get(name: string): Promise<Schedule>;
  /** A name already taken is a 400 naming `name`. */
  create(body: ScheduleCreateBody): Promise<Schedule>;
  /** Changes the fields given. */
  update(name: string, changes: ScheduleUpdateBody): Promise<Schedule>;
  delete(name: string): Promise<void>;
  pause(name: string): Promise<Schedule>;
  resume(name: string): Promise<Schedule>;
  /** One job now, not counted as a tick. */
  trigger(name: string): Promise<JobBody>;
}

type ExpectStatus = <R extends { status: number; body: unknown }, S extends R['status']>(
  response: R,
  status: S,
  route: (typeof contract.schedules)[keyof typeof contract.schedules],
) => Extract<R, { status: S }>['body'];

export function schedulesClient(raw: RawJobsClient, expectStatus: ExpectStatus): SchedulesClient {
  const routes = contract.schedules;
  const params = (name: string) => {
    if (typeof name !== 'string' || name === '') throw new TypeError('A schedule name must be a non-empty string.');
    return { name: encodeURIComponent(name) };
  };
  return {
    list: async () => expectStatus(await raw.schedules.list(), 200, routes.list).items,
    get: async (name) => expectStatus(await raw.schedules.get({ params: params(name) }), 200, routes.get),
    create: async (body) => expectStatus(await raw.schedules.create({ body }), 200, routes.create),
    update: async (name, body) => expectStatus(await raw.schedules.update({ params: params(name), body }), 200, routes.update),
    delete: async (name) => {
      expectStatus(await raw.schedules.delete({ params: params(name) }), 204, routes.delete);
    },
    pause: async (name) => expectStatus(await raw.schedules.pause({ params: params(name) }), 200, routes.pause),
    resume: async (name) => expectStatus(await raw.schedules.resume({ params: params(name) }), 200, routes.resume),
    trigger: async (name) => expectStatus(await raw.schedules.trigger({ params: params(name) }), 200, routes.trigger),
  };
}
