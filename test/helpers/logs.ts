import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** A pino logger at `trace` whose output is kept in memory, to assert on what gets logged. */
export function capturedLogger(): { logger: Logger; output: () => string } {
  let output = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      output += String(chunk);
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, sink), output: () => output };
}
