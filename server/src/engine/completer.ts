import type { JobFinishParams, JobStore } from '../store/types.js';

interface Waiting {
  item: JobFinishParams;
  resolve: (held: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Batches completions without adding latency: the first completion is written at once, and
 * every completion that arrives while that write is in flight goes out in the next single
 * statement. Under load this turns N commits into a few; when idle it costs nothing.
 */
export class Completer {
  private queue: Waiting[] = [];
  private flushing: Promise<void> | null = null;

  constructor(private readonly store: JobStore) {}

  /** Resolves true when the job was completed, false when its lock had been lost. */
  complete(item: JobFinishParams): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** Waits until every completion handed in so far is written. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          const held = new Set(await this.store.jobCompleteMany(batch.map((w) => w.item)));
          for (const w of batch) w.resolve(held.has(w.item.id));
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.flushing = null;
    }
  }
}
