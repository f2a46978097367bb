/**
 * The CLI contract of the README point by point, on the real executable (the bundle a
 * user's install runs) against a scripted OpenAI-compatible server: usage errors are one line
 * and exit 2; settings are checked before any work; unreachable services exit 3; tool
 * failures are visible; `ask` shows its thread and refuses an unknown one.
 */
import { writeFileSync } from "node:fs";
import Database from "better-sqlite3";
import { join } from "node:path";
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, type ScriptedReply } from "../../testing/scripted-chat.js";
import { runCli, scriptedEnv } from "../support/cli.js";
import { ALICE_HISTORY, tempDir, unreachableUrl } from "../../testing/fixtures.js";
import { userThreadId } from "../../src/users/forget.js";

/** Profiles for ingest; agent turns call memory and Wikipedia once, then answer. */
function provider(req: RecordedChatRequest): ScriptedReply {
  if (!req.tools) return { content: "Profile: a sci-fi fan." };
  if (req.messages.at(-1)?.role === "tool") return { content: "sci-fi" };
  return {
    toolCalls: [
      { name: "memory_retrieval", args: { query: lastUserText(req) } },
      { name: "wikipedia_search", args: { query: "film genre" } },
    ],
  };
}

let server: OpenAITestServer;
let env: Record<string, string>;
let history: string;

beforeAll(async () => {
  server = await startOpenAIServer(provider);
  const dataDir = tempDir();
  env = scriptedEnv(server.url, dataDir); // Wikipedia unreachable
  history = join(tempDir(), "alice.jsonl");
  writeFileSync(history, ALICE_HISTORY.map((e) => JSON.stringify(e)).join("\n") + "\n");
  const ingest = await runCli(["ingest", "--user", "alice", "--file", history], env);
  expect(ingest.stderr).toBe("");
  expect(ingest.code).toBe(0);
});

afterAll(() => server.close());

/** Exactly one line on stderr, nothing on stdout, the given exit code. */
function expectOneLineError(
  result: { code: number; stdout: string; stderr: string },
  code: number,
  message: RegExp,
): void {
  expect(result.stdout).toBe("");
  expect(result.stderr).toMatch(/^persona-agent: [^\n]+\n$/);
  expect(result.stderr).toMatch(message);
  expect(result.code).toBe(code);
}

describe("usage errors: one line on stderr, exit 2, no help dump", () => {
  test.each([
    ["no command", [], /missing command/],
    ["unknown command", ["frobnicate"], /unknown command 'frobnicate'/],
    [
      "unknown option (with a suggestion)",
      ["ask", "--user", "alice", "--jsn", "hi"],
      /unknown option '--jsn' \(Did you mean --json\?\)/,
    ],
    ["missing required option", ["ask", "hi"], /required option '--user <id>' not specified/],
    ["missing argument", ["ask", "--user", "alice"], /missing required argument 'query'/],
    ["option without its value", ["ask", "--user"], /option '--user <id>' argument missing/],
    ["too many arguments", ["ask", "--user", "alice", "one", "two"], /too many arguments/],
    [
      "invalid choice",
      ["ingest", "--user", "alice", "--file", "x.jsonl", "--task", "lamp-9"],
      /argument 'lamp-9' is invalid/,
    ],
    ["bad number", ["ask", "--user", "alice", "--k", "0", "hi"], /--k must be an integer >= 1/],
    ["group without its command", ["data"], /missing command/],
  ])("%s", async (_name, args, message) => {
    expectOneLineError(await runCli(args, env), 2, message);
  });

  test("--help is not an error: the help on stdout, exit 0", async () => {
    const result = await runCli(["ask", "--help"], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^Usage: persona-agent ask /);
    expect(result.stdout).toContain("--new-thread");
  });
});

describe("model, embeddings and database settings are checked before any work", () => {
  test.each([
    ["unknown embeddings provider", ["--embeddings", "cohere:embed-v3"], /invalid embeddings "cohere:embed-v3"/],
    ["unknown local embeddings", ["--embeddings", "local:minilm"], /unknown local embeddings "minilm"/],
    ["embeddings without a name", ["--embeddings", "openai:"], /invalid embeddings "openai:"/],
    ["model without a provider", ["--model", "gpt-4o"], /invalid model "gpt-4o"/],
    [
      "database URL of another kind",
      ["--database-url", "mysql://u:p@127.0.0.1/db"],
      /--database-url must be postgres:\/\//,
    ],
  ])("%s: exit 2 and the model is never called", async (_name, settings, message) => {
    const before = server.requests.length + server.embeddingRequests.length;
    expectOneLineError(
      await runCli([...settings, "ask", "--user", "alice", "Tag this movie: a moon base"], env),
      2,
      message,
    );
    expect(server.requests.length + server.embeddingRequests.length).toBe(before);
  });

  test("eval checks them before reading its files", async () => {
    const result = await runCli(
      [
        "--model",
        "gpt-4o",
        "eval",
        "--task",
        "lamp-2m",
        "--questions",
        "/nonexistent/q.json",
        "--outputs",
        "/nonexistent/o.json",
        "--method",
        "prompt",
      ],
      env,
    );
    expectOneLineError(result, 2, /invalid model "gpt-4o"/);
  });

  test("Bedrock without a region: exit 2 before anything runs", async () => {
    const result = await runCli(
      ["--embeddings", "bedrock:amazon.titan-embed-text-v2:0", "ask", "--user", "alice", "hi"],
      env,
    );
    expectOneLineError(result, 2, /AWS_REGION is not set/);
  });
});

describe("an unreachable service exits 3", () => {
  test("the model provider", async () => {
    const result = await runCli(["ask", "--user", "alice", "Tag this movie: a moon base"], {
      ...env,
      OPENAI_BASE_URL: await unreachableUrl(),
    });
    expectOneLineError(result, 3, /cannot reach the model provider/);
  });

  test("the embeddings provider (ingest)", async () => {
    const result = await runCli(["ingest", "--user", "bob", "--file", history], {
      ...env,
      OPENAI_BASE_URL: await unreachableUrl(),
    });
    expectOneLineError(result, 3, /cannot reach/);
  });

  test("the database", async () => {
    const url = (await unreachableUrl("/postgres")).replace("http://", "postgres://u:p@");
    expectOneLineError(
      await runCli(["persona", "--user", "alice"], { ...env, PERSONA_AGENT_DATABASE_URL: url }),
      3,
      /cannot use the database/,
    );
  });

  test("the LaMP download host", async () => {
    const result = await runCli(["data", "download", "--task", "lamp-2m", "--cache", tempDir()], {
      ...env,
      PERSONA_AGENT_LAMP_URL: await unreachableUrl("/LaMP"),
    });
    expectOneLineError(result, 3, /cannot download/);
  });
});

describe("ask: tool failures and threads are visible", () => {
  test("--json reports each failed tool call's error; plain output warns on stderr in one line", async () => {
    const json = await runCli(["ask", "--user", "alice", "--json", "Tag this movie: a moon base"], env);
    expect(json.stderr).toBe("");
    const out = JSON.parse(json.stdout);
    expect(out.toolCalls).toEqual([
      { name: "memory_retrieval", args: { query: "Tag this movie: a moon base" } },
      {
        name: "wikipedia_search",
        args: { query: "film genre" },
        error: expect.stringMatching(/^Wikipedia search failed \(.+\)\. Answer without it\.$/),
      },
    ]);

    const plain = await runCli(["ask", "--user", "alice", "Tag this movie: a moon base"], env);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toBe("sci-fi\n");
    const lines = plain.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^persona-agent: thread [0-9a-f-]{36} \(continue it with --thread [0-9a-f-]{36}\)$/);
    expect(lines[1]).toMatch(
      /^persona-agent: warning: wikipedia_search: Wikipedia search failed \(.+\)\. Answer without it\.$/,
    );
  });

  test("plain ask prints its thread id, which --thread then continues", async () => {
    const first = await runCli(["ask", "--user", "alice", "Tag this movie: a lighthouse keeper meets a mermaid"], env);
    const thread = /thread (\S+) /.exec(first.stderr)![1]!;
    const before = server.requests.length;
    const second = await runCli(
      ["ask", "--user", "alice", "--thread", thread, "--json", "Tag this movie: a clockwork heart"],
      env,
    );
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).thread).toBe(thread);
    expect(JSON.stringify(server.requests[before]!.messages)).toContain("lighthouse keeper");
    // A turn is checkpointed once, when it ends (it is kept or rolled back whole): one per turn.
    const db = new Database(join(env.PERSONA_AGENT_DATA_DIR!, "checkpoints.sqlite"), { readonly: true });
    const threadId = userThreadId("alice", thread);
    expect(db.prepare("SELECT count(*) FROM checkpoints WHERE thread_id = ?").pluck().get(threadId)).toBe(2);
    expect(db.prepare("SELECT count(*) FROM writes WHERE thread_id = ?").pluck().get(threadId)).toBe(0);
    db.close();
  });

  test("an unknown --thread is refused before the model runs; --new-thread starts it", async () => {
    const before = server.requests.length;
    expectOneLineError(
      await runCli(["ask", "--user", "alice", "--thread", "typo", "hi"], env),
      2,
      /unknown thread "typo" of user "alice".*--new-thread/,
    );
    expect(server.requests.length).toBe(before);
    // Refused, so nothing was registered: the same id is still unknown.
    expect((await runCli(["ask", "--user", "alice", "--thread", "typo", "hi"], env)).code).toBe(2);

    const started = await runCli(["ask", "--user", "alice", "--thread", "typo", "--new-thread", "--json", "hi"], env);
    expect(started.code).toBe(0);
    expect(JSON.parse(started.stdout).thread).toBe("typo");
    expect((await runCli(["ask", "--user", "alice", "--thread", "typo", "--json", "again"], env)).code).toBe(0);
  });

  test("another user's thread id is unknown to this user", async () => {
    await runCli(["ingest", "--user", "bob", "--file", history], env);
    expectOneLineError(
      await runCli(["ask", "--user", "bob", "--thread", "typo", "hi"], env),
      2,
      /unknown thread "typo" of user "bob"/,
    );
  });
});
