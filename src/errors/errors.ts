/**
 * A mistake the user can fix (bad input, unknown user, missing setting, unreachable provider).
 * The CLI prints only its one-line message and exits non-zero; anything else is a bug and
 * keeps its stack trace. The message speaks of the API's inputs (graph inputs, `context` keys),
 * which is what a LangGraph server reports; the CLI says it in its own terms: `cliMessage` when
 * the wording differs (a command to run instead of a graph), and its flags for InputError's inputs.
 */
export class UserError extends Error {
  /** The message as the CLI says it, when it differs from the API's. */
  readonly cliMessage?: string;
  constructor(
    message: string,
    readonly exitCode = 2,
    options: { cli?: string } = {},
  ) {
    super(message);
    this.name = "UserError";
    if (options.cli !== undefined) this.cliMessage = options.cli;
  }
}

/**
 * A bad value of one input, named as the API names it (`batchSize`, `userId`); `describe`
 * writes the message around whatever name a front end gives that input (the CLI: `--batch`).
 */
export class InputError extends UserError {
  constructor(
    readonly input: string,
    readonly describe: (name: string) => string,
    exitCode = 2,
  ) {
    super(describe(input), exitCode);
    this.name = "InputError";
  }
}

/** A service the command needs (model provider, database, download host) cannot be reached: exit 3. */
export class ServiceUnavailableError extends UserError {
  constructor(message: string) {
    super(message, 3);
    this.name = "ServiceUnavailableError";
  }
}

/** Other processes kept a database's write lock past its busy timeout: exit 3, and a retry usually succeeds. */
export class DatabaseBusyError extends ServiceUnavailableError {
  constructor(file: string, waitedMs: number) {
    super(
      `the database ${file} is busy: other processes kept it locked for more than ${waitedMs / 1000} s; retry the command`,
    );
    this.name = "DatabaseBusyError";
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

/** A user id with no persona (never ingested, or forgotten); `cliHint` says what to run in the CLI's terms. */
export class UnknownUserError extends UserError {
  constructor(
    readonly userId: string,
    cliHint: string,
  ) {
    super(`unknown user "${userId}": no persona yet (run the ingest graph with the user's history first)`, 2, {
      cli: `unknown user "${userId}": ${cliHint}`,
    });
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
    super(`alignment failed: ${step}: ${reason}; nothing was saved, the persona stays at v${version}`, options);
    this.name = "AlignmentError";
  }
}

/** "cannot read <path>: no such file" and friends, for any failed file read. */
export function fileReadError(path: string, error: unknown): UserError {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === "ENOENT"
      ? "no such file"
      : code === "EISDIR"
        ? "is a directory"
        : code === "EACCES"
          ? "permission denied"
          : (error as Error).message;
  return new UserError(`cannot read ${path}: ${why}`);
}

/**
 * What the machine or the database refused, not a bug: a full disk, a corrupt database file, a
 * lock another process held past the wait. One line and exit 3, like any service that fails.
 * Matched by code: Node's (ENOSPC), SQLite's (better-sqlite3: SQLITE_FULL, SQLITE_CORRUPT,
 * SQLITE_NOTADB, SQLITE_BUSY and their extended codes) and PostgreSQL's SQLSTATE (53100
 * disk_full, 55P03 lock_not_available, XX001 data_corrupted).
 */
export function environmentError(error: unknown): ServiceUnavailableError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  const detail = oneLine((error as Error).message || code);
  if (code === "ENOSPC" || /^SQLITE_FULL(_|$)/.test(code) || code === "53100")
    return new ServiceUnavailableError(`the disk is full: ${detail} (free space, then run the command again)`);
  if (/^SQLITE_(CORRUPT|NOTADB)(_|$)/.test(code) || code === "XX001") {
    return new ServiceUnavailableError(
      `the database is corrupt: ${detail} (restore it from a backup, or move the file away to start empty)`,
    );
  }
  if (/^SQLITE_BUSY(_|$)/.test(code) || code === "55P03")
    return new ServiceUnavailableError(
      `the database stayed locked by another process: ${detail} (run the command again)`,
    );
  return undefined;
}

/** A message as one line (the CLI reports every error in one). */
export const oneLine = (text: string) => text.trim().replace(/\s*\n\s*/g, " ");
