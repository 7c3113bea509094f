import { JobsError } from '../errors.js';
import type { JobInsertParams, JobRecord, Store } from '../store/types.js';

interface Waiting {
  params: JobInsertParams;
  resolve(job: JobRecord): void;
  reject(err: unknown): void;
}

/**
 * How long an insert may wait for others to share its commit: `microtask`, only those asked for
 * in the same synchronous run (a `Promise.all` of enqueues, or callers resumed together by the
 * previous batch) — nothing waits a turn of the event loop, so an enqueue awaited before the next
 * costs what it did; `turn`, also those asked for by the other callbacks of the same round of I/O
 * (the requests of many HTTP connections), at the cost of one turn of the event loop.
 */
export type InsertWindow = 'microtask' | 'turn';

/** Most jobs one flush writes; more wait for the next turn of the event loop, so timers run between. */
const MAX_BATCH = 500;

/**
 * Group commit for single enqueues: the plain (keyless) inserts asked for within one window
 * (see InsertWindow) are written by one `jobInsertMany`: one statement, one transaction, one
 * commit. Each caller's promise still resolves only once its job is committed, so an
 * acknowledged job is on disk as before; a lone insert takes the single-row statement.
 *
 * A batch that fails is retried one insert at a time, so one job's failure is its caller's
 * alone, as it would have been without the batching; except when the database is unavailable,
 * which every insert would meet (and wait out) again: then each caller gets that error.
 */
export class InsertBatcher {
  private waiting: Waiting[] = [];
  private microtaskQueued = false;
  private turnQueued = false;
  private readonly writing = new Set<Promise<void>>();

  constructor(private readonly store: Pick<Store, 'jobInsert' | 'jobInsertMany'>) {}

  insert(params: JobInsertParams, window: InsertWindow = 'microtask'): Promise<JobRecord> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ params, resolve, reject });
      if (window === 'turn') this.flushNextTurn();
      else if (!this.microtaskQueued) {
        this.microtaskQueued = true;
        queueMicrotask(() => {
          this.microtaskQueued = false;
          this.flush();
        });
      }
    });
  }

  /** Resolves once every insert asked for so far has been written or refused. */
  async drain(): Promise<void> {
    while (this.waiting.length > 0 || this.writing.size > 0) {
      if (this.writing.size === 0) await new Promise((resolve) => setImmediate(resolve));
      else await Promise.allSettled([...this.writing]);
    }
  }

  private flushNextTurn(): void {
    if (this.turnQueued) return;
    this.turnQueued = true;
    setImmediate(() => {
      this.turnQueued = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.waiting.length === 0) return;
    const batch = this.waiting.splice(0, MAX_BATCH);
    const write = this.write(batch).finally(() => this.writing.delete(write));
    this.writing.add(write);
    // The rest after a turn of the event loop: a synchronous driver would otherwise hold it.
    if (this.waiting.length > 0) this.flushNextTurn();
  }

  private async write(batch: Waiting[]): Promise<void> {
    if (batch.length > 1) {
      try {
        const jobs = await this.store.jobInsertMany(batch.map((w) => w.params));
        batch.forEach((w, i) => w.resolve(jobs[i]!));
        return;
      } catch (err) {
        if (err instanceof JobsError && err.code === 'unavailable') {
          for (const w of batch) w.reject(err);
          return;
        }
        // One by one below: each caller gets its own job or its own error.
      }
    }
    await Promise.all(batch.map((w) => this.store.jobInsert(w.params).then(w.resolve, w.reject)));
  }
}
