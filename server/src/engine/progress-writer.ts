import type { JobStore } from '../store/types.js';
import type { Execution } from './executor.js';
import { encodeHandlerJson } from './handler-json.js';

/** Bytes of JSON one `job.progress(value)` may take. */
export const MAX_PROGRESS_SIZE = 64 * 1024;

/** Shortest time between two progress writes of one job, ms. */
export const PROGRESS_INTERVAL = 250;

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * One job's `job.progress(value)` calls, coalesced: the first is written at once, the ones that
 * follow within PROGRESS_INTERVAL wait for it and only the last of them is written, so a handler
 * reporting in a tight loop costs at most four writes a second. Each write renews the lock as a
 * heartbeat would and reads the cancel mark. Made on a handler's first call: a handler that
 * never reports progress pays nothing.
 */
export class ProgressWriter {
  /** The latest value not yet written, as JSON text. */
  private pending: string | undefined;
  private waiters: Waiter[] = [];
  private lastWrite = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;

  constructor(
    private readonly execution: Execution,
    private readonly store: JobStore,
  ) {}

  push(value: unknown): Promise<void> {
    let json: string | undefined;
    try {
      json = encodeHandlerJson(value, MAX_PROGRESS_SIZE, 'progress');
    } catch (err) {
      return Promise.reject(err);
    }
    this.pending = json ?? 'null';
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Writes what is still pending and waits for it; errors were handed to the callers. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.writing;
    if (this.pending !== undefined) this.write();
    await this.writing;
  }

  private schedule(): void {
    if (this.writing || this.timer) return;
    const wait = this.lastWrite + PROGRESS_INTERVAL - Date.now();
    if (wait <= 0) this.write();
    else this.timer = setTimeout(() => this.write(), wait);
  }

  private write(): void {
    this.timer = null;
    const progressJson = this.pending!;
    const waiters = this.waiters;
    this.pending = undefined;
    this.waiters = [];
    const now = Date.now();
    this.lastWrite = now;
    const { job } = this.execution;
    const lockedUntil = this.execution.lockedUntilAt(now);
    this.writing = this.store
      .jobSetProgress({ id: job.id, lockToken: job.lockToken, progressJson, lockedUntil })
      .then(
        (held) => {
          if (!held) {
            this.execution.lockLost();
          } else {
            this.execution.renewed(now);
            if (held.cancelRequested) this.execution.cancelRequested();
          }
          for (const w of waiters) w.resolve();
        },
        (err: unknown) => {
          for (const w of waiters) w.reject(err);
        },
      )
      .finally(() => {
        this.writing = null;
        if (this.pending !== undefined) this.schedule();
      });
  }
}
