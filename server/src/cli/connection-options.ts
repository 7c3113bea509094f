// The options of `serve` that set the HTTP server's limits on slow and idle clients.
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONNECTION_LIMITS } from '../http/http-server.js';

/** `10000` → 10000; anything but digits (a unit, a sign, a fraction) is refused, so `10s` is not read as 10. */
function parsePositiveInteger(what: string): (value: string) => number {
  return (value) => {
    const number = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
    if (!Number.isSafeInteger(number) || number < 1) throw new InvalidArgumentError(`Expected ${what}, got "${value}".`);
    return number;
  };
}

function millisecondsOption(flag: string, env: string, description: string, byDefault: number): Option {
  return new Option(`${flag} <ms>`, description)
    .env(env)
    .default(byDefault, String(byDefault))
    .argParser(parsePositiveInteger('a whole number of milliseconds above 0, e.g. 10000'));
}

export function headersTimeoutOption(): Option {
  return millisecondsOption('--headers-timeout', 'JOBBASE_HEADERS_TIMEOUT', 'ms a client may take to send its request headers; then 408', DEFAULT_CONNECTION_LIMITS.headersTimeout);
}

export function requestTimeoutOption(): Option {
  return millisecondsOption('--request-timeout', 'JOBBASE_REQUEST_TIMEOUT', 'ms a client may take to send a whole request, body included; then 408', DEFAULT_CONNECTION_LIMITS.requestTimeout);
}

export function keepAliveTimeoutOption(): Option {
  return millisecondsOption('--keep-alive-timeout', 'JOBBASE_KEEP_ALIVE_TIMEOUT', 'ms an idle keep-alive connection stays open', DEFAULT_CONNECTION_LIMITS.keepAliveTimeout);
}

export function maxConnectionsOption(): Option {
  return new Option('--max-connections <n>', 'connections open at once; past it, a new one is closed unanswered')
    .env('JOBBASE_MAX_CONNECTIONS')
    .default(DEFAULT_CONNECTION_LIMITS.maxConnections, String(DEFAULT_CONNECTION_LIMITS.maxConnections))
    .argParser(parsePositiveInteger('a whole number of connections above 0, e.g. 1000'));
}
