// Errors a user can fix, shared by every layer: the CLIs show such an error as its message alone.

/** A problem the user can fix (bad flag, bad file, unreachable target): shown as its message alone. */
export class UserError extends Error {
  override name = 'UserError';
}
