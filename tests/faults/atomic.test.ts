/**
 * Atomic commands (issue #12 item 7), through the real executable on SQLite and PostgreSQL: a
 * failed `ask` leaves no thread record and no checkpoint (a continued thread is rolled back to
 * where the turn started); a failed `ingest` leaves its memories and says so, `persona` reports
 * the unfinished ingest instead of "unknown user", and re-running the ingest finishes it,
 * rebuilding a missing or stale profile. An alignment saves every iteration's persona or, when
 * any step fails, nothing (`align`, `feedback`'s alignment, with and without --validate).
 */
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, toolResults, type ScriptedReply } from "../../testing/scripted-chat.js";
import { parseAlignmentPrompt } from "../../testing/alignment-prompts.js";
import { serverError } from "../support/fault-server.js";
import { runCli, scriptedEnv } from "../support/cli.js";
import { ALICE_HISTORY, BOB_HISTORY, tempDir } from "../../testing/fixtures.js";
import { BACKENDS, createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { ingestAlice, writeJsonl } from "./support.js";
import { openPersistence } from "../../src/store/open.js";
import { listAll } from "../../src/store/list.js";
import { SemanticMemory } from "../../src/memory/semantic.js";
import { userFileKey, userNamespace } from "../../src/users/users.js";

/** "update": every LLM_update after the run's first fails (E = 2 fails in its second iteration). */
type Fault = "agent" | "summary" | "update" | undefined;

describe.each(BACKENDS)("atomic commands on %s", (_backend, usePostgres) => {
  let server: OpenAITestServer;
  let env: Record<string, string>;
  let dataDir: string;
  let database: TestDatabase | undefined;
  let fault: Fault;
  let updates = 0;
  const backend = () => ({ dataDir, ...(database ? { databaseUrl: database.url } : {}) });

  function reply(req: RecordedChatRequest): ScriptedReply {
    if (req.tools) {
      // The fault hits the agent's second call: the turn has written checkpoints by then.
      if (toolResults(req).length === 0)
        return { toolCalls: [{ name: "memory_retrieval", args: { query: lastUserText(req) } }] };
      return fault === "agent" ? serverError(500) : { content: "sci-fi" };
    }
    const step = parseAlignmentPrompt(lastUserText(req))?.step;
    if (step === "grad") return { content: "prefers sci-fi" };
    if (step === "update")
      return fault === "update" && ++updates > 1 ? serverError(500) : { content: `ALIGNED ${Date.now()}` };
    return fault === "summary" ? serverError(500) : { content: `Profile: ${Date.now()}` };
  }

  beforeAll(async () => {
    server = await startOpenAIServer(reply);
    dataDir = tempDir("faults-atomic-");
    database = usePostgres ? await createTestDatabase() : undefined;
    env = scriptedEnv(server.url, dataDir, { PERSONA_AGENT_DATABASE_URL: database?.url });
    await ingestAlice(dataDir, env);
  });
  afterEach(() => {
    fault = undefined;
    updates = 0;
  });
  afterAll(async () => {
    await server.close();
    await database?.drop();
  });

  /** Alice's registered threads and every checkpoint thread of hers, read from the databases. */
  async function threads(): Promise<{ registered: string[]; checkpointed: string[]; checkpoints: number }> {
    const persistence = await openPersistence(backend());
    try {
      const registered = (await listAll(persistence.store, userNamespace("alice", "threads"))).map((i) => i.key).sort();
      // Every checkpoint in the checkpointer, whatever the registry says.
      const ids: string[] = [];
      for await (const tuple of persistence.checkpointer.list({ configurable: {} }))
        ids.push(tuple.config.configurable!.thread_id as string);
      const mine = ids.filter((id) => id.startsWith(`${userFileKey("alice")}:`));
      return { registered, checkpointed: [...new Set(mine)].sort(), checkpoints: mine.length };
    } finally {
      await persistence.close();
    }
  }

  test("a failed ask leaves no thread record and no checkpoint; a failed turn of a continued thread is rolled back", async () => {
    const before = await threads();
    fault = "agent";
    const failed = await runCli(["ask", "--user", "alice", "Tag this movie: a failing one"], env);
    expect(failed.code).toBe(3);
    expect(await threads()).toEqual(before);

    fault = undefined;
    const first = await runCli(
      ["ask", "--user", "alice", "--json", "--thread", "t1", "--new-thread", "Tag this movie: first turn"],
      env,
    );
    expect(first.code).toBe(0);
    const afterFirst = await threads();
    expect(afterFirst.registered).toHaveLength(before.registered.length + 1);
    expect(afterFirst.checkpoints).toBeGreaterThan(before.checkpoints);
    fault = "agent";
    expect(
      (await runCli(["ask", "--user", "alice", "--thread", "t1", "Tag this movie: a failing second turn"], env)).code,
    ).toBe(3);
    expect(await threads()).toEqual(afterFirst);
    fault = undefined;
    // The conversation goes on from the first turn: the failed question is not in it.
    const third = await runCli(
      ["ask", "--user", "alice", "--json", "--thread", "t1", "Tag this movie: second turn"],
      env,
    );
    expect(third.code).toBe(0);
    const sent = JSON.stringify(server.requests.at(-1)!.messages);
    expect(sent).toContain("first turn");
    expect(sent).not.toContain("a failing second turn");
  }, 60_000);

  test("a failed first ingest: memories stay and the error says so; persona reports it; re-running finishes it", async () => {
    fault = "summary";
    const file = writeJsonl(dataDir, "bob.jsonl", BOB_HISTORY);
    const failed = await runCli(["ingest", "--user", "bob", "--file", file], env);
    expect(failed.code).toBe(3);
    expect(failed.stderr).toMatch(
      /^persona-agent: the model provider failed with HTTP 500 .*; the 3 new memories are stored, the profile and persona are not up to date: run the same ingest again to finish\n$/,
    );
    const persona = await runCli(["persona", "--user", "bob"], env);
    expect(persona.code).toBe(2);
    expect(persona.stderr).toBe(
      'persona-agent: user "bob" has 3 memories but no persona: an ingest did not finish; run persona-agent ingest --user ... --file ... again to finish it\n',
    );
    fault = undefined;
    const again = await runCli(["ingest", "--user", "bob", "--file", file, "--json"], env);
    expect(JSON.parse(again.stdout)).toMatchObject({
      added: 0,
      profileUpdated: true,
      personaCreated: true,
      personaVersion: 1,
    });
  }, 60_000);

  test("an ingest whose profile step failed leaves a stale profile that the next ingest rebuilds", async () => {
    fault = "summary";
    const more = writeJsonl(dataDir, "alice-more.jsonl", [
      { query: "Tag this movie: a new one", response: "sci-fi", timestamp: "2024-03-01T00:00:00Z" },
    ]);
    expect((await runCli(["ingest", "--user", "alice", "--file", more], env)).code).toBe(3);
    fault = undefined;
    // Until the ingest is re-run, persona and ask work but say the profile is older than the memories.
    const warning =
      /^persona-agent: warning: an ingest of user "alice" started at \d{4}-\d\d-\d\dT[\d:.]+Z has not finished: the profile, and the persona and answers that rest on it, may not reflect the memories it added \(if it failed, run persona-agent ingest --user \.\.\. --file \.\.\. again\)\n$/;
    const persona = await runCli(["persona", "--user", "alice", "--json"], env);
    expect(persona.code).toBe(0);
    expect(persona.stderr).toMatch(warning);
    const ask = await runCli(["ask", "--user", "alice", "--json", "Tag this movie: a stale one"], env);
    expect(ask.code).toBe(0);
    expect(ask.stderr).toMatch(warning);
    const again = await runCli(["ingest", "--user", "alice", "--file", more, "--json"], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ added: 0, profileUpdated: true });
    expect((await runCli(["persona", "--user", "alice"], env)).stderr).toBe("");
    // A memory that feedback records is not one the profile should summarize: no warning after it.
    const feedback = await runCli(
      [
        "feedback",
        "--user",
        "alice",
        "--query",
        "Tag this movie: one more",
        "--truth",
        "comedy",
        "--align-every",
        "100",
      ],
      env,
    );
    expect(feedback.code).toBe(0);
    expect((await runCli(["persona", "--user", "alice"], env)).stderr).toBe("");
    const persistence = await openPersistence(backend());
    try {
      expect((await new SemanticMemory(persistence.store).get("alice"))?.basedOn).toBe(ALICE_HISTORY.length + 1);
    } finally {
      await persistence.close();
    }
  }, 60_000);

  test("an alignment whose LLM_update fails in iteration 2 of 2 saves nothing (align, --validate, feedback); one that succeeds saves a version per iteration", async () => {
    const history = async () =>
      JSON.parse((await runCli(["persona", "--user", "alice", "--json"], env)).stdout) as {
        version: number;
        history: { version: number; persona: string }[];
      };
    const before = await history();
    const v = before.version;
    for (const validate of [[], ["--validate"]]) {
      fault = "update";
      updates = 0;
      const failed = await runCli(["align", "--user", "alice", "--batch", "2", "--iterations", "2", ...validate], env);
      expect(failed.code).toBe(3);
      expect(updates).toBe(2);
      expect(failed.stderr).toMatch(
        new RegExp(
          `^persona-agent: alignment failed: persona update \\(LLM_update\\): .*HTTP 500.*; nothing was saved, the persona stays at v${v}\n$`,
        ),
      );
      expect(await history()).toEqual(before);
    }
    updates = 0;
    const feedback = await runCli(
      [
        "feedback",
        "--user",
        "alice",
        "--query",
        "Tag this movie: a lighthouse",
        "--truth",
        "horror",
        "--align-every",
        "1",
        "--iterations",
        "2",
      ],
      env,
    );
    expect(feedback.code).toBe(3);
    expect(feedback.stderr).toMatch(
      new RegExp(
        `^persona-agent: feedback recorded, but alignment failed: .*; the alignment saved nothing, the persona stays at v${v} \\(retry with`,
      ),
    );
    expect(await history()).toEqual(before);

    fault = undefined;
    const aligned = await runCli(["align", "--user", "alice", "--batch", "2", "--iterations", "3", "--json"], env);
    expect(aligned.code).toBe(0);
    expect(JSON.parse(aligned.stdout)).toMatchObject({ fromVersion: v, toVersion: v + 3 });
    const after = await history();
    expect(after.history.map((h) => h.version)).toEqual([...before.history.map((h) => h.version), v + 1, v + 2, v + 3]);
    expect(new Set(after.history.slice(-3).map((h) => h.persona)).size).toBe(3);
  }, 90_000);
});
