import type { JobCompleteItem, JobStore } from '../store/types.js';

interface Waiting {
  item: JobCompleteItem;
  resolve: (updated: Date | null) => void;
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

  /**
   * Resolves to the `updated` time written when the job was completed, null when its lock had
   * been lost.
   */
  complete(item: JobCompleteItem): Promise<Date | null> {
    return this.completeMany([item])[0]!;
  }

  /** As `complete` for each, handed in together: they go out in one statement, not the first alone. */
  completeMany(items: readonly JobCompleteItem[]): Promise<Date | null>[] {
    const done = items.map((item) => new Promise<Date | null>((resolve, reject) => this.queue.push({ item, resolve, reject })));
    if (items.length > 0) this.flushing ??= this.flush();
    return done;
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
          const now = new Date();
          const held = new Set((await this.store.jobCompleteMany(batch.map((w) => w.item), now)).map((j) => j.id));
          for (const w of batch) w.resolve(held.has(w.item.id) ? now : null);
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.flushing = null;
    }
  }
}
