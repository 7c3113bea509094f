import express from 'express';

/**
 * The proxies in front of the server whose `X-Forwarded-For` to believe: a hop count (how many
 * proxies, counted from the server), or their addresses and subnets (`loopback`, `10.0.0.0/8`,
 * `192.168.1.5`), comma-separated or as a list. Express's `trust proxy`: `req.ip` is then the
 * address the nearest untrusted hop had, which is the client's when the proxies append to the
 * header. `true` (believe any hop) is not offered: the client could then pick its own address.
 */
export type TrustProxy = number | string | readonly string[];

/** A hop count as text (`" 1 "`): the CLI reads it as a number, the option refuses it as an address. */
export const HOP_COUNT_TEXT = /^\s*\d+\s*$/;

/** Throws a RangeError naming the option unless Express takes the value as it is. */
export function validTrustProxy(value: TrustProxy): void {
  const problem = typeof value === 'number' ? hopCountProblem(value) : addressesProblem(value);
  if (problem) {
    throw new RangeError(
      `Option trustProxy must be a hop count or proxy addresses and subnets (e.g. 1, "loopback" or "10.0.0.0/8"), got ${JSON.stringify(value)}: ${problem}.`,
    );
  }
}

function hopCountProblem(value: number): string | null {
  return Number.isInteger(value) && value >= 0 ? null : 'not a whole number';
}

/** Express compiles the setting when it is set (with proxy-addr), so a fresh app tells. */
function addressesProblem(value: unknown): string | null {
  if (typeof value !== 'string' && !Array.isArray(value)) return 'neither a number nor addresses';
  const entries: unknown[] = typeof value === 'string' ? value.split(',') : value;
  // proxy-addr would read "1" as the address 0.0.0.1.
  if (entries.some((entry) => HOP_COUNT_TEXT.test(String(entry)))) return 'a hop count is a number, not a string';
  try {
    express().set('trust proxy', value);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
