/**
 * Turns of one conversation thread run one at a time, across processes: a turn reads the
 * thread's last checkpoint, runs, and writes its own after it, so two turns at once would each
 * write a successor of the same checkpoint (one turn lost), and a failed turn's rollback would
 * remove what the other wrote. A later turn waits for the earlier one to end.
 *
 * On PostgreSQL the lock is an advisory lock (src/store/open.ts). On SQLite it is a lease row
 * in the checkpoint database, taken in one BEGIN IMMEDIATE transaction; its holder renews it
 * while the turn runs, so a lease whose process died (kill -9) is taken over once its process
 * is gone (same host) or it was not renewed for LEASE_MS. Rows are keyed by a hash of the thread
 * id and hold nothing of the user.
 */
import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type Database from "better-sqlite3";

export type ThreadLock = <T>(threadId: string, fn: () => Promise<T>) => Promise<T>;

/** A lease not renewed for this long is abandoned (its holder renews it every LEASE_MS / 4). */
const LEASE_MS = 30_000;
const POLL_MS = 50;
const HOST = hostname();

interface Lease {
  host: string;
  pid: number;
  renewed_at: number;
}

export const threadLockKey = (threadId: string) => createHash("sha256").update(threadId).digest("hex");

export function sqliteThreadLock(db: Database.Database): ThreadLock {
  let statements: ReturnType<typeof prepare> | undefined;
  function prepare() {
    db.exec("CREATE TABLE IF NOT EXISTS thread_locks (key TEXT PRIMARY KEY, token TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, renewed_at INTEGER NOT NULL) WITHOUT ROWID");
    const holder = db.prepare<[string], Lease>("SELECT host, pid, renewed_at FROM thread_locks WHERE key = ?");
    const take = db.prepare("INSERT OR REPLACE INTO thread_locks (key, token, host, pid, renewed_at) VALUES (?, ?, ?, ?, ?)");
    return {
      tryTake: db.transaction((key: string, token: string): boolean => {
        const lease = holder.get(key);
        if (lease && !abandoned(lease)) return false;
        take.run(key, token, HOST, process.pid, Date.now());
        return true;
      }),
      renew: db.prepare("UPDATE thread_locks SET renewed_at = ? WHERE key = ? AND token = ?"),
      release: db.prepare("DELETE FROM thread_locks WHERE key = ? AND token = ?"),
    };
  }
  return async (threadId, fn) => {
    statements ??= prepare();
    const { tryTake, renew, release } = statements;
    const key = threadLockKey(threadId);
    const token = randomUUID();
    while (!tryTake.immediate(key, token)) await sleep(POLL_MS);
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
      release.run(key, token);
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
