/**
 * Forget that really forgets (issue #12 items 1 and 2), through the real executable on SQLite
 * and PostgreSQL: an `ask` and a `feedback` that started before `forget` write nothing of the
 * user after it (no interaction, counter, memory, index file or checkpoint holding the user's
 * text anywhere), a second forget finds nothing, and a new ingest after the forget works. Then
 * the deleted text is off disk: SQLite's -wal file is emptied even while another connection is
 * open, PostgreSQL's touched tables are VACUUMed. The `forget` graph forgets only its caller.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { InMemoryStore } from "@langchain/langgraph";
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, toolResults, type ScriptedReply } from "../../testing/scripted-chat.js";
import { runCli, scriptedEnv } from "../support/cli.js";
import { ALICE_HISTORY, BOB_HISTORY, tempDir } from "../../testing/fixtures.js";
import { BACKENDS, createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "../support/postgres.js";
import { writeJsonl } from "./support.js";
import { builder as ingestBuilder } from "../../graphs/ingest.js";
import { listAll } from "../../src/store/list.js";
import { userFileKey, userNamespace } from "../../src/users/users.js";

const USER = "racer";
/** Text that exists only in the racer's data: in the history, the ask's query and the feedback's truth. */
const HISTORY_SECRET = "HISTORY-SECRET-7f3a";
const ASK_SECRET = "ASK-SECRET-91c2";
const TRUTH_SECRET = "TRUTH-SECRET-44de";
const SECRETS = [HISTORY_SECRET, ASK_SECRET, TRUTH_SECRET];
/** While set, model calls carrying the ask's or the feedback's text wait for it: both commands are mid-flight when forget runs. */
let gate: Promise<void> | undefined;
let openGate = () => {};
function closeGate(): void {
  gate = new Promise((resolve) => (openGate = resolve));
}
let embeddingsHeld = false;
afterEach(() => {
  openGate();
  gate = undefined;
  embeddingsHeld = false;
});

const history = ALICE_HISTORY.map((e, i) => ({ ...e, query: `${e.query} (${HISTORY_SECRET} ${i})` }));

/** A model whose calls about the racer's data wait at the gate, so forget lands in the middle of the commands. */
function reply(req: RecordedChatRequest): ScriptedReply | Promise<ScriptedReply> {
  const text = lastUserText(req);
  const held = gate;
  const slow = (r: ScriptedReply) =>
    held && [ASK_SECRET, TRUTH_SECRET].some((s) => JSON.stringify(req.messages).includes(s)) ? held.then(() => r) : r;
  if (req.tools)
    return toolResults(req).length === 0
      ? slow({ toolCalls: [{ name: "memory_retrieval", args: { query: text } }] })
      : slow({ content: "sci-fi" });
  if (text.includes("Rewrite the persona")) return slow({ content: "ALIGNED PERSONA" });
  if (text.includes("Act as a gradient")) return slow({ content: "Say sci-fi more often." });
  return { content: "Profile: a sci-fi fan" };
}

/** Files under `dir` whose bytes contain any secret (store, WAL, checkpoints, index docstores, caches). */
function filesWithSecrets(dir: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (SECRETS.some((s) => readFileSync(path).includes(s))) hits.push(path.slice(dir.length + 1));
    }
  };
  walk(dir);
  return hits;
}

/** Rows of the PostgreSQL store and checkpoint tables holding any secret. */
async function rowsWithSecrets(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const hits: string[] = [];
    for (const secret of SECRETS) {
      const like = `%${secret}%`;
      const checks: [string, string][] = [
        ["store", "SELECT count(*)::int AS n FROM store WHERE value::text LIKE $1"],
        [
          "checkpoints",
          "SELECT count(*)::int AS n FROM checkpoints WHERE checkpoint::text LIKE $1 OR metadata::text LIKE $1",
        ],
        [
          "checkpoint_blobs",
          "SELECT count(*)::int AS n FROM checkpoint_blobs WHERE position(convert_to(trim(both '%' from $1), 'UTF8') in coalesce(blob, ''::bytea)) > 0",
        ],
        [
          "checkpoint_writes",
          "SELECT count(*)::int AS n FROM checkpoint_writes WHERE position(convert_to(trim(both '%' from $1), 'UTF8') in coalesce(blob, ''::bytea)) > 0",
        ],
      ];
      for (const [table, sql] of checks)
        if ((await client.query<{ n: number }>(sql, [like])).rows[0]!.n > 0) hits.push(`${table}: ${secret}`);
    }
    return hits;
  } finally {
    await client.end();
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (const started = Date.now(); !condition(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() - started > 20_000) throw new Error(`timed out waiting for ${what}`);
  }
}

describe.each(BACKENDS)("forget racing the user's commands on %s", (_backend, usePostgres) => {
  let server: OpenAITestServer;
  let env: Record<string, string>;
  let dataDir: string;
  let database: TestDatabase | undefined;

  beforeAll(async () => {
    // Embedding calls wait at the gate too, while it is closed for them (embeddingsHeld).
    server = await startOpenAIServer(reply, { beforeEmbedding: () => (embeddingsHeld ? gate : undefined) });
    dataDir = tempDir("faults-forget-");
    database = usePostgres ? await createTestDatabase() : undefined;
    env = scriptedEnv(server.url, dataDir, {
      PERSONA_AGENT_DATABASE_URL: database?.url,
      PERSONA_AGENT_TIMEOUT_MS: "20000",
    });
  });
  afterAll(async () => {
    await server.close();
    await database?.drop();
  });

  const seen = (secret: string) => () => server.requests.some((r) => JSON.stringify(r.messages).includes(secret));

  test("an ask and a feedback that started before forget leave nothing of the user behind; forget twice finds nothing; a new ingest works", async () => {
    const file = writeJsonl(dataDir, "racer.jsonl", history);
    const ingest = await runCli(["ingest", "--user", USER, "--file", file], env);
    expect(ingest.stderr).toBe("");
    // Known threads are found from the registry, new ones only in the checkpointer: one of each.
    const earlier = await runCli(["ask", "--user", USER, "--json", "Tag this movie: warm-up"], env);
    expect(earlier.code).toBe(0);

    // Both commands wait inside a model call when forget runs, then go on.
    closeGate();
    const feedback = runCli(
      [
        "feedback",
        "--user",
        USER,
        "--query",
        "Tag this movie: a lighthouse keeper",
        "--truth",
        `drama ${TRUTH_SECRET}`,
        "--align-every",
        "1",
      ],
      env,
    );
    await until(seen(TRUTH_SECRET), "the feedback's alignment");
    const ask = runCli(["ask", "--user", USER, `Tag this movie: ${ASK_SECRET} a heist on the moon`], env);
    await until(seen(ASK_SECRET), "the ask's first model call");
    const forget = await runCli(["forget", "--user", USER, "--json"], env);
    expect(forget.stderr).toBe("");
    expect(JSON.parse(forget.stdout).deleted).toBeGreaterThan(0);
    openGate();

    const [asked, fed] = await Promise.all([ask, feedback]);
    // Both lose to the forget with one clean line; neither stored anything after it.
    expect(asked.code).toBe(2);
    expect(asked.stderr).toBe(
      `persona-agent: user "${USER}" was forgotten while this command ran; nothing more of it was stored\n`,
    );
    expect(fed.code).toBe(2);
    expect(fed.stderr).toBe(asked.stderr);

    expect(filesWithSecrets(dataDir).filter((f) => !f.endsWith(".jsonl"))).toEqual([]);
    if (database) expect(await rowsWithSecrets(database.url)).toEqual([]);
    const again = await runCli(["forget", "--user", USER, "--json"], env);
    expect(JSON.parse(again.stdout)).toEqual({ user: USER, deleted: 0 });

    // A new life for the same id: ingest and ask work as for any new user.
    const reborn = await runCli(
      ["ingest", "--user", USER, "--file", writeJsonl(dataDir, "bob.jsonl", BOB_HISTORY), "--json"],
      env,
    );
    expect(JSON.parse(reborn.stdout)).toMatchObject({
      added: BOB_HISTORY.length,
      personaVersion: 1,
      personaCreated: true,
    });
    const answered = await runCli(["ask", "--user", USER, "--json", "Tag this movie: a love story"], env);
    expect(answered.stderr).toBe("");
  }, 90_000);

  test("an ask started 0.5 s into the forget of a 3,000-memory user leaves nothing of the user (store, checkpoints, files)", async () => {
    const big = "big-racer";
    const entries = Array.from({ length: 3000 }, (_, i) => ({
      query: `Tag this movie: reel ${i} ${HISTORY_SECRET}`,
      response: i % 2 ? "sci-fi" : "drama",
    }));
    expect(
      (await runCli(["ingest", "--user", big, "--file", writeJsonl(dataDir, "big.jsonl", entries)], env)).code,
    ).toBe(0);
    const forget = runCli(["forget", "--user", big, "--json"], env);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ask = runCli(["ask", "--user", big, `Tag this movie: ${ASK_SECRET} a heist`], env);
    const [forgot, asked] = await Promise.all([forget, ask]);
    expect(forgot.stderr).toBe("");
    expect(JSON.parse(forgot.stdout).deleted).toBeGreaterThanOrEqual(3000);
    // The ask either lost to the forget or found no user; it stored nothing either way.
    expect(asked.code).toBe(2);
    expect(filesWithSecrets(dataDir).filter((f) => !f.endsWith(".jsonl"))).toEqual([]);
    if (database) expect(await rowsWithSecrets(database.url)).toEqual([]);
  }, 120_000);

  test("a forget while an ingest embeds leaves no memory, index or embedding cache of the user", async () => {
    const user = "ingest-racer";
    const entries = Array.from({ length: 3000 }, (_, i) => ({
      query: `Tag this movie: take ${i} ${HISTORY_SECRET}`,
      response: "drama",
    }));
    const before = server.embeddingRequests.length;
    // The ingest waits in an embedding call when forget runs, then embeds the rest (filling its cache) after it.
    closeGate();
    embeddingsHeld = true;
    const ingest = runCli(
      ["ingest", "--user", user, "--file", writeJsonl(dataDir, "ingest-racer.jsonl", entries)],
      env,
    );
    await until(() => server.embeddingRequests.length > before, "the ingest's first embedding batch");
    const forget = await runCli(["forget", "--user", user, "--json"], env);
    expect(forget.stderr).toBe("");
    openGate();
    const ingested = await ingest;
    expect([ingested.code, ingested.stderr]).toEqual([
      2,
      `persona-agent: user "${user}" was forgotten while this command ran; nothing more of it was stored\n`,
    ]);
    expect(existsSync(join(dataDir, "indexes", userFileKey(user)))).toBe(false);
    expect(filesWithSecrets(dataDir).filter((f) => !f.endsWith(".jsonl"))).toEqual([]);
    if (database) expect(await rowsWithSecrets(database.url)).toEqual([]);
  }, 120_000);
});

describe("forgotten text leaves the disk", () => {
  test("SQLite: the -wal file holds nothing of the user even while another connection stays open", async () => {
    const server = await startOpenAIServer(reply);
    const dataDir = tempDir("faults-forget-wal-");
    const env = scriptedEnv(server.url, dataDir);
    try {
      expect(
        (await runCli(["ingest", "--user", USER, "--file", writeJsonl(dataDir, "racer.jsonl", history)], env)).code,
      ).toBe(0);
      // Another process's connection (a server, a second CLI): SQLite does not checkpoint the WAL on close then.
      const other = new Database(join(dataDir, "store.sqlite"));
      try {
        other.prepare("SELECT count(*) FROM store_items").get();
        const forget = await runCli(["forget", "--user", USER], env);
        expect(forget.code).toBe(0);
        expect(readdirSync(dataDir).filter((f) => f.endsWith("-wal") && statSync(join(dataDir, f)).size > 0)).toEqual(
          [],
        );
        expect(filesWithSecrets(dataDir).filter((f) => !f.endsWith(".jsonl"))).toEqual([]);
      } finally {
        other.close();
      }
    } finally {
      await server.close();
    }
  }, 30_000);

  test("SQLite: a reader that never lets go of its read transaction is reported; one that lets go after a second delays the -wal truncation, then it is emptied", async () => {
    const server = await startOpenAIServer(reply);
    const dataDir = tempDir("faults-forget-wal-reader-");
    const env = scriptedEnv(server.url, dataDir);
    const file = writeJsonl(dataDir, "racer.jsonl", history);
    const wal = join(dataDir, "store.sqlite-wal");
    expect((await runCli(["ingest", "--user", USER, "--file", file], env)).code).toBe(0);
    // Another process reading (a server, a second CLI). The files are grepped only once it is
    // closed: reading -shm here would drop its POSIX locks, which SQLite's own files rely on.
    const other = new Database(join(dataDir, "store.sqlite"));
    const read = () => {
      other.exec("BEGIN");
      other.prepare("SELECT count(*) FROM store_items").get(); // holds its snapshot until COMMIT
    };
    try {
      // Never lets go: forget still deletes, and says where the text may remain.
      read();
      const stuck = await runCli(["forget", "--user", USER, "--json"], env);
      other.exec("COMMIT");
      expect(stuck.code).toBe(0);
      expect(stuck.stderr).toBe(
        `persona-agent: warning: another process kept reading ${wal} for 10 s, so deleted text may remain there until it lets go; run forget again then\n`,
      );
      expect(JSON.parse(stuck.stdout)).toMatchObject({
        deleted: history.length + 4,
        notCompacted: expect.stringContaining(wal),
      });

      // Lets go after a second: forget tries again until the WAL is empty.
      expect((await runCli(["ingest", "--user", USER, "--file", file], env)).code).toBe(0);
      read();
      const letGo = setTimeout(() => other.exec("COMMIT"), 1000);
      const forget = await runCli(["forget", "--user", USER, "--json"], env);
      clearTimeout(letGo);
      expect(forget.stderr).toBe("");
      expect(JSON.parse(forget.stdout)).not.toHaveProperty("notCompacted");
      expect(statSync(wal).size).toBe(0);
    } finally {
      other.close();
      await server.close();
    }
    expect(filesWithSecrets(dataDir).filter((f) => !f.endsWith(".jsonl"))).toEqual([]);
  }, 60_000);

  (TEST_DATABASE_URL ? test : test.skip)(
    "PostgreSQL: forget VACUUMs the store and checkpoint tables it deleted from",
    async () => {
      const server = await startOpenAIServer(reply);
      const dataDir = tempDir("faults-forget-vacuum-");
      const database = await createTestDatabase();
      const env = scriptedEnv(server.url, dataDir, { PERSONA_AGENT_DATABASE_URL: database.url });
      const client = new pg.Client({ connectionString: database.url });
      try {
        expect(
          (await runCli(["ingest", "--user", USER, "--file", writeJsonl(dataDir, "racer.jsonl", history)], env)).code,
        ).toBe(0);
        expect((await runCli(["ask", "--user", USER, "Tag this movie: a quick one"], env)).code).toBe(0);
        expect((await runCli(["forget", "--user", USER], env)).code).toBe(0);
        await client.connect();
        const { rows } = await client.query<{ relname: string; vacuumed: boolean }>(
          "SELECT relname, last_vacuum IS NOT NULL AS vacuumed FROM pg_stat_user_tables WHERE relname = ANY($1) ORDER BY relname",
          [["store", "checkpoints", "checkpoint_blobs", "checkpoint_writes"]],
        );
        expect(rows).toEqual(
          ["checkpoint_blobs", "checkpoint_writes", "checkpoints", "store"].map((relname) => ({
            relname,
            vacuumed: true,
          })),
        );
      } finally {
        await client.end().catch(() => undefined);
        await server.close();
        await database.drop();
      }
    },
    30_000,
  );
});

describe("the forget graph (Studio / Platform)", () => {
  test("forgets the run's own user from the graph's store, and no one else", async () => {
    const store = new InMemoryStore();
    const server = await startOpenAIServer(reply);
    const saved = { ...process.env };
    Object.assign(process.env, { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: "k" });
    try {
      const configurable = (userId: string) => ({
        userId,
        model: "openai:x",
        embeddings: "openai:emb",
        indexDir: undefined,
      });
      const ingest = ingestBuilder.compile({ store });
      for (const who of ["alice", "alice2"])
        await ingest.invoke({ entries: ALICE_HISTORY }, { configurable: configurable(who) });
      const { builder: forgetBuilder } = await import("../../graphs/forget.js");
      const out = await forgetBuilder.compile({ store }).invoke({}, { configurable: configurable("alice") });
      expect(out.deleted).toBeGreaterThan(0);
      expect(await listAll(store, userNamespace("alice", "episodic"))).toEqual([]);
      expect(await listAll(store, userNamespace("alice2", "episodic"))).toHaveLength(ALICE_HISTORY.length);
    } finally {
      process.env = saved;
      await server.close();
    }
  });

  test("is served by langgraph.json, where the auth handler pins the user to the caller", () => {
    const config = JSON.parse(readFileSync(new URL("../../langgraph.json", import.meta.url), "utf8"));
    expect(config.graphs.forget).toBe("./graphs/forget.ts:graph");
    expect(existsSync(new URL("../../graphs/forget.ts", import.meta.url))).toBe(true);
  });
});
