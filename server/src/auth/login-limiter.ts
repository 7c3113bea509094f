/**
 * Refuses a key's attempts (a client's address, or the email it signs in as) once it has made
 * `maxAttempts` in a window, until the window that began with its first attempt ends. Attempts
 * are counted when they start, not when they fail, so a burst of parallel guesses cannot slip
 * past the count. In memory, so per process: a brake on guessing, not an account lockout.
 */
export class LoginLimiter {
  private readonly windows = new Map<string, { attempts: number; endsAt: number }>();

  constructor(
    private readonly maxAttempts = 5,
    private readonly windowMs = 60_000,
    /** Bounds memory when many keys try: expired windows go first, then the oldest. */
    private readonly maxKeys = 10_000,
  ) {}

  /** Counts an attempt; returns 0 when it may go ahead, else the ms until it may retry. */
  attempt(key: string, now = Date.now()): number {
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      this.windows.delete(key);
      this.makeRoom(now);
      window = { attempts: 0, endsAt: now + this.windowMs };
      this.windows.set(key, window);
    }
    if (window.attempts >= this.maxAttempts) return window.endsAt - now;
    window.attempts++;
    return 0;
  }

  /** Clears the key's count. */
  succeeded(key: string): void {
    this.windows.delete(key);
  }

  /** Takes back one attempt `attempt` let through: one that turned out not to be a guess. */
  forgive(key: string): void {
    const window = this.windows.get(key);
    if (window && window.attempts > 0) window.attempts--;
  }

  private makeRoom(now: number): void {
    if (this.windows.size < this.maxKeys) return;
    for (const [key, window] of this.windows) {
      if (window.endsAt <= now) this.windows.delete(key);
    }
    // Still full: drop the oldest windows (Map iterates in insertion order).
    for (const key of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}
