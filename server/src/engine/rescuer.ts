import type { Logger } from '../logger.js';
import type { JobStore } from '../store/types.js';
import { PeriodicPass } from './periodic-pass.js';
import { retryAt, type BackoffFunction } from './retry-policy.js';

const RESCUE_BATCH = 100;

/**
 * Finds processing jobs whose lock expired (their worker crashed or hung, in this process or
 * another) and fails-or-retries them; each counts as a failed attempt.
 */
export class Rescuer extends PeriodicPass {
  constructor(
    private readonly store: JobStore,
    private readonly options: { interval: number; lockDuration: number; backoff: BackoffFunction; logger: Logger },
  ) {
    super(options.interval);
  }

  protected async pass(): Promise<void> {
    const error = `Lock expired after ${this.options.lockDuration} ms: the worker crashed or the handler hung.`;
    try {
      let rescued: number;
      do {
        rescued = await this.store.jobRescueExpired({
          limit: RESCUE_BATCH,
          error,
          retryAt: (retry) => retryAt(this.options.backoff, retry),
        });
        if (rescued > 0) this.options.logger.warn({ rescued }, 'rescued jobs whose lock expired');
      } while (rescued === RESCUE_BATCH);
    } catch (err) {
      this.options.logger.error({ err }, 'rescuing expired jobs failed; will try again');
    }
  }
}
