import { pino } from 'pino';

/** The slice of pino the engine and server use; any pino logger fits. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** pino at `JOBBASE_LOG_LEVEL` (default info). */
export function defaultLogger(): pino.Logger {
  return pino({ name: 'jobbase', level: process.env.JOBBASE_LOG_LEVEL ?? 'info' });
}
