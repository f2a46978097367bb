/**
 * SQLite under write load (issue 21, failure 8): large memory adds write in short transactions,
 * so two concurrent 100,000-entry adds (each in a process of its own, bench/large-add.ts, with the
 * benches' cheap 512-d embeddings) leave another user's asks through the real executable
 * working; a write that still waits past the busy timeout exits 3 naming the database.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { startOpenAIServer, type OpenAITestServer } from "../../testing/openai-server.js";
import { runCli, scriptedEnv, type CliResult } from "../support/cli.js";
import { BOB_HISTORY, tempDir } from "../../testing/fixtures.js";
import { healthy, ingestAlice, snapshot, writeJsonl } from "./support.js";

const LARGE = 100_000;

describe("SQLite under write load", () => {
  let server: OpenAITestServer;
  let env: Record<string, string>;
  let dataDir: string;

  beforeAll(async () => {
    // 512-d vectors, as a real embedding model's: what makes an entry's record ~3 KB.
    server = await startOpenAIServer(healthy, { embeddingDims: 512 });
    dataDir = tempDir("faults-sqlite-load-");
    env = scriptedEnv(server.url, dataDir);
    await ingestAlice(dataDir, env);
  });
  afterAll(async () => server.close());

  test("two concurrent 100,000-entry adds: both finish, and another user's asks meanwhile all succeed", async () => {
    const script = fileURLToPath(new URL("../../bench/large-add.ts", import.meta.url));
    const add = (user: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          ["--import", "tsx", script, dataDir, user, String(LARGE)],
          { env: { PATH: process.env.PATH }, maxBuffer: 1 << 20 },
          (error, stdout, stderr) =>
            resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        ),
      );
    let done = false;
    const finished = Promise.all(["u1", "u2"].map(add)).finally(() => (done = true));
    const asks: CliResult[] = [];
    const seconds: number[] = [];
    while (!done) {
      const started = Date.now();
      asks.push(await runCli(["ask", "--user", "alice", "--json", "Tag this movie: a quiet one"], env));
      seconds.push((Date.now() - started) / 1000);
    }
    const results = await finished;
    console.log(`asks during the adds: ${asks.length}, seconds each: ${seconds.map((s) => s.toFixed(1)).join(" ")}`);
    expect(results.map((r) => [r.code, r.stdout, r.stderr])).toEqual([
      [0, `${LARGE}\n`, ""],
      [0, `${LARGE}\n`, ""],
    ]);
    expect(asks.length).toBeGreaterThan(1);
    expect(asks.map((r) => [r.code, r.stderr]).filter(([code]) => code !== 0)).toEqual([]);
    expect((await snapshot("u1", { dataDir })).memories).toBe(LARGE);
    expect((await snapshot("u2", { dataDir })).memories).toBe(LARGE);
  }, 900_000);

  test("a write that waits for the lock past the busy timeout exits 3, naming the database", async () => {
    const holder = new Database(join(dataDir, "store.sqlite"));
    holder.exec("BEGIN IMMEDIATE"); // another process holding the write lock
    try {
      const result = await runCli(
        ["ingest", "--user", "bob", "--file", writeJsonl(dataDir, "bob.jsonl", BOB_HISTORY)],
        env,
      );
      expect([result.code, result.stderr]).toEqual([
        3,
        `persona-agent: the database ${join(dataDir, "store.sqlite")} is busy: other processes kept it locked for more than 5 s; retry the command\n`,
      ]);
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
    expect((await snapshot("bob", { dataDir })).memories).toBe(0);
  }, 60_000);
});
