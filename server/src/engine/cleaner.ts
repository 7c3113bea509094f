import type { Logger } from '../logger.js';
import type { JobStore } from '../store/types.js';

/** How long finished jobs are kept, per status, in ms; a status left out is kept for ever. */
export interface Retention {
  completed?: number;
  failed?: number;
}

const BATCH = 1_000;
/** Most batches one pass deletes; the next pass carries on. Bounds a pass's time. */
const MAX_BATCHES = 100;

/**
 * Deletes finished jobs older than the retention, in small batches with a pause between them
 * so claims and completions are never held up behind one long delete. Several processes may
 * run it at once: deleting is idempotent.
 */
export class Cleaner {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly store: JobStore,
    private readonly options: { retention: Retention; interval: number; logger: Logger },
  ) {}

  get enabled(): boolean {
    const { completed, failed } = this.options.retention;
    return completed !== undefined || failed !== undefined;
  }

  start(): void {
    if (this.timer || !this.enabled) return;
    this.timer = setInterval(() => void this.cleanNow(), this.options.interval);
    this.timer.unref();
    void this.cleanNow();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass; overlapping calls share the pass in flight. */
  cleanNow(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
  }

  private async pass(): Promise<void> {
    const now = Date.now();
    try {
      for (const status of ['completed', 'failed'] as const) {
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
