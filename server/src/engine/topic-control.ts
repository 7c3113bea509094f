import { MaxRunningSchema, RateLimitSchema } from '@jobbase/contract';
import type { ZodType, ZodTypeDef } from 'zod';
import { JobsError, validationError } from '../errors.js';
import type { Logger } from '../logger.js';
import { PeriodicPass } from '../periodic-pass.js';
import type { RateLimit, StatusCounts, TopicOverviewRecord, TopicSettingsPatch, TopicSettingsRecord, TopicStore } from '../store/types.js';

/**
 * How often a process reads the topics' settings, ms. A pause must stop every process's claims
 * of the topic within 1 s: the settings decide which claim a topic takes (the plain one, or the
 * one that reads its settings under a lock), so a process may claim a just-paused topic the
 * plain way until its next read. A read is one query of a table with a row per topic.
 */
export const SETTINGS_REFRESH_INTERVAL = 250;

/** Settings that change how a topic is claimed: anything but none. */
export function isControlled(settings: TopicSettingsRecord): boolean {
  return settings.paused || settings.maxRunning !== null || settings.rateLimit !== null;
}

/**
 * The topics whose settings this process must apply, read from the database every
 * SETTINGS_REFRESH_INTERVAL ms while the engine runs (and at once when this process changes
 * one). `onChange` runs when the set or a topic's settings changed: a resumed topic's waiting
 * jobs start at the next claim rather than after a poll interval.
 */
export class TopicControl extends PeriodicPass {
  private controlled = new Map<string, TopicSettingsRecord>();
  /** Bumped on each change, so the producer knows when to work out its claims again. */
  version = 0;
  private firstRead: Promise<void> | null = null;

  constructor(
    private readonly store: TopicStore,
    private readonly onChange: () => void,
    private readonly logger: Logger,
  ) {
    super(SETTINGS_REFRESH_INTERVAL);
  }

  /** Resolves once the settings were read once (or reading them failed): the first claim waits for it. */
  ready(): Promise<void> {
    this.firstRead ??= this.runNow();
    return this.firstRead;
  }

  /** The topic's settings when they change its claim, else undefined (the plain claim). */
  settingsOf(topic: string): TopicSettingsRecord | undefined {
    return this.controlled.get(topic);
  }

  get hasControlled(): boolean {
    return this.controlled.size > 0;
  }

  /** A row this process just wrote: applied now, not at the next read. */
  apply(settings: TopicSettingsRecord): void {
    const next = new Map(this.controlled);
    if (isControlled(settings)) next.set(settings.topic, settings);
    else next.delete(settings.topic);
    this.replace(next);
  }

  protected async pass(): Promise<void> {
    try {
      const rows = await this.store.topicSettingsList();
      this.replace(new Map(rows.filter(isControlled).map((row) => [row.topic, row])));
    } catch (err) {
      this.logger.warn({ err }, 'reading the topics’ settings failed; keeping the last ones read');
    }
  }

  private replace(next: Map<string, TopicSettingsRecord>): void {
    if (sameSettings(this.controlled, next)) return;
    this.controlled = next;
    this.version++;
    this.onChange();
  }
}

function sameSettings(a: Map<string, TopicSettingsRecord>, b: Map<string, TopicSettingsRecord>): boolean {
  if (a.size !== b.size) return false;
  for (const [topic, x] of a) {
    const y = b.get(topic);
    if (
      !y ||
      x.paused !== y.paused ||
      x.maxRunning !== y.maxRunning ||
      x.rateLimit?.max !== y.rateLimit?.max ||
      x.rateLimit?.perMs !== y.rateLimit?.perMs
    ) {
      return false;
    }
  }
  return true;
}

/** A topic as `listTopics` and `getTopic` answer it. */
export interface TopicInfo {
  topic: string;
  /** Jobs of the topic in each status. */
  counts: StatusCounts;
  /** How long the longest-waiting due pending job has waited since its `runAt`, ms; null when none is due. */
  oldestPendingAge: number | null;
  paused: boolean;
  /** Most jobs of the topic processing at once across every process; null: no cap. */
  maxRunning: number | null;
  /** At most `max` starts in any window of `perMs` ms, across every process; null: no limit. */
  rateLimit: RateLimit | null;
  /** When a process last started with a handler for the topic; null if none has. */
  registeredAt: Date | null;
  /** When the topic's settings last changed; null if it never had any. */
  updated: Date | null;
}

/** `updateTopic`: a field left out stays as it is; null clears it. */
export interface TopicUpdate {
  maxRunning?: number | null;
  rateLimit?: RateLimit | null;
}

export function toTopicInfo(record: TopicOverviewRecord, now: number): TopicInfo {
  const { settings } = record;
  return {
    topic: record.topic,
    counts: record.counts,
    oldestPendingAge: record.oldestDueAt === null ? null : Math.max(0, now - record.oldestDueAt.getTime()),
    paused: settings?.paused ?? false,
    maxRunning: settings?.maxRunning ?? null,
    rateLimit: settings?.rateLimit ?? null,
    registeredAt: settings?.registeredAt ?? null,
    updated: settings?.updated ?? null,
  };
}

const UPDATE_FIELDS: Record<string, string> = { maxRunning: 'max_running', rateLimit: 'rate_limit' };

/**
 * The update checked with the contract's own schemas (so the library and HTTP refuse the same
 * values, naming the same fields); an unknown field is refused rather than ignored.
 */
export function validTopicUpdate(update: unknown): TopicSettingsPatch {
  if (typeof update !== 'object' || update === null || Array.isArray(update)) {
    throw new JobsError('validation', 'The update must be an object { maxRunning?, rateLimit? }.');
  }
  for (const key of Object.keys(update)) {
    if (!(key in UPDATE_FIELDS)) throw validationError(key, 'unrecognized_keys', `Unknown field "${key}": only maxRunning and rateLimit can be set.`);
  }
  const { maxRunning, rateLimit } = update as TopicUpdate;
  const patch: TopicSettingsPatch = {};
  if (maxRunning !== undefined) patch.maxRunning = parseField(MaxRunningSchema, maxRunning, 'max_running');
  if (rateLimit !== undefined) {
    let wire: unknown = rateLimit;
    if (rateLimit !== null && typeof rateLimit === 'object') {
      const { max, perMs, ...rest } = rateLimit as Partial<RateLimit>;
      const unknown = Object.keys(rest)[0];
      if (unknown !== undefined) {
        throw validationError(`rate_limit.${unknown}`, 'unrecognized_keys', `Unknown field "${unknown}" of rateLimit: only max and perMs.`);
      }
      wire = { max, per_ms: perMs };
    }
    const parsed = parseField(RateLimitSchema, wire, 'rate_limit');
    patch.rateLimit = parsed === null ? null : { max: parsed.max, perMs: parsed.per_ms };
  }
  return patch;
}

function parseField<T>(schema: ZodType<T, ZodTypeDef, unknown>, value: unknown, field: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  throw validationError([field, ...path].join('.'), issue.code, issue.message);
}
