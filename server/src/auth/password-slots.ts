/** What `PasswordSlots.run` answers when it refused to run the check. */
export const BUSY = Symbol('busy');

/**
 * At most `concurrent` password checks run at once and `queued` more wait their turn; any
 * beyond are refused at once. A check is a 32 MiB scrypt (password.ts) on libuv's thread pool,
 * 4 threads unless UV_THREADPOOL_SIZE says otherwise, which every signed-in request also passes
 * through: jose verifies a token's HMAC with WebCrypto, which Node runs on that pool. Unbounded,
 * a flood of wrong sign-ins filled the pool and signed-in requests queued behind it for seconds
 * (docs/reliability.md); two checks at a time leave the other threads free.
 */
export class PasswordSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrent = 2,
    /** A few sign-ins at the same moment wait (a check takes ~50–100 ms) rather than fail. */
    private readonly queued = 8,
  ) {}

  /** `check`'s result, or BUSY (without running it) when every slot and place in the queue is taken. */
  async run<T>(check: () => Promise<T>): Promise<T | typeof BUSY> {
    if (this.running < this.concurrent) this.running++;
    else if (this.waiting.length < this.queued) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else return BUSY;
    try {
      return await check();
    } finally {
      this.release();
    }
  }

  /** Hands the slot to the next in the queue, if any (then `running` stays as it is). */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
