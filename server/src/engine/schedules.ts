import { Cron } from 'croner';
import { isStorableText } from '@jobbase/contract';
import { JobsError, validationError } from '../errors.js';
import type { MisfirePolicy, OverlapPolicy, ScheduleDefinition, ScheduleRecord } from '../store/types.js';
import { validMaxRetries, validPriority, validTopic } from './validate.js';

export type { MisfirePolicy, OverlapPolicy, ScheduleRecord } from '../store/types.js';

/** A schedule as code or an admin defines it (library names; the wire's are snake_case). */
export interface ScheduleOptions {
  /** 5 fields (minute precision) or 6 (seconds first), as croner reads them. */
  cron: string;
  /** IANA time zone the cron is read in; `UTC` by default. */
  timezone?: string;
  topic: string;
  /** The payload of each job; `{}` by default. */
  payload?: unknown;
  /** Of each job; the topic's default, else the engine's, when omitted. */
  maxRetries?: number;
  /** Of each job; the topic's default, else 0, when omitted. */
  priority?: number;
  /** Ticks missed while no process ran: `skip` (default), `run_once`, or `{ backfill: { max } }`. */
  misfire?: MisfirePolicy;
  /** `allow` (default), or `skip`: no new job while the last one is pending or processing. */
  overlap?: OverlapPolicy;
}

/** A schedule defined in `createJobs({ schedules })`. */
export interface ScheduleSpec extends ScheduleOptions {
  name: string;
}

/** Most missed ticks a backfill makes, so a long outage of a per-second schedule cannot flood the queue. */
export const MAX_BACKFILL = 1_000;
/** Most on-time ticks one firing makes (a grace of a minute on a per-second schedule is 60). */
const MAX_TICKS_PER_FIRING = 1_000;

const NAME = /^[A-Za-z0-9._:-]{1,255}$/;
const OPTION_FIELDS = new Set(['cron', 'timezone', 'topic', 'payload', 'maxRetries', 'priority', 'misfire', 'overlap']);
/** The wire's field name of each option, for errors (they name fields as HTTP does). */
const WIRE_NAME: Record<string, string> = { maxRetries: 'max_retries' };

export function validScheduleName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw validationError('name', 'invalid', 'name must be 1 to 255 characters of letters, digits, ".", "_", ":" and "-".');
  }
  return name;
}

/** Refuses fields a schedule does not have, naming the first. */
export function assertKnownFields(options: object, allowed: ReadonlySet<string> = OPTION_FIELDS): void {
  for (const key of Object.keys(options)) {
    if (!allowed.has(key) && (options as Record<string, unknown>)[key] !== undefined) {
      throw validationError(WIRE_NAME[key] ?? key, 'unknown_field', `${key} is not a schedule field.`);
    }
  }
}

/** The cron as croner parses it in `timezone`; refuses an expression that never fires. */
export function cronOf(cron: unknown, timezone: string, now = new Date()): Cron {
  if (typeof cron !== 'string' || !isStorableText(cron) || cron.length > 255) {
    throw validationError('cron', 'invalid', 'cron must be a cron expression of 5 or 6 fields.');
  }
  let parsed: Cron;
  try {
    parsed = new Cron(cron, { timezone, mode: '5-or-6-parts', paused: true });
  } catch (err) {
    throw validationError('cron', 'invalid', `cron is not a valid expression of 5 or 6 fields: ${(err as Error).message}`);
  }
  if (parsed.nextRun(now) === null) throw validationError('cron', 'never_fires', `cron "${cron}" never fires.`);
  return parsed;
}

export function validTimezone(timezone: unknown): string {
  if (timezone === undefined) return 'UTC';
  if (typeof timezone === 'string' && timezone.length > 0 && timezone.length <= 64) {
    try {
      // Intl knows the IANA names the runtime's ICU has, which croner reads zones with.
      new Intl.DateTimeFormat('en-US', { timeZone: timezone });
      return timezone;
    } catch {
      // Falls through to the error.
    }
  }
  throw validationError('timezone', 'invalid', `timezone must be an IANA time zone name such as "Europe/Berlin", got ${JSON.stringify(timezone)}.`);
}

export function validMisfire(misfire: unknown): MisfirePolicy {
  if (misfire === undefined) return 'skip';
  if (misfire === 'skip' || misfire === 'run_once') return misfire;
  if (typeof misfire === 'object' && misfire !== null && Object.keys(misfire).length === 1 && 'backfill' in misfire) {
    const backfill = (misfire as { backfill: unknown }).backfill;
    const max = (backfill as { max?: unknown } | null)?.max;
    if (typeof backfill === 'object' && backfill !== null && Object.keys(backfill).length === 1 && Number.isInteger(max)) {
      if ((max as number) >= 1 && (max as number) <= MAX_BACKFILL) return { backfill: { max: max as number } };
    }
  }
  throw validationError('misfire', 'invalid', `misfire must be "skip", "run_once" or { "backfill": { "max": 1 to ${MAX_BACKFILL} } }.`);
}

export function validOverlap(overlap: unknown): OverlapPolicy {
  if (overlap === undefined) return 'allow';
  if (overlap === 'allow' || overlap === 'skip') return overlap;
  throw validationError('overlap', 'invalid', 'overlap must be "allow" or "skip".');
}

/**
 * A whole definition, validated; `encodePayload` measures and checks the payload as an enqueue
 * would (it is the engine's, so typed topics check it too). Also answers the first tick.
 */
export function scheduleDefinition(
  name: unknown,
  options: ScheduleOptions,
  encodePayload: (topic: string, payload: unknown) => string,
  now = new Date(),
): ScheduleDefinition & { nextRunAt: Date } {
  if (typeof options !== 'object' || options === null) throw new JobsError('validation', 'A schedule needs options: cron and topic at least.');
  assertKnownFields(options);
  const valid = validScheduleName(name);
  const timezone = validTimezone(options.timezone);
  const cron = cronOf(options.cron, timezone, now);
  const topic = validTopic(options.topic);
  return {
    name: valid,
    cron: options.cron,
    timezone,
    topic,
    payloadJson: encodePayload(topic, options.payload),
    maxRetries: options.maxRetries === undefined ? null : validMaxRetries(options.maxRetries),
    priority: options.priority === undefined ? null : validPriority(options.priority),
    misfire: validMisfire(options.misfire),
    overlap: validOverlap(options.overlap),
    nextRunAt: cron.nextRun(now)!,
  };
}

/**
 * The next `count` ticks of a schedule after `after`, as the scheduler steps them (croner's
 * `nextRun`, whose daylight-saving rule docs/schedules.md states). Throws a validation error
 * for an expression or time zone a schedule would refuse.
 */
export function nextRuns(schedule: { cron: string; timezone?: string }, after: Date, count: number): Date[] {
  const cron = cronOf(schedule.cron, validTimezone(schedule.timezone), after);
  const runs: Date[] = [];
  for (let tick = cron.nextRun(after); tick && runs.length < count; tick = cron.nextRun(tick)) runs.push(tick);
  return runs;
}

/** The next tick after `after`, or null when the expression fires no more. */
export function nextTick(schedule: { cron: string; timezone: string }, after: Date): Date | null {
  return cronOf(schedule.cron, schedule.timezone, after).nextRun(after);
}

/** What one firing of a due schedule makes: the ticks to run, and where next_run_at goes. */
export interface FiringPlan {
  ticks: Date[];
  nextRunAt: Date;
}

/**
 * A tick more than `grace` ms before `now` was missed (no process fired it in time: they were
 * all down, or the database was); later ones are on time and each gets its job, however late
 * the pass that finds them. Missed ticks follow `misfire`: `skip` makes none; `run_once` one,
 * for the latest; `backfill` the `max` latest, each its own job. next_run_at moves to the
 * first tick after `now`.
 *
 * Missed ticks are found counting back from the cutoff (croner's `previousRuns`), so an outage
 * of a month on a per-second schedule costs `max` steps, not millions.
 */
export function planFiring(schedule: ScheduleRecord, now: Date, grace: number): FiringPlan {
  const cron = cronOf(schedule.cron, schedule.timezone, now);
  const from = schedule.nextRunAt.getTime();
  const cutoff = now.getTime() - grace;
  const ticks: Date[] = [];
  if (from < cutoff) {
    const wanted = schedule.misfire === 'skip' ? 0 : schedule.misfire === 'run_once' ? 1 : schedule.misfire.backfill.max;
    if (wanted > 0) {
      const missed = cron.previousRuns(wanted, new Date(cutoff)).filter((t) => t.getTime() >= from && t.getTime() < cutoff);
      ticks.push(...missed.reverse());
    }
  }
  let tick: Date | null = from >= cutoff ? schedule.nextRunAt : cron.nextRun(new Date(cutoff - 1));
  while (tick && tick.getTime() <= now.getTime() && ticks.length < MAX_TICKS_PER_FIRING) {
    if (tick.getTime() >= cutoff) ticks.push(tick);
    tick = cron.nextRun(tick);
  }
  // cronOf refused an expression with no tick after now.
  return { ticks, nextRunAt: cron.nextRun(now)! };
}
