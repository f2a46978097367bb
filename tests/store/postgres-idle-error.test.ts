/**
 * An idle PostgreSQL connection that the server drops (restart, pg_terminate_backend) must not
 * end the process: the store's, the checkpointer's and the lock pool's 'error' events are
 * heard (src/adapters/postgres-pools.ts), and the next operation opens a new connection.
 * The persistence runs in a child process, so an unheard 'error' event shows as its exit.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/postgres.js";

describeWithPostgres("PostgreSQL idle connections", () => {
  let db: TestDatabase;
  beforeAll(async () => (db = await createTestDatabase()));
  const dataDir = mkdtempSync(join(tmpdir(), "persona-idle-"));
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  });

  test("connections terminated by the server while idle do not end the process", async () => {
    const child = `
      import { createInterface } from "node:readline";
      const { openPersistence } = await import(process.argv[1]);
      const p = await openPersistence({ dataDir: process.argv[3], databaseUrl: process.argv[2] });
      await p.store.put(["users", "alice", "profile"], "k", { v: 1 });
      await p.checkpointer.getTuple({ configurable: { thread_id: "t" } });
      await p.findThreads("t");
      console.log("idle");
      const lines = createInterface({ input: process.stdin });
      for await (const line of lines) {
        if (line !== "go") continue;
        const item = await p.store.get(["users", "alice", "profile"], "k");
        await p.checkpointer.getTuple({ configurable: { thread_id: "t" } });
        await p.findThreads("t");
        console.log(JSON.stringify(item.value));
        await p.close();
        process.exit(0);
      }`;
    const proc = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", child, resolve("src/store/open.ts"), db.url, dataDir],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (chunk) => (stdout += chunk));
    proc.stderr.on("data", (chunk) => (stderr += chunk));
    const exited = once(proc, "exit");
    while (!stdout.includes("idle")) {
      if (proc.exitCode !== null) throw new Error(`child ended early: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }

    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const { rows } = await admin.query<{ n: string }>(
      "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    await admin.end();
    expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(3); // one idle connection per pool at least
    await new Promise((r) => setTimeout(r, 500)); // the pools receive the termination notices

    proc.stdin.write("go\n");
    const [code] = await exited;
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toContain(JSON.stringify({ v: 1 }));
  }, 60_000);
});
