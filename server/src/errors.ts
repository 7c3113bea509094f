/** What went wrong, as a value: the HTTP layer maps each code to a status in one place. */
export type JobsErrorCode =
  | 'validation' // bad input: a field is wrong
  | 'payload_too_large'
  | 'page_too_large' // a list page's payloads exceed the budget of one page
  | 'not_found'
  | 'conflict' // the job's status forbids the action
  | 'finished' // cancel of a job already completed, failed or cancelled
  | 'unique_conflict' // another job holds the unique key (on_conflict "error", or "replace" of a job not pending)
  | 'topic_taken' // register() of a topic that already has a handler
  | 'closed' // the engine was closed
  | 'unavailable' // the database cannot be reached
  | 'lock_lost' // a remote worker's lock token no longer holds the job (issue 19)
  | 'forbidden'; // a worker token asked for what its role or topics do not allow (issue 19)

export interface FieldProblem {
  code: string;
  message: string;
}

export class JobsError extends Error {
  override readonly name = 'JobsError';
  constructor(
    readonly code: JobsErrorCode,
    message: string,
    /** Field name → its problem, as PocketBase's error `data`. */
    readonly fields: Record<string, FieldProblem> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function validationError(field: string, code: string, message: string): JobsError {
  return new JobsError('validation', message, { [field]: { code, message } });
}
