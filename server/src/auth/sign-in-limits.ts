import { LoginLimiter } from './login-limiter.js';
import { normalizeEmail } from './superusers.js';

/** What an admitted attempt tells the limits once its password was checked, or could not be. */
export interface SignInAttempt {
  /** The password was right. */
  succeeded(): void;
  /** No password was checked (too many checks running): the attempt does not count. */
  unchecked(): void;
}

export interface SignInLimitOptions {
  /** Attempts from one address in a window; default 5. */
  perAddress?: number;
  /** Attempts at one email, from every address together, in a window; default 10. */
  perIdentity?: number;
  /** Default one minute, from a key's first attempt. */
  windowMs?: number;
}

/** Addresses remembered per email as ones it signed in from: the latest few. */
const KNOWN_ADDRESSES = 16;

/**
 * The brakes on password guessing, in memory (per process):
 *
 * - per address: 5 attempts a minute, whatever the email; a success clears its count. Behind a
 *   reverse proxy this is the proxy's address unless the app trusts it (`trustProxy`).
 * - per email (lower-cased, known or not, so a refusal says nothing about whether it exists):
 *   10 attempts a minute from every address together, so guesses spread over many addresses
 *   stop too. A success takes back its own attempt, so only failures (and attempts still being
 *   checked) fill it.
 * - an address an email has signed in from (one of its last 16, since the process started) is
 *   exempt from that email's limit: whoever keeps the email's window full can lock it out of
 *   new places, never out of the places its superuser signs in from. Such an address still has
 *   its own 5 a minute.
 *
 * An attempt refused before its password was checked does not count against the other limit.
 */
export class SignInLimits {
  private readonly addresses: LoginLimiter;
  private readonly identities: LoginLimiter;
  private readonly known = new Map<string, string[]>();

  constructor({ perAddress = 5, perIdentity = 10, windowMs = 60_000 }: SignInLimitOptions = {}) {
    this.addresses = new LoginLimiter(perAddress, windowMs);
    this.identities = new LoginLimiter(perIdentity, windowMs);
  }

  /** Counts an attempt of `address` at `identity`: refused, the ms until it may retry. */
  admit(address: string, identity: string, now = Date.now()): SignInAttempt | { retryAfterMs: number } {
    const email = normalizeEmail(identity);
    const addressWait = this.addresses.attempt(address, now);
    if (addressWait > 0) return { retryAfterMs: addressWait };
    const exempt = this.known.get(email)?.includes(address) ?? false;
    const identityWait = exempt ? 0 : this.identities.attempt(email, now);
    if (identityWait > 0) {
      this.addresses.forgive(address);
      return { retryAfterMs: identityWait };
    }
    return {
      succeeded: () => {
        this.addresses.succeeded(address);
        if (!exempt) this.identities.forgive(email);
        this.remember(email, address);
      },
      unchecked: () => {
        this.addresses.forgive(address);
        if (!exempt) this.identities.forgive(email);
      },
    };
  }

  /** Only a right password adds an email here, so the map holds real superusers only. */
  private remember(email: string, address: string): void {
    const addresses = (this.known.get(email) ?? []).filter((a) => a !== address);
    addresses.push(address);
    this.known.set(email, addresses.slice(-KNOWN_ADDRESSES));
  }
}
