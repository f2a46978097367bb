/**
 * The CLI contract of the README, driven as a user would: the real executable, the real
 * ChatOpenAI client, a scripted OpenAI-compatible server on 127.0.0.1.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import pg from "pg";
import { join } from "node:path";
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, systemText } from "../../testing/scripted-chat.js";
import type { ScriptedReply } from "../../testing/scripted-chat.js";
import { runCli } from "../support/cli.js";
import { agentTurn, profileNamingUser } from "../support/scripted-agent.js";
import { ALICE_HISTORY, BOB_HISTORY, tempDir, unreachableUrl } from "../../testing/fixtures.js";
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "../support/postgres.js";

/**
 * Everything the backends hold, as text: every file under the data dir (SQLite store and
 * checkpoints byte for byte, FAISS indexes) and, on PostgreSQL, every row of every table.
 */
async function backendText(dataDir: string, databaseUrl?: string): Promise<string> {
  const files = readdirSync(dataDir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
  let text = files.map((f) => readFileSync(join(f.parentPath, f.name)).toString("latin1")).join("\n");
  if (databaseUrl) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const tables = await client.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
      );
      for (const { table_name } of tables.rows) {
        const rows = await client.query(`SELECT * FROM "${table_name}"`);
        text += rows.rows
          .map((r) => JSON.stringify(r, (_k, v) => (Buffer.isBuffer(v) ? v.toString("latin1") : v)))
          .join("\n");
      }
    } finally {
      await client.end();
    }
  }
  return text;
}

const toJsonl = (entries: object[]) => entries.map((e) => JSON.stringify(e)).join("\n") + "\n";

/** Summaries name their user; agent turns call memory + Wikipedia, then answer. */
const scriptedProvider = (req: RecordedChatRequest): ScriptedReply =>
  req.tools ? agentTurn(req) : profileNamingUser(req);

/** The same behaviour on the embedded store and on PostgreSQL. */
const backends: [string, boolean][] = [
  ["SQLite", false],
  ...(TEST_DATABASE_URL ? [["PostgreSQL", true] as [string, boolean]] : []),
];

describe.each(backends)("persona-agent CLI on %s", (_backend, usePostgres) => {
  let server: OpenAITestServer;
  let dataDir: string;
  let env: Record<string, string>;
  let files: string;
  let database: TestDatabase | undefined;

  beforeAll(async () => {
    database = usePostgres ? await createTestDatabase() : undefined;
    server = await startOpenAIServer(scriptedProvider);
    dataDir = tempDir();
    files = tempDir();
    writeFileSync(join(files, "alice.jsonl"), toJsonl(ALICE_HISTORY));
    writeFileSync(join(files, "bob.jsonl"), toJsonl(BOB_HISTORY));
    env = {
      OPENAI_BASE_URL: server.url,
      OPENAI_API_KEY: "test-key",
      PERSONA_AGENT_MODEL: "openai:test-model",
      PERSONA_AGENT_DATA_DIR: dataDir,
      PERSONA_AGENT_WIKIPEDIA_URL: "http://127.0.0.1:9/w/api.php", // unreachable: the tool must cope
      PERSONA_AGENT_MAX_RETRIES: "0",
      ...(database ? { PERSONA_AGENT_DATABASE_URL: database.url } : {}),
    };
  });

  afterAll(async () => {
    await server.close();
    await database?.drop();
  });

  test("ingest builds memory, profile and persona; re-ingest adds nothing", async () => {
    const first = await runCli(
      ["ingest", "--user", "alice", "--file", join(files, "alice.jsonl"), "--task", "lamp-2m", "--json"],
      env,
    );
    expect(first).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(first.stdout)).toMatchObject({
      user: "alice",
      added: 4,
      skipped: 0,
      profileUpdated: true,
      personaVersion: 1,
      personaCreated: true,
    });
    const summaryRequest = server.requests.find((r) => !r.tools)!;
    expect(lastUserText(summaryRequest)).toContain("Tag this movie: astronauts travel through a wormhole");

    const again = await runCli(
      ["ingest", "--user", "alice", "--file", join(files, "alice.jsonl"), "--task", "lamp-2m", "--json"],
      env,
    );
    expect(JSON.parse(again.stdout)).toMatchObject({
      added: 0,
      skipped: 4,
      profileUpdated: false,
      personaVersion: 1,
      personaCreated: false,
    });

    expect(
      (await runCli(["ingest", "--user", "bob", "--file", join(files, "bob.jsonl"), "--task", "lamp-2m"], env)).code,
    ).toBe(0);
  });

  test("ask --json answers after two tool calls, with the user's persona as every system prompt", async () => {
    const before = server.requests.length;
    const result = await runCli(
      ["ask", "--user", "alice", "--json", "Tag this movie: a colony ship drifts past Jupiter"],
      env,
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.answer).toBe("sci-fi");
    expect(out.personaVersion).toBe(1);
    expect(out.toolCalls.map((c: { name: string }) => c.name)).toEqual(["memory_retrieval", "wikipedia_search"]);
    expect(out.toolCalls[0].args).toEqual({ query: "Tag this movie: a colony ship drifts past Jupiter" });
    // Wikipedia is unreachable here: the failure is in the output, the memory call worked.
    expect(out.toolCalls[0].error).toBeUndefined();
    expect(out.toolCalls[1].error).toMatch(/^Wikipedia search failed \(.+\)\. Answer without it\.$/);

    const persona = JSON.parse((await runCli(["persona", "--user", "alice", "--json"], env)).stdout);
    expect(persona.version).toBe(1);
    expect(persona.persona).toContain("Profile: a sci-fi fan (ALICE)");
    expect(persona.history).toEqual([
      expect.objectContaining({ version: 1, persona: persona.persona, createdAt: expect.any(String) }),
    ]);

    const agentCalls = server.requests.slice(before);
    expect(agentCalls).toHaveLength(2);
    for (const call of agentCalls) expect(systemText(call)).toBe(persona.persona);
    // the tool result went back to the model: Alice's own memories, nobody else's
    const toolMessages = agentCalls[1]!.messages
      .filter((m: { role: string }) => m.role === "tool")
      .map((m: { content: string }) => m.content)
      .join("\n");
    expect(toolMessages).toContain("wormhole");
    expect(toolMessages).not.toContain("romance");
    expect(toolMessages).toContain("Wikipedia search failed");
  });

  test("bob's ask never sees alice's data", async () => {
    const before = server.requests.length;
    const out = JSON.parse(
      (await runCli(["ask", "--user", "bob", "--json", "Tag this movie: robots in love on a spaceship"], env)).stdout,
    );
    expect(out.answer).toBe("romance");
    const sent = JSON.stringify(server.requests.slice(before));
    expect(sent).not.toContain("ALICE");
    for (const e of ALICE_HISTORY) expect(sent).not.toContain(e.query);
  });

  test("ask --thread continues a conversation; new asks start fresh", async () => {
    const first = JSON.parse(
      (
        await runCli(
          [
            "ask",
            "--user",
            "alice",
            "--json",
            "--thread",
            "t1",
            "--new-thread",
            "Tag this movie: a lighthouse keeper meets a mermaid",
          ],
          env,
        )
      ).stdout,
    );
    expect(first.thread).toBe("t1");
    const before = server.requests.length;
    const second = JSON.parse(
      (
        await runCli(
          ["ask", "--user", "alice", "--json", "--thread", "t1", "Tag this movie: a space station orbits a black hole"],
          env,
        )
      ).stdout,
    );
    expect(second.toolCalls).toHaveLength(2); // this turn's calls only
    const sent = server.requests[before]!.messages.map((m: { content: unknown }) => JSON.stringify(m.content)).join(
      "\n",
    );
    expect(sent).toContain("lighthouse keeper"); // the earlier turn is part of the conversation
    const fresh = JSON.parse(
      (await runCli(["ask", "--user", "alice", "--json", "Tag this movie: a clockwork heart"], env)).stdout,
    );
    expect(fresh.thread).not.toBe("t1");
    expect(JSON.stringify(server.requests.at(-1)!.messages)).not.toContain("lighthouse keeper");
  });

  test("forget deletes everything of the user and nothing of others", async () => {
    // Bob's conversation reaches the checkpointer too.
    expect(
      (
        await runCli(
          ["ask", "--user", "bob", "--thread", "b1", "--new-thread", "Tag this movie: a baker's secret diary"],
          env,
        )
      ).code,
    ).toBe(0);
    const result = await runCli(["forget", "--user", "bob", "--json"], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).deleted).toBeGreaterThanOrEqual(3 + 1 + 1);
    const gone = await runCli(["persona", "--user", "bob"], env);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toBe('persona-agent: unknown user "bob": no persona yet (run persona-agent ingest first)\n');
    expect((await runCli(["persona", "--user", "alice", "--json"], env)).code).toBe(0);
    expect(JSON.parse((await runCli(["forget", "--user", "bob", "--json"], env)).stdout).deleted).toBe(0);

    // Search every backend for Bob's words: store, checkpoints, indexes, and the raw database files.
    const bobWords = ["baker and a florist", "baker's secret diary", "BOB"];
    const text = await backendText(dataDir, database?.url);
    for (const words of bobWords) expect(text.includes(words)).toBe(false);
    expect(text).toContain("wormhole"); // Alice's data is still there, so the search does see data
  });

  test.each([
    ["unknown user", ["ask", "--user", "nobody", "hi"], /^persona-agent: unknown user "nobody"/],
    ["empty query", ["ask", "--user", "alice", "  "], /^persona-agent: the query is empty\n$/],
    [
      "missing file",
      ["ingest", "--user", "alice", "--file", "/nonexistent/h.jsonl"],
      /^persona-agent: cannot read \/nonexistent\/h.jsonl/,
    ],
    ["bad model spec", ["--model", "gpt4", "ask", "--user", "alice", "hi"], /^persona-agent: invalid model "gpt4"/],
    ["bad --k", ["ask", "--user", "alice", "--k", "zero", "hi"], /--k must be an integer >= 1/],
    ["unknown command", ["frobnicate"], /unknown command 'frobnicate'/],
  ])("%s: one-line error, non-zero exit", async (_name, args, message) => {
    const result = await runCli(args, env);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(result.stdout).toBe("");
  });

  test("a malformed JSONL line is reported with its line number and nothing is stored", async () => {
    const bad = join(files, "bad.jsonl");
    writeFileSync(bad, `${JSON.stringify(BOB_HISTORY[0])}\n{"query": "no response"}\n`);
    const result = await runCli(["ingest", "--user", "dave", "--file", bad], env);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/bad\.jsonl:2: .*response/);
    expect((await runCli(["persona", "--user", "dave"], env)).stderr).toMatch(/unknown user "dave"/);
  });

  test("a missing key and an unreachable provider are one-line errors that change nothing", async () => {
    const noKey = await runCli(["ask", "--user", "alice", "hi"], { ...env, OPENAI_API_KEY: "", OPENAI_BASE_URL: "" });
    expect(noKey.code).not.toBe(0);
    expect(noKey.stderr).toMatch(/^persona-agent: OPENAI_API_KEY is not set/);

    const personaBefore = (await runCli(["persona", "--user", "alice", "--json"], env)).stdout;
    const down = await runCli(["ask", "--user", "alice", "hi"], { ...env, OPENAI_BASE_URL: await unreachableUrl() });
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/^persona-agent: cannot reach the model provider/);
    expect(down.stderr.trim().split("\n")).toHaveLength(1);
    expect((await runCli(["persona", "--user", "alice", "--json"], env)).stdout).toBe(personaBefore);
  });

  test("--help works on every command", async () => {
    for (const command of [[], ["ingest"], ["ask"], ["persona"], ["forget"]]) {
      const result = await runCli([...command, "--help"], env);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: persona-agent/);
    }
  });
});
