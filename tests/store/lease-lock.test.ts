/**
 * The SQLite lease lock (src/store/lease-lock.ts): holders of one name run one at a time, other
 * names do not wait, and a lease whose process died (kill -9) is taken over at once.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import Database from "better-sqlite3";
import { sqliteLeaseLock, leaseKey } from "../../src/store/lease-lock.js";
import { tempDir } from "../../testing/fixtures.js";

const open = () => new Database(join(dir, "checkpoints.sqlite"));
let dir: string;
beforeEach(() => (dir = tempDir("lease-lock-")));

test("turns of one thread run one at a time, across connections; another thread's run alongside", async () => {
  const [a, b] = [open(), open()];
  const log: string[] = [];
  const turn = (lock: ReturnType<typeof sqliteLeaseLock>, thread: string, name: string) =>
    lock(thread, async () => {
      log.push(`${name} start`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      log.push(`${name} end`);
    });
  await Promise.all([
    turn(sqliteLeaseLock(a), "t", "1"),
    turn(sqliteLeaseLock(b), "t", "2"),
    turn(sqliteLeaseLock(b), "other", "x"),
  ]);
  const ofT = log.filter((l) => !l.startsWith("x"));
  expect([
    ["1 start", "1 end", "2 start", "2 end"],
    ["2 start", "2 end", "1 start", "1 end"],
  ]).toContainEqual(ofT);
  expect(log.indexOf("x start")).toBeLessThan(log.indexOf(`${ofT[2]}`)); // the other thread did not wait
  expect(a.prepare("SELECT count(*) FROM leases").pluck().get()).toBe(0); // released
});

test("a lease left by a killed process is taken over; a live holder's is waited for", async () => {
  const db = open();
  const lock = sqliteLeaseLock(db);
  await lock("t", async () => undefined); // creates the table
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
  await new Promise((resolve) => child.once("spawn", resolve));
  const lease = db.prepare(
    "INSERT OR REPLACE INTO leases (key, token, host, pid, renewed_at) VALUES (?, 'other', ?, ?, ?)",
  );
  lease.run(leaseKey("t"), (await import("node:os")).hostname(), child.pid, Date.now());
  let ran = false;
  const waiting = lock("t", async () => (ran = true));
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(ran).toBe(false); // the holder lives
  child.kill("SIGKILL");
  await waiting;
  expect(ran).toBe(true);
});
