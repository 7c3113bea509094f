import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** One line pino wrote: its level name, message and the fields logged with it. */
export interface LogEntry {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/**
 * A pino logger at `trace` whose output is kept in memory, to assert on what gets logged:
 * `output()` is the raw text, `entries(msg?)` the lines parsed (only those whose message
 * contains `msg`, when given).
 */
export function capturedLogger(): { logger: Logger; output: () => string; entries: (msg?: string) => LogEntry[] } {
  let output = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      output += String(chunk);
      done();
    },
  });
  const logger = pino({ level: 'trace', formatters: { level: (label) => ({ level: label }) } }, sink);
  const entries = (msg?: string) =>
    output
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as LogEntry)
      .filter((entry) => msg === undefined || entry.msg.includes(msg));
  return { logger, output: () => output, entries };
}
