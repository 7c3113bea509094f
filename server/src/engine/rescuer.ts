import type { Logger } from '../logger.js';
import type { ExpiredJob, JobStore } from '../store/types.js';
import { PeriodicPass } from '../periodic-pass.js';
import { afterFailedAttempt, type BackoffFunction } from './retry-policy.js';

const RESCUE_BATCH = 100;

/** What the rescuer needs of a topic: the lock its jobs had and the backoff of their retries. */
export interface RescuePolicy {
  lockDuration: number;
  backoff: BackoffFunction;
  heartbeat: number | undefined;
}

/**
 * Finds processing jobs whose lock expired (their worker crashed or hung, in this process or
 * another) and fails-or-retries them; each counts as a failed attempt. The decision is the
 * executor's (`afterFailedAttempt`, with the topic's backoff where this process registered the
 * topic, the engine's otherwise); the store only applies it.
 */
export class Rescuer extends PeriodicPass {
  constructor(
    private readonly store: JobStore,
    private readonly options: { interval: () => number; policyOf: (topic: string) => RescuePolicy; logger: Logger },
  ) {
    super(options.interval);
  }

  protected async pass(): Promise<void> {
    const errorOf = ({ lockDuration, heartbeat }: RescuePolicy) =>
      heartbeat === undefined
        ? `Lock expired after ${lockDuration} ms: the worker crashed or the handler hung.`
        : `Lock expired: its heartbeats (every ${heartbeat} ms) stopped; the worker crashed or lost the database.`;
    try {
      let expired: ExpiredJob[];
      do {
        const now = Date.now();
        expired = await this.store.jobGetExpired({ before: new Date(now), limit: RESCUE_BATCH });
        if (expired.length === 0) break;
        const rescued = await this.store.jobRescueMany(
          expired.map((job) => {
            const policy = this.options.policyOf(job.topic);
            return { id: job.id, lockToken: job.lockToken, error: errorOf(policy), ...afterFailedAttempt(job, policy.backoff, now) };
          }),
        );
        if (rescued.length > 0) this.options.logger.warn({ rescued: rescued.length }, 'rescued jobs whose lock expired');
      } while (expired.length === RESCUE_BATCH);
    } catch (err) {
      this.options.logger.error({ err }, 'rescuing expired jobs failed; will try again');
    }
  }
}
