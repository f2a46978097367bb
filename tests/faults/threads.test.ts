/**
 * Threads keep every turn (issue 21, failure 6), through the real executable on SQLite and
 * PostgreSQL: turns of one thread run one at a time (a per-thread lock across processes), so N
 * concurrent `ask --thread T` keep all N turns, and a failed turn's rollback never removes the
 * turn a concurrent successful ask wrote.
 */
import type { BaseMessage } from "@langchain/core/messages";
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, toolResults, type ScriptedReply } from "../../testing/scripted-chat.js";
import { serverError } from "../support/fault-server.js";
import { runCli, scriptedEnv } from "../support/cli.js";
import { tempDir } from "../../testing/fixtures.js";
import { BACKENDS, createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { ingestAlice } from "./support.js";
import { openPersistence } from "../../src/store/open.js";
import { userThreadId } from "../../src/users/forget.js";

const FAILING = "a turn whose model call fails";

describe.each(BACKENDS)("one thread, concurrent asks, on %s", (_backend, usePostgres) => {
  let server: OpenAITestServer;
  let env: Record<string, string>;
  let dataDir: string;
  let database: TestDatabase | undefined;

  function reply(req: RecordedChatRequest): ScriptedReply {
    const question = req.messages.filter((m) => m.role === "user").at(-1);
    const text = lastUserText(req);
    if (!req.tools) return { content: "Profile: tags most films sci-fi" };
    // The failing turn fails late (after 1.5 s), while another turn of the thread could run.
    if (JSON.stringify(question).includes(FAILING)) return { delayMs: 1500, then: serverError(500) };
    // A little latency, so concurrent turns overlap.
    const later = (r: ScriptedReply): ScriptedReply => ({ delayMs: 50 + Math.floor(Math.random() * 100), then: r });
    return later(
      toolResults(req).length === 0
        ? { toolCalls: [{ name: "memory_retrieval", args: { query: text } }] }
        : { content: "sci-fi" },
    );
  }

  beforeAll(async () => {
    server = await startOpenAIServer(reply);
    dataDir = tempDir("faults-threads-");
    database = usePostgres ? await createTestDatabase() : undefined;
    env = scriptedEnv(server.url, dataDir, { PERSONA_AGENT_DATABASE_URL: database?.url });
    await ingestAlice(dataDir, env);
  });
  afterAll(async () => {
    await server.close();
    await database?.drop();
  });

  /** The questions of the thread's latest checkpoint, in order. */
  async function turns(thread: string): Promise<string[]> {
    const persistence = await openPersistence({ dataDir, ...(database ? { databaseUrl: database.url } : {}) });
    try {
      const tuple = await persistence.checkpointer.getTuple({
        configurable: { thread_id: userThreadId("alice", thread) },
      });
      const messages = (tuple?.checkpoint.channel_values.messages ?? []) as BaseMessage[];
      return messages.filter((m) => m.getType() === "human").map((m) => String(m.content));
    } finally {
      await persistence.close();
    }
  }

  test("5 concurrent asks on one thread: all exit 0 and the thread keeps all 5 turns after the first", async () => {
    expect(
      (
        await runCli(
          ["ask", "--user", "alice", "--thread", "t", "--new-thread", "--json", "Tag this movie: turn 0"],
          env,
        )
      ).code,
    ).toBe(0);
    const questions = Array.from({ length: 5 }, (_, i) => `Tag this movie: turn ${i + 1}`);
    const results = await Promise.all(
      questions.map((q) => runCli(["ask", "--user", "alice", "--thread", "t", "--json", q], env)),
    );
    expect(results.map((r) => [r.code, r.stderr])).toEqual(questions.map(() => [0, ""]));
    const kept = await turns("t");
    expect(kept[0]).toBe("Tag this movie: turn 0");
    expect([...kept].sort()).toEqual(["Tag this movie: turn 0", ...questions].sort());
  }, 120_000);

  test("a failing ask concurrent with a succeeding one: the successful turn stays, the failed one is gone", async () => {
    expect(
      (
        await runCli(
          ["ask", "--user", "alice", "--thread", "u", "--new-thread", "--json", "Tag this movie: the first turn"],
          env,
        )
      ).code,
    ).toBe(0);
    const failing = runCli(["ask", "--user", "alice", "--thread", "u", "--json", `Tag this movie: ${FAILING}`], env);
    // The succeeding ask starts once the failing one is in its (slow) model call.
    const asked = () => server.requests.some((r) => JSON.stringify(r.messages).includes(FAILING));
    while (!asked()) await new Promise((resolve) => setTimeout(resolve, 20));
    const succeeding = await runCli(
      ["ask", "--user", "alice", "--thread", "u", "--json", "Tag this movie: the successful turn"],
      env,
    );
    const failed = await failing;
    expect([succeeding.code, succeeding.stderr]).toEqual([0, ""]);
    expect(failed.code).toBe(3);
    expect(await turns("u")).toEqual(["Tag this movie: the first turn", "Tag this movie: the successful turn"]);
  }, 120_000);
});
