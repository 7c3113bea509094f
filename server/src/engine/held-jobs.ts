import type { Logger } from '../logger.js';
import type { JobStore } from '../store/types.js';
import type { Execution } from './executor.js';

/** How often the jobs this process runs are checked for cancel marks, ms (cancel within 1 s). */
export const CANCEL_CHECK_INTERVAL = 500;

/**
 * The jobs whose handlers run in this process. While there are any, every tick sends ONE
 * statement pair for all of them (store `jobHeartbeatMany`): the locks whose heartbeat is due are
 * renewed, and every job's cancel mark is read. So a cancel made by any process is seen within
 * a tick whether or not a notification would have arrived (none is sent for it), and a job
 * whose lock was taken over is aborted. An idle process runs no tick.
 */
export class HeldJobs {
  /** An array, not a Set: see Producer.inflight for why (per-job churn of hash tables). */
  private readonly running: Execution[] = [];
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;

  constructor(
    private readonly store: JobStore,
    private readonly logger: Logger,
    /** The tick, ms: at most CANCEL_CHECK_INTERVAL, and half the shortest heartbeat. */
    private readonly tick: () => number,
  ) {}

  add(execution: Execution): void {
    this.running.push(execution);
    if (!this.timer && !this.checking) this.schedule();
  }

  remove(execution: Execution): void {
    const index = this.running.indexOf(execution);
    if (index === -1) return;
    this.running[index] = this.running[this.running.length - 1]!;
    this.running.pop();
    if (this.running.length === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** A cancel made in this process: its own executions of the job are told at once. */
  cancelNow(id: string): void {
    for (const execution of this.running) if (execution.job.id === id) execution.cancelRequested();
  }

  /** Waits for a check in flight; no tick runs once nothing is held. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.checking;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.checking = this.check().finally(() => {
        this.checking = null;
        if (this.running.length > 0 && !this.timer) this.schedule();
      });
    }, this.tick());
    this.timer.unref();
  }

  private async check(): Promise<void> {
    const executions = [...this.running];
    if (executions.length === 0) return;
    const now = Date.now();
    try {
      const held = await this.store.jobHeartbeatMany(executions.map((e) => e.heartbeatItem(now)));
      const marks = new Map(held.map((h) => [h.id, h.cancelRequested]));
      for (const execution of executions) {
        const mark = marks.get(execution.job.id);
        if (mark === undefined) execution.lockLost();
        else if (mark) execution.cancelRequested();
      }
    } catch (err) {
      this.logger.warn({ err }, 'renewing locks and checking for cancels failed; will try again');
    }
  }
}
