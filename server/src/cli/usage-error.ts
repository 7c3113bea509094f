/** A command that cannot do what was asked, for a reason its message says in full: printed without a stack, exit 1. */
export class UsageError extends Error {
  override name = 'UsageError';
}
