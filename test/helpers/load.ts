import { api, type ApiRequest, type ApiResponse } from './app.js';

export interface LoadResult {
  requests: number;
  /** Status → count, for everything that was not the expected status. */
  errors: Record<string, number>;
  /** A few of the unexpected answers, to show in a failure. */
  samples: string[];
  latencies: number[];
  seconds: number;
}

export interface LoadOptions {
  /** Requests in flight at once. */
  concurrency: number;
  /** Stop after this many requests… */
  requests?: number;
  /** …or after this long (ms), whichever comes first; one of the two is required. */
  durationMs?: number;
  /** The n-th request: where to send it and what. */
  request: (n: number) => { url: string; path: string } & ApiRequest;
  /** The status a request should get (default 200). */
  expect?: (n: number) => number;
  /** Checked before each request: true stops the load early. */
  stopWhen?: () => boolean;
  /** Called with each answer, e.g. to keep the ids of acknowledged jobs. */
  onResponse?: (n: number, res: ApiResponse) => void;
}

/**
 * A closed-loop load generator on loopback: `concurrency` clients each send their next request
 * when the last one is answered, until the count or the time is up. Network failures count as
 * errors (status "network"), they never throw.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.requests === undefined && options.durationMs === undefined) throw new Error('requests or durationMs');
  const started = performance.now();
  const deadline = options.durationMs === undefined ? Infinity : started + options.durationMs;
  const limit = options.requests ?? Infinity;
  const result: LoadResult = { requests: 0, errors: {}, samples: [], latencies: [], seconds: 0 };
  let next = 0;
  const client = async () => {
    while (next < limit && performance.now() < deadline && !options.stopWhen?.()) {
      const n = next++;
      const { url, path, ...request } = options.request(n);
      const sent = performance.now();
      let status: string;
      try {
        const res = await api(url, path, request);
        status = String(res.status);
        options.onResponse?.(n, res);
        if (res.status !== (options.expect?.(n) ?? 200) && result.samples.length < 5) result.samples.push(`${res.status} ${res.text.slice(0, 300)}`);
      } catch (err) {
        status = 'network';
        if (result.samples.length < 5) result.samples.push(`network: ${(err as Error).message} ${String((err as Error).cause ?? '')}`);
      }
      result.latencies.push(performance.now() - sent);
      result.requests++;
      if (status !== String(options.expect?.(n) ?? 200)) result.errors[status] = (result.errors[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** The q-th quantile (0..1) of some numbers, by nearest rank. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
