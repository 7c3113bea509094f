import type { Logger } from '../logger.js';
import { PeriodicPass } from '../periodic-pass.js';
import type { JobInsertParams, JobRecord, ScheduleRecord, ScheduleStore } from '../store/types.js';
import { planFiring } from './schedules.js';

/** Most due schedules one pass reads; the next pass, a second later, carries on. */
const DUE_BATCH = 100;

export interface SchedulerOptions {
  interval: number;
  /** ms: a tick later than this is missed and follows the schedule's `misfire`. */
  misfireGrace: number;
  /** The job of one tick, with the engine's defaults (topic's max_retries and priority). */
  jobOf: (schedule: ScheduleRecord, now: Date) => JobInsertParams;
  /** Tells this process's workers about jobs it made. */
  made: (jobs: JobRecord[]) => void;
  logger: Logger;
  /** The time a pass fires up to; tests move it. */
  clock?: () => Date;
}

/**
 * Fires recurring schedules: every engine that runs (`start()`, `serve` included) runs this
 * pass each `interval` ms. Any number of them may fire the same schedule at once: the store's
 * compare-and-set on next_run_at (store/schedules.ts) lets exactly one make each tick's jobs.
 * With nothing due a pass is one indexed read.
 */
export class Scheduler extends PeriodicPass {
  constructor(
    private readonly store: ScheduleStore,
    private readonly options: SchedulerOptions,
  ) {
    super(options.interval);
  }

  protected async pass(): Promise<void> {
    const now = this.options.clock?.() ?? new Date();
    let due: ScheduleRecord[];
    try {
      due = await this.store.scheduleGetDue(now, DUE_BATCH);
    } catch (err) {
      this.options.logger.error({ err }, 'reading due schedules failed; will try again');
      return;
    }
    for (const schedule of due) {
      try {
        await this.fire(schedule, now);
      } catch (err) {
        this.options.logger.error({ err, schedule: schedule.name }, 'firing a schedule failed; will try again');
      }
    }
  }

  private async fire(schedule: ScheduleRecord, now: Date): Promise<void> {
    const plan = planFiring(schedule, now, this.options.misfireGrace);
    const jobs = plan.ticks.map((tick) => ({ ...this.options.jobOf(schedule, now), schedule: { name: schedule.name, tick } }));
    const fired = await this.store.scheduleFire({
      name: schedule.name,
      expectedNextRunAt: schedule.nextRunAt,
      nextRunAt: plan.nextRunAt,
      jobs,
      overlap: schedule.overlap,
    });
    if (fired.outcome === 'fired' && fired.jobs.length > 0) this.options.made(fired.jobs);
    if (fired.outcome === 'overlap') {
      this.options.logger.info({ schedule: schedule.name, ticks: jobs.length }, 'skipped ticks: the last job is still pending or processing');
    }
  }
}
