import { JobsError, validationError } from '../errors.js';
import type { JobInsertParams, JobRecord, ScheduleRecord, ScheduleStore } from '../store/types.js';
import { assertKnownFields, nextTick, scheduleDefinition, validScheduleName, type ScheduleOptions, type ScheduleSpec } from './schedules.js';

export interface ScheduleControlsDeps {
  store: ScheduleStore;
  /** The payload's JSON text for `topic`, checked as an enqueue's (size, typed topics). */
  encodePayload: (topic: string, payload: unknown) => string;
  jobOf: (schedule: ScheduleRecord, now: Date) => JobInsertParams;
  made: (jobs: JobRecord[]) => void;
  assertOpen: () => void;
}

const CREATE_FIELDS = new Set(['name', 'cron', 'timezone', 'topic', 'payload', 'maxRetries', 'priority', 'misfire', 'overlap', 'paused']);

/**
 * What a person (the HTTP routes, the admin UI) or code does with schedules: `jobs.schedules`.
 * Code-defined schedules are upserted by `jobs.schedule()` and `createJobs({ schedules })`.
 */
export class ScheduleControls {
  constructor(private readonly deps: ScheduleControlsDeps) {}

  /** Every schedule, by name. */
  list(): Promise<ScheduleRecord[]> {
    this.deps.assertOpen();
    return this.deps.store.scheduleList();
  }

  /** The schedule, or a `not_found` JobsError. */
  async get(name: string): Promise<ScheduleRecord> {
    this.deps.assertOpen();
    const schedule = await this.deps.store.scheduleGet(knownName(name));
    if (!schedule) throw notFound(name);
    return schedule;
  }

  /**
   * Creates or redefines the schedule (idempotent: processes starting together may all call
   * it). Its next run is kept unless the cron or time zone changed; a pause stays.
   */
  async upsert(name: string, options: ScheduleOptions): Promise<ScheduleRecord> {
    this.deps.assertOpen();
    await this.deps.store.scheduleUpsert(scheduleDefinition(name, options, this.deps.encodePayload));
    return this.get(name);
  }

  /** A new schedule; a name already taken is a validation error on `name` (HTTP 400). */
  async create(spec: ScheduleSpec & { paused?: boolean }): Promise<ScheduleRecord> {
    this.deps.assertOpen();
    if (typeof spec !== 'object' || spec === null) throw new JobsError('validation', 'A schedule needs name, cron and topic.');
    assertKnownFields(spec, CREATE_FIELDS);
    const { name, paused, ...options } = spec;
    if (paused !== undefined && typeof paused !== 'boolean') throw validationError('paused', 'invalid', 'paused must be true or false.');
    const definition = scheduleDefinition(name, options, this.deps.encodePayload);
    if ((await this.deps.store.scheduleInsert({ ...definition, paused: paused ?? false })) === 'duplicate') {
      throw validationError('name', 'taken', `A schedule named "${definition.name}" already exists.`);
    }
    return this.get(definition.name);
  }

  /** Changes the fields given; a new cron or time zone moves the next run to its next tick from now. */
  async update(name: string, changes: Partial<ScheduleOptions>): Promise<ScheduleRecord> {
    const current = await this.get(name);
    if (typeof changes !== 'object' || changes === null) throw new JobsError('validation', 'Give the fields to change.');
    assertKnownFields(changes);
    const merged: ScheduleOptions = {
      cron: current.cron,
      timezone: current.timezone,
      topic: current.topic,
      payload: current.payload,
      maxRetries: current.maxRetries ?? undefined,
      priority: current.priority ?? undefined,
      misfire: current.misfire,
      overlap: current.overlap,
      ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)),
    };
    const definition = scheduleDefinition(current.name, merged, this.deps.encodePayload);
    const retimed = definition.cron !== current.cron || definition.timezone !== current.timezone;
    const stored = await this.deps.store.scheduleUpdate({ ...definition, nextRunAt: retimed ? definition.nextRunAt : current.nextRunAt });
    if (!stored) throw notFound(name);
    return this.get(name);
  }

  async delete(name: string): Promise<void> {
    this.deps.assertOpen();
    if (!(await this.deps.store.scheduleDelete(knownName(name)))) throw notFound(name);
  }

  /** No tick fires while paused; a trigger still does. */
  pause(name: string): Promise<ScheduleRecord> {
    return this.setPaused(name, true);
  }

  /** Ticks that passed while paused are not fired: the next run is the next tick from now. */
  resume(name: string): Promise<ScheduleRecord> {
    return this.setPaused(name, false);
  }

  /** One job now, as a tick's but for its tick (null): not counted as a tick, next run unchanged. */
  async trigger(name: string): Promise<JobRecord> {
    const schedule = await this.get(name);
    const job = await this.deps.store.scheduleTrigger(schedule.name, this.deps.jobOf(schedule, new Date()));
    if (!job) throw notFound(name);
    this.deps.made([job]);
    return job;
  }

  private async setPaused(name: string, paused: boolean): Promise<ScheduleRecord> {
    const schedule = await this.get(name);
    const now = new Date();
    if (!(await this.deps.store.scheduleSetPaused(schedule.name, paused, nextTick(schedule, now) ?? now))) throw notFound(name);
    return this.get(name);
  }
}

/** A name no schedule can have names none: not found, as an unknown job id is. */
function knownName(name: string): string {
  try {
    return validScheduleName(name);
  } catch {
    throw notFound(String(name));
  }
}

function notFound(name: string): JobsError {
  return new JobsError('not_found', `Schedule "${name}" was not found.`);
}
