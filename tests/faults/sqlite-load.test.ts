/**
 * SQLite under write load (issue 21, failure 8), through the real executable: large ingests write
 * in short transactions, so two concurrent 100,000-entry ingests leave another user's asks
 * working; a write that still waits past the busy timeout exits 3 naming the database.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, toolResults, type ScriptedReply } from "../../testing/scripted-chat.js";
import { runCli, scriptedEnv, type CliResult } from "../support/cli.js";
import { ALICE_HISTORY, BOB_HISTORY, tempDir } from "../../testing/fixtures.js";
import { snapshot, writeJsonl } from "./support.js";

const LARGE = 100_000;

function reply(req: RecordedChatRequest): ScriptedReply {
  if (!req.tools) return { content: "Profile: tags most films sci-fi" };
  return toolResults(req).length === 0 ? { toolCalls: [{ name: "memory_retrieval", args: { query: lastUserText(req) } }] } : { content: "sci-fi" };
}

describe("SQLite under write load", () => {
  let server: OpenAITestServer;
  let env: Record<string, string>;
  let dataDir: string;

  beforeAll(async () => {
    // 512-d vectors, as a real embedding model's: what makes an entry's record ~3 KB.
    server = await startOpenAIServer(reply, { embeddingDims: 512 });
    dataDir = tempDir("faults-sqlite-load-");
    env = scriptedEnv(server.url, dataDir);
    expect((await runCli(["ingest", "--user", "alice", "--file", writeJsonl(dataDir, "alice.jsonl", ALICE_HISTORY)], env)).code).toBe(0);
  });
  afterAll(async () => server.close());

  test("two concurrent 100,000-entry ingests: both finish, and another user's asks meanwhile all succeed", async () => {
    const history = (user: string) =>
      Array.from({ length: LARGE }, (_, i) => ({ query: `Tag this movie: ${user}'s film number ${i}`, response: i % 3 ? "sci-fi" : "drama", timestamp: new Date(Date.UTC(2020, 0, 1, 0, 0, i)).toISOString() }));
    const ingests = ["u1", "u2"].map((user) => runCli(["ingest", "--user", user, "--file", writeJsonl(dataDir, `${user}.jsonl`, history(user)), "--json"], env, undefined, undefined, 900_000));
    let done = false;
    const finished = Promise.all(ingests).finally(() => (done = true));
    const asks: CliResult[] = [];
    const seconds: number[] = [];
    while (!done) {
      const started = Date.now();
      asks.push(await runCli(["ask", "--user", "alice", "--json", "Tag this movie: a quiet one"], env));
      seconds.push((Date.now() - started) / 1000);
    }
    const results = await finished;
    console.log(`asks during the ingests: ${asks.length}, seconds each: ${seconds.map((s) => s.toFixed(1)).join(" ")}`);
    expect(results.map((r) => [r.code, r.stderr])).toEqual([[0, ""], [0, ""]]);
    expect(asks.length).toBeGreaterThan(1);
    expect(asks.map((r) => [r.code, r.stderr]).filter(([code]) => code !== 0)).toEqual([]);
    expect((await snapshot("u1", { dataDir })).memories).toBe(LARGE);
    expect((await snapshot("u2", { dataDir })).memories).toBe(LARGE);
  }, 1_200_000);

  test("a write that waits for the lock past the busy timeout exits 3, naming the database", async () => {
    const holder = new Database(join(dataDir, "store.sqlite"));
    holder.exec("BEGIN IMMEDIATE"); // another process holding the write lock
    try {
      const result = await runCli(["ingest", "--user", "bob", "--file", writeJsonl(dataDir, "bob.jsonl", BOB_HISTORY)], env);
      expect([result.code, result.stderr]).toEqual([3, `persona-agent: the database ${join(dataDir, "store.sqlite")} is busy: other processes kept it locked for more than 5 s; retry the command\n`]);
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
    expect((await snapshot("bob", { dataDir })).memories).toBe(0);
  }, 60_000);
});
