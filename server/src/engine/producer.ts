import type { Logger } from '../logger.js';
import type { ClaimedJob, JobClaimParams, JobStore, TopicStore } from '../store/types.js';
import { Execution, type Ending, type ExecutorDeps } from './executor.js';
import type { TopicControl } from './topic-control.js';
import { claimLockOf, type RegisteredTopic } from './topic-settings.js';

/** The first retry of a failed claim, ms; doubled each failure in a row, up to the poll interval. */
const CLAIM_RETRY_BASE = 100;

/**
 * How soon a process asks again for a topic held back by its `max_running`, ms, when no slot
 * of its own freed meanwhile: another process's job of the topic may have finished.
 */
const CAP_RECHECK = 100;

export interface ProducerOptions {
  workerPoolSize: number;
  batchSize: number;
  pollInterval: number;
  lockDuration: number;
  /** The engine's heartbeat, ms, if any: its jobs are claimed for two heartbeats (claimLockOf). */
  heartbeat: number | undefined;
}

/**
 * The fetch loop. It claims only registered topics and never more than its free slots; while
 * claims come back full it claims again at once (there is more work); when a claim comes back
 * short it sleeps the poll interval, unless `wake()` (a due job was enqueued here, or a slot
 * freed while work was waiting) cuts the sleep short.
 */
export class Producer {
  /**
   * Jobs whose handler holds a worker slot. Arrays, not a Map and a Set with an entry added and
   * deleted per job: V8 links each hash table such churn replaces to its successor, and once
   * one of them sits in the old generation that chain keeps every job's objects alive through
   * young-generation collections. A 20,000-job drain promoted them all and its heap grew by
   * about 3 KB a job until a full collection (docs/benchmarks.md, Memory).
   */
  private readonly inflight: Execution[] = [];
  /** Results still being written; `stop()` waits for them too. */
  private readonly recording: Promise<unknown>[] = [];
  private wakeScheduled = false;
  private running = false;
  private loop: Promise<void> | null = null;
  /** The last claim filled every slot it asked for: a freed slot should claim again. */
  private saturated = false;
  private wakeRequested = false;
  private wakeUp: (() => void) | null = null;
  /** Claims failed in a row: the next is tried after a backoff from 100 ms up to the poll interval. */
  private claimFailures = 0;
  /**
   * Which claims a round makes, kept until a topic is registered or the topics' settings
   * change: `plain`, the one claim of every topic without settings or a concurrency, and
   * `special`, the topics claimed one by one within their limits.
   */
  private plan: ClaimPlan | null = null;

  constructor(
    private readonly store: JobStore & Pick<TopicStore, 'jobClaimControlled'>,
    /** Topics are only ever added (`register`), never removed. */
    private readonly topics: ReadonlyMap<string, RegisteredTopic>,
    private readonly deps: ExecutorDeps,
    private readonly options: ProducerOptions,
    private readonly onOutcome: (job: ClaimedJob, ending: Ending | Error) => void,
    private readonly logger: Logger,
    private readonly control: TopicControl,
    /** Each claim's jobs (perhaps none) and its round trip, ms: for metrics. */
    private readonly onClaimed?: (jobs: ClaimedJob[], ms: number) => void,
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  wake(): void {
    this.wakeRequested = true;
    this.wakeUp?.();
  }

  /**
   * Stops claiming, waits up to `timeout` ms for in-flight handlers, then aborts the rest and
   * releases their jobs to pending.
   */
  async stop(timeout: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loop;
    const all = () => Promise.all(this.inflight.map((e) => e.done.catch(() => undefined)));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeout)));
    const result = await Promise.race([all(), expired]);
    clearTimeout(timer);
    if (result === 'timeout') {
      for (const execution of [...this.inflight]) execution.abortForShutdown();
      await all();
    }
    await Promise.all([...this.recording]);
  }

  private async run(): Promise<void> {
    // A paused topic must not be claimed the plain way by a process that just started.
    await this.control.ready();
    while (this.running) {
      const free = this.options.workerPoolSize - this.inflight.length;
      if (free <= 0) {
        await this.sleep(this.options.pollInterval);
        continue;
      }
      const limit = Math.min(free, this.options.batchSize);
      this.wakeRequested = false;
      let claimed: ClaimedJob[];
      let recheckIn = this.options.pollInterval;
      try {
        const started = performance.now();
        const plan = this.claimPlan();
        if (plan.special.length === 0) {
          // Every topic without settings or a concurrency: the one plain claim, as it always was.
          claimed = await this.store.jobClaim({ ...plan.plain, limit });
          this.saturated = claimed.length === limit;
        } else {
          ({ claimed, recheckIn } = await this.claimEach(plan, limit));
        }
        this.onClaimed?.(claimed, performance.now() - started);
        this.claimFailures = 0;
      } catch (err) {
        // Soon, not a whole poll interval later: a lost connection is usually back within
        // moments (the pool may hold several dead ones, each failing one claim), and a change
        // signal that arrived meanwhile has already been spent on the failed claim.
        const retryIn = Math.min(this.options.pollInterval, CLAIM_RETRY_BASE * 2 ** this.claimFailures++);
        this.logger.error({ err, retryIn }, 'claiming jobs failed; retrying');
        await this.sleep(retryIn);
        continue;
      }
      for (const job of claimed) this.execute(job);
      if (!this.saturated) await this.sleep(recheckIn);
      // A store whose driver answers synchronously (SQLite) resolves every claim, handler and
      // completion as a microtask: without a turn of the event loop here a busy queue would
      // starve the process's timers and I/O for as long as the backlog lasts.
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * The plain claim of the topics without limits, then each special topic's own claim, in
   * registration order, each within the slots left and its own limits: its concurrency in this
   * process, and its settings, which the store applies under the topic's lock. A paused topic
   * is skipped (the store would refuse it too). `recheckIn`: how soon to claim again when
   * nothing came back full, sooner than the poll interval when a cap or a rate limit held a
   * topic back.
   */
  private async claimEach(plan: ClaimPlan, limit: number): Promise<{ claimed: ClaimedJob[]; recheckIn: number }> {
    let left = limit;
    let full = false;
    let recheckIn = this.options.pollInterval;
    const claimed: ClaimedJob[] = [];
    if (plan.plain.topics.length > 0) {
      const jobs = await this.store.jobClaim({ ...plan.plain, limit: left });
      claimed.push(...jobs);
      full = jobs.length === left;
      left -= jobs.length;
    }
    for (const topic of plan.special) {
      if (left <= 0) break;
      const registered = this.topics.get(topic)!;
      const settings = this.control.settingsOf(topic);
      if (settings?.paused) continue;
      const want = registered.concurrency === undefined ? left : Math.min(left, registered.concurrency - this.inflightOf(topic));
      if (want <= 0) continue;
      let jobs: ClaimedJob[];
      if (settings) {
        const result = await this.store.jobClaimControlled({ topic, limit: want, lockDuration: claimLockOf(registered) });
        jobs = result.jobs;
        if (result.heldBack === 'cap') recheckIn = Math.min(recheckIn, CAP_RECHECK);
        if (result.heldBack === 'rate' && result.retryAt) recheckIn = Math.min(recheckIn, Math.max(1, result.retryAt.getTime() - Date.now()));
      } else {
        jobs = await this.store.jobClaim({ topics: [topic], lockDuration: claimLockOf(registered), limit: want });
      }
      claimed.push(...jobs);
      if (jobs.length === want) full = true;
      left -= jobs.length;
    }
    this.saturated = full;
    return { claimed, recheckIn };
  }

  /** Handlers of `topic` holding a slot now. */
  private inflightOf(topic: string): number {
    let n = 0;
    for (const execution of this.inflight) if (execution.job.topic === topic) n++;
    return n;
  }

  /** Whether the topic is claimed on its own: it has settings, or a concurrency in this process. */
  private isSpecial(topic: string): boolean {
    return this.topics.get(topic)?.concurrency !== undefined || this.control.settingsOf(topic) !== undefined;
  }

  /** Worked out again when a topic was registered or the settings changed. */
  private claimPlan(): ClaimPlan {
    if (this.plan?.size === this.topics.size && this.plan.version === this.control.version) return this.plan;
    const plainTopics = [...this.topics.keys()].filter((topic) => !this.isSpecial(topic));
    const lockDurationByTopic = new Map<string, number>();
    const engineLock = claimLockOf(this.options);
    for (const topic of plainTopics) {
      const lock = claimLockOf(this.topics.get(topic)!);
      if (lock !== engineLock) lockDurationByTopic.set(topic, lock);
    }
    this.plan = {
      size: this.topics.size,
      version: this.control.version,
      plain: {
        topics: plainTopics,
        lockDuration: engineLock,
        ...(lockDurationByTopic.size > 0 ? { lockDurationByTopic } : {}),
      },
      special: [...this.topics.keys()].filter((topic) => this.isSpecial(topic)),
    };
    return this.plan;
  }

  /**
   * The slot frees as soon as the handler is done, not when its result is written: the next
   * claim then overlaps the completion write instead of waiting behind it (completions that
   * pile up meanwhile go out together in the completer's next statement).
   */
  private execute(job: ClaimedJob): void {
    const execution = new Execution(job, this.topics.get(job.topic)!, this.deps);
    this.inflight.push(execution);
    void execution.settled.then(() => this.slotFreed(execution));
    const recorded = execution.done.then(
      (ending) => this.onOutcome(job, ending),
      (err: Error) => {
        this.logger.error({ err, job: job.id }, 'recording a job result failed; it will be rescued after its lock expires');
        this.onOutcome(job, err);
      },
    );
    this.recording.push(recorded);
    void recorded.finally(() => {
      removeFrom(this.recording, recorded);
      // A capped topic's job counts as processing until its result is written: only then can
      // the claim start another in its place (here or in another process).
      if (this.control.settingsOf(job.topic)?.maxRunning != null) this.wake();
    });
  }

  /** Handlers finishing together free their slots in one claim: the wake waits a turn. */
  private slotFreed(execution: Execution): void {
    removeFrom(this.inflight, execution);
    // A special topic's freed slot may be all that held it back (its concurrency, or its cap).
    if ((!this.saturated && !this.isSpecial(execution.job.topic)) || this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.wake();
    });
  }

  /** Sleeps `ms` or until `wake()`; a wake that came while awake is consumed here. */
  private sleep(ms: number): Promise<void> {
    if (this.wakeRequested || !this.running) {
      this.wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        this.wakeRequested = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}

interface ClaimPlan {
  /** The topics registered and the settings' version it was worked out for. */
  size: number;
  version: number;
  plain: Omit<JobClaimParams, 'limit'>;
  special: string[];
}

/** Removes `item` (once) by moving the last element into its place: order does not matter here. */
function removeFrom<T>(items: T[], item: T): void {
  const index = items.indexOf(item);
  if (index === -1) return;
  items[index] = items[items.length - 1]!;
  items.pop();
}
