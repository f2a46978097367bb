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

/**
 * A batch run finished, but some of its items failed (recorded as such; the same command asks
 * only them again): exit 4, apart from a mistake (2), a service down (3) and a bug (1).
 */
export class IncompleteRunError extends UserError {
  constructor(message: string) {
    super(message, 4);
    this.name = "IncompleteRunError";
  }
}

/** A user id with no persona (never ingested, or forgotten). */
export class UnknownUserError extends UserError {
  constructor(
    readonly userId: string,
    hint: string,
  ) {
    super(`unknown user "${userId}": ${hint}`);
    this.name = "UnknownUserError";
  }
}

/**
 * An LLM step failed (provider error after retries, or an unusable answer). The CLI reports it
 * in one line (exit 3) like any UserError; batch runs (eval) record it for the one query and go on.
 */
export class ModelError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 3);
    this.name = "ModelError";
    if (options && "cause" in options) this.cause = options.cause;
  }
}

/** A step of an alignment run failed; nothing was saved, the persona stays at `version`. */
export class AlignmentError extends ModelError {
  constructor(
    readonly step: string,
    readonly version: number,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`alignment failed: ${step}: ${reason}; the persona stays at v${version}`, options);
    this.name = "AlignmentError";
  }
}

/** "cannot read <path>: no such file" and friends, for any failed file read. */
export function fileReadError(path: string, error: unknown): UserError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "permission denied" : (error as Error).message;
  return new UserError(`cannot read ${path}: ${why}`);
}
