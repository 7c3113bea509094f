// `serve`'s settings for running the queue: retention of finished jobs and the metrics token.
import { InvalidArgumentError, Option } from 'commander';

const DAY = 86_400_000;
const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: DAY };

/** The server keeps completed jobs a week, failed and cancelled ones a month unless told otherwise. */
export const DEFAULT_KEEP_COMPLETED = 7 * DAY;
export const DEFAULT_KEEP_FAILED = 30 * DAY;
export const DEFAULT_KEEP_CANCELLED = 30 * DAY;

/** `7d`, `12h`, `30m`, `90s`, `500ms`, or `0` (kept for ever) → ms. */
export function parseRetention(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(value.trim());
  if (!m || (m[2] === undefined && Number(m[1]) !== 0)) {
    throw new InvalidArgumentError(`Expected a duration such as 7d, 12h or 30m, or 0 to keep jobs for ever, got "${value}".`);
  }
  return Math.round(Number(m[1]) * UNITS[(m[2] ?? 'ms').toLowerCase()]!);
}

/** A retention as the banner and the docs say it: `7 d`, `12 h`, or `kept for ever`. */
export function describeRetention(ms: number): string {
  if (ms === 0) return 'kept for ever';
  for (const [unit, size] of [['d', DAY], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms % size === 0) return `${ms / size} ${unit}`;
  }
  return `${ms} ms`;
}

function retentionOption(status: 'completed' | 'failed' | 'cancelled', fallback: number): Option {
  return new Option(`--keep-${status} <duration>`, `how long ${status} jobs are kept, e.g. 7d, 12h or 30m; 0 keeps them for ever`)
    .env(`JOBBASE_KEEP_${status.toUpperCase()}`)
    .default(fallback, describeRetention(fallback).replace(' ', ''))
    .argParser(parseRetention);
}

export function keepCompletedOption(): Option {
  return retentionOption('completed', DEFAULT_KEEP_COMPLETED);
}

export function keepFailedOption(): Option {
  return retentionOption('failed', DEFAULT_KEEP_FAILED);
}

export function keepCancelledOption(): Option {
  return retentionOption('cancelled', DEFAULT_KEEP_CANCELLED);
}

export function parseMetricsToken(value: string): string {
  if (value.trim().length < 16) throw new InvalidArgumentError('Expected a metrics token of at least 16 characters.');
  return value.trim();
}

export function metricsTokenOption(): Option {
  return new Option('--metrics-token <token>', 'a bearer token (16+ characters) a Prometheus scraper may read /api/metrics with; a superuser token always can')
    .env('JOBBASE_METRICS_TOKEN')
    .argParser(parseMetricsToken);
}
