// Errors a user can fix, shared by every layer: the CLIs show such an error as its message alone.

/** A problem the user can fix (bad flag, bad file, unreachable target): shown as its message alone. */
export class UserError extends Error {
  override name = 'UserError';
}

/**
 * The target did not do what a rule requires: a verdict, not a bug in the suite. Its stack is its
 * message alone, so that cucumber's reports show what was expected and observed, not a stack trace.
 */
export class ConformanceFailure extends Error {
  override name = 'ConformanceFailure';
  constructor(message: string) {
    super(message);
    Object.defineProperty(this, 'stack', { value: message, writable: true, configurable: true });
  }
}
