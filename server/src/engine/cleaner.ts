import type { Logger } from '../logger.js';
import type { JobStore } from '../store/types.js';
import { PeriodicPass } from '../periodic-pass.js';

/** How long finished jobs are kept, per status, in ms; a status left out is kept for ever. */
export interface Retention {
  completed?: number;
  failed?: number;
  cancelled?: number;
}

const BATCH = 1_000;
/** Most batches one pass deletes; the next pass carries on. Bounds a pass's time. */
const MAX_BATCHES = 100;

/**
 * Deletes finished jobs older than the retention, in small batches with a pause between them
 * so claims and completions are never held up behind one long delete. Several processes may
 * run it at once: deleting is idempotent.
 */
export class Cleaner extends PeriodicPass {
  constructor(
    private readonly store: JobStore,
    private readonly options: { retention: Retention; interval: number; logger: Logger },
  ) {
    super(options.interval);
  }

  /** Runs only when some status has a retention. */
  override start(): void {
    if (Object.values(this.options.retention).some((age) => age !== undefined)) super.start();
  }

  protected async pass(): Promise<void> {
    const now = Date.now();
    try {
      for (const status of ['completed', 'failed', 'cancelled'] as const) {
        const age = this.options.retention[status];
        if (age === undefined) continue;
        const before = new Date(now - age);
        let deleted = 0;
        for (let batch = 0; batch < MAX_BATCHES; batch++) {
          const n = await this.store.jobDeleteFinished({ status, before, limit: BATCH });
          deleted += n;
          if (n < BATCH) break;
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (deleted > 0) this.options.logger.info({ status, deleted }, 'deleted finished jobs past their retention');
      }
    } catch (err) {
      this.options.logger.error({ err }, 'deleting old jobs failed; will try again');
    }
  }
}
