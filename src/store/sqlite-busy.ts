/**
 * How long a SQLite write waits for other processes' write lock, and what the command says when
 * that runs out: writes are kept short (a large add is written in parts) so this should not
 * happen, but if it does, it is a service error (exit 3) naming the file, not a bug.
 */
import type Database from "better-sqlite3";
import { DatabaseBusyError } from "../errors/errors.js";

export const BUSY_TIMEOUT_MS = 5000;

/** Runs `fn` (a transaction on `db`), turning SQLite's "database is locked" into DatabaseBusyError. */
export function busyAsError<T>(db: Database.Database, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith("SQLITE_BUSY"))
      throw new DatabaseBusyError(db.name, BUSY_TIMEOUT_MS);
    throw error;
  }
}
