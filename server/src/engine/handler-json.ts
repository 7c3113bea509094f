import { JobsError } from '../errors.js';
import { encodePayload } from './validate.js';

/**
 * A value a handler hands over (its return value as `result`, `job.progress(value)`) as JSON
 * text, by the payload's own rules (JSON, within `maxBytes`, storable text on both dialects).
 * `undefined` is nothing to store. Throws an Error naming `what` otherwise.
 */
export function encodeHandlerJson(value: unknown, maxBytes: number, what: 'result' | 'progress'): string | undefined {
  if (value === undefined) return undefined;
  try {
    return encodePayload(value, maxBytes);
  } catch (err) {
    if (!(err instanceof JobsError)) throw err;
    const message = err.message.replace(/^payload/, what);
    throw new JobsError('validation', `The handler's ${what} cannot be stored: ${message}`, { [what]: { code: 'invalid', message } });
  }
}
