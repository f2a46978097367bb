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

/** A service the command needs (model provider, database, download host) cannot be reached: exit 3. */
export class ServiceUnavailableError extends UserError {
  constructor(message: string) {
    super(message, 3);
    this.name = "ServiceUnavailableError";
  }
}

/** "cannot read <path>: no such file" and friends, for any failed file read. */
export function fileReadError(path: string, error: unknown): UserError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "permission denied" : (error as Error).message;
  return new UserError(`cannot read ${path}: ${why}`);
}
