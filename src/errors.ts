/**
 * A mistake the user can fix (bad input, unknown user, missing setting, unreachable provider).
 * The CLI prints only its one-line message and exits non-zero; anything else is a bug and
 * keeps its stack trace.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = "UserError";
  }
}
