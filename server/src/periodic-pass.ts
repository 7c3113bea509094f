/**
 * Maintenance that runs in the background every `interval` ms while started (the rescuer, the
 * cleaner). Timers are unref'd so they never keep a process alive; a pass asked for while one
 * runs shares it; `stop()` waits for the pass in flight.
 */
export abstract class PeriodicPass {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  /** `interval`: ms, or a function read at each `start()` (the rescuer's depends on the topics registered). */
  constructor(private readonly interval: number | (() => number)) {}

  /** One pass; must not throw (log instead): nothing awaits it but `stop()`. */
  protected abstract pass(): Promise<void>;

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.runNow(), typeof this.interval === 'function' ? this.interval() : this.interval);
    this.timer.unref();
    void this.runNow();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  runNow(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
  }
}
