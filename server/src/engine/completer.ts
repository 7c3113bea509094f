import type { JobCompleteItem, JobStore } from '../store/types.js';

/** A completion written: when, and whether the statement made the job `cancelled` (marked meanwhile). */
export interface Completion {
  updated: Date;
  cancelled: boolean;
}

interface Waiting {
  item: JobCompleteItem;
  resolve: (done: Completion | null) => void;
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
   * Resolves to the `updated` time written when the job was completed (or cancelled, when it
   * had been marked: another process's cancel the worker had not seen yet), null when its lock
   * had been lost.
   */
  complete(item: JobCompleteItem): Promise<Completion | null> {
    return this.completeMany([item])[0]!;
  }

  /** As `complete` for each, handed in together: they go out in one statement, not the first alone. */
  completeMany(items: readonly JobCompleteItem[]): Promise<Completion | null>[] {
    const done = items.map((item) => new Promise<Completion | null>((resolve, reject) => this.queue.push({ item, resolve, reject })));
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
          const held = new Map((await this.store.jobCompleteMany(batch.map((w) => w.item), now)).map((j) => [j.id, j.status]));
          for (const w of batch) {
            const status = held.get(w.item.id);
            w.resolve(status ? { updated: now, cancelled: status === 'cancelled' } : null);
          }
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.flushing = null;
    }
  }
}
