/**
 * A named lock shared by every process on one SQLite database, held across many transactions
 * and awaits (what PostgreSQL's advisory locks give, src/store/open.ts): turns of one
 * conversation thread (src/agent/conversation.ts), a user's memory add written in short transactions
 * (src/memory/episodic.ts). A later holder waits for the earlier one to end.
 *
 * The lock is a lease row, taken in one BEGIN IMMEDIATE transaction; its holder renews it while
 * it runs, so a lease whose process died (kill -9) is taken over once its process is gone (same
 * host) or it was not renewed for LEASE_MS. Rows are keyed by a hash of the lock's name and hold
 * nothing of the user.
 */
import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type Database from "better-sqlite3";
import { busyAsError } from "./sqlite-busy.js";

export type NamedLock = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/** A lease not renewed for this long is abandoned (its holder renews it every LEASE_MS / 4). */
const LEASE_MS = 30_000;
const POLL_MS = 50;
const HOST = hostname();

interface Lease {
  host: string;
  pid: number;
  renewed_at: number;
}

export const leaseKey = (name: string) => createHash("sha256").update(name).digest("hex");

export function sqliteLeaseLock(db: Database.Database): NamedLock {
  let statements: ReturnType<typeof prepare> | undefined;
  function prepare() {
    db.exec(
      "CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY, token TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, renewed_at INTEGER NOT NULL) WITHOUT ROWID",
    );
    const holder = db.prepare<[string], Lease>("SELECT host, pid, renewed_at FROM leases WHERE key = ?");
    const take = db.prepare("INSERT OR REPLACE INTO leases (key, token, host, pid, renewed_at) VALUES (?, ?, ?, ?, ?)");
    return {
      tryTake: db.transaction((key: string, token: string): boolean => {
        const lease = holder.get(key);
        if (lease && !abandoned(lease)) return false;
        take.run(key, token, HOST, process.pid, Date.now());
        return true;
      }),
      renew: db.prepare("UPDATE leases SET renewed_at = ? WHERE key = ? AND token = ?"),
      release: db.prepare("DELETE FROM leases WHERE key = ? AND token = ?"),
    };
  }
  return async (name, fn) => {
    statements ??= busyAsError(db, prepare);
    const { tryTake, renew, release } = statements;
    const key = leaseKey(name);
    const token = randomUUID();
    while (!busyAsError(db, () => tryTake.immediate(key, token))) await sleep(POLL_MS);
    const renewing = setInterval(() => {
      try {
        renew.run(Date.now(), key, token);
      } catch {
        // busy at this moment: the next renewal comes well within the lease
      }
    }, LEASE_MS / 4).unref();
    try {
      return await fn();
    } finally {
      clearInterval(renewing);
      busyAsError(db, () => release.run(key, token));
    }
  };
}

function abandoned(lease: Lease): boolean {
  if (Date.now() - lease.renewed_at > LEASE_MS) return true;
  if (lease.host !== HOST || lease.pid === process.pid) return false;
  try {
    process.kill(lease.pid, 0); // signal 0: only asks whether the process exists
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}
