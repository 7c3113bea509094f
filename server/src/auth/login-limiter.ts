/**
 * Refuses a client's logins once it has made `maxAttempts` in a window, until the window that
 * began with its first attempt ends. Attempts are counted when they start, not when they fail,
 * so a burst of parallel guesses cannot slip past the count; a success clears it.
 * In memory, so per process: a brake on guessing, not an account lockout.
 */
export class LoginLimiter {
  private readonly windows = new Map<string, { attempts: number; endsAt: number }>();

  constructor(
    private readonly maxAttempts = 5,
    private readonly windowMs = 60_000,
    /** Bounds memory when many addresses try: expired windows go first, then the oldest. */
    private readonly maxClients = 10_000,
  ) {}

  /** Counts an attempt; returns 0 when it may go ahead, else the ms until it may retry. */
  attempt(client: string, now = Date.now()): number {
    let window = this.windows.get(client);
    if (!window || window.endsAt <= now) {
      this.windows.delete(client);
      this.makeRoom(now);
      window = { attempts: 0, endsAt: now + this.windowMs };
      this.windows.set(client, window);
    }
    if (window.attempts >= this.maxAttempts) return window.endsAt - now;
    window.attempts++;
    return 0;
  }

  succeeded(client: string): void {
    this.windows.delete(client);
  }

  private makeRoom(now: number): void {
    if (this.windows.size < this.maxClients) return;
    for (const [client, window] of this.windows) {
      if (window.endsAt <= now) this.windows.delete(client);
    }
    // Still full: drop the oldest windows (Map iterates in insertion order).
    for (const client of this.windows.keys()) {
      if (this.windows.size < this.maxClients) break;
      this.windows.delete(client);
    }
  }
}
