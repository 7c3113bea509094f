import { ErrorSchema, type ErrorBody } from '@jobbase/contract';

/** Per-field problems, as the server reports them: `{ topic: { code, message } }`. */
export type JobsApiErrorData = ErrorBody['data'];

/** Status of a JobsApiError when no answer came at all. */
export const NETWORK_ERROR_STATUS = 0;

/**
 * Any call that did not succeed: the server answered with an error status (`status` is that
 * status, `message` and `data` come from its PocketBase-style body), or no answer came
 * (`status` 0, the underlying failure in `cause`). A typed topic's payload that does not fit its
 * schema is refused before it is sent, with the 400 the server would answer (`body` undefined).
 */
export class JobsApiError extends Error {
  override readonly name = 'JobsApiError';
  /** The HTTP status, or 0 when the request never got an answer. */
  readonly status: number;
  /** Field errors from the body; `{}` when none (and always for network failures). */
  readonly data: JobsApiErrorData;
  /** The response body as received: the error object, text, or undefined. */
  readonly body: unknown;

  constructor(status: number, message: string, options: { data?: JobsApiErrorData; body?: unknown; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.data = options.data ?? {};
    this.body = options.body;
  }

  /** True when the request never got an answer (server down, DNS, refused connection, CORS). */
  get isNetworkError(): boolean {
    return this.status === NETWORK_ERROR_STATUS;
  }

  /** An error answer. A body that is not the error shape (a proxy's HTML page, say) still gives a clear message. */
  static fromResponse(status: number, body: unknown, request: string): JobsApiError {
    const parsed = ErrorSchema.safeParse(body);
    if (parsed.success) return new JobsApiError(status, parsed.data.message, { data: parsed.data.data, body });
    return new JobsApiError(status, `${request} failed with HTTP ${status}${describeBody(body)}.`, { body });
  }

  /** No answer: `cause` is what fetch threw. */
  static network(request: string, cause: unknown): JobsApiError {
    return new JobsApiError(NETWORK_ERROR_STATUS, `${request} failed: no answer from the server (${reason(cause)}).`, {
      cause,
    });
  }
}

function describeBody(body: unknown): string {
  if (typeof body === 'string' && body.trim()) {
    const text = body.trim().replace(/\s+/g, ' ');
    return ` and a body that is not a Jobbase error: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`;
  }
  return ' and no Jobbase error body';
}

/** fetch's own message is vague ("fetch failed" in Node); the reason is usually in its cause. */
function reason(err: unknown): string {
  const messages: string[] = [];
  for (let e: unknown = err; e instanceof Error && messages.length < 3; e = e.cause) messages.push(e.message);
  return messages.join(': ') || String(err);
}
