/**
 * Several processes on one user at once, through the real executable, on SQLite and
 * PostgreSQL: two `ingest`s of different (overlapping) files, `ask`s and two `align`s started
 * together. Every process succeeds or fails with one clean line (an alignment that lost the
 * race says so); afterwards no memory is lost or doubled, persona versions run 1..n without a
 * gap, and the user still works.
 */
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, type ScriptedReply } from "../../testing/scripted-chat.js";
import { runCli, type CliResult, scriptedEnv } from "../support/cli.js";
import { ALICE_HISTORY, tempDir } from "../../testing/fixtures.js";
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "../support/postgres.js";
import { snapshot, writeJsonl } from "./support.js";
import { parseAlignmentPrompt } from "../../testing/alignment-prompts.js";

const USER = "race-user";

function reply(req: RecordedChatRequest): ScriptedReply {
  const text = lastUserText(req);
  // A little latency everywhere, so the processes' steps interleave.
  const later = (r: ScriptedReply): ScriptedReply => ({ delayMs: 20 + Math.floor(Math.random() * 60), then: r });
  if (req.tools)
    return later(
      req.messages.at(-1)?.role === "tool"
        ? { content: "sci-fi" }
        : { toolCalls: [{ name: "memory_retrieval", args: { query: text } }] },
    );
  const step = parseAlignmentPrompt(text)?.step; // LLM_grad / LLM_update of either prompt set
  if (step === "update") return later({ content: `ALIGNED PERSONA ${Math.random()}` });
  if (step === "grad") return later({ content: "Say sci-fi more often." });
  return later({ content: "Profile: tags most films sci-fi" });
}

const movie = (i: number) => ({
  query: `Tag this movie: a race story number ${i}`,
  response: i % 2 ? "sci-fi" : "drama",
  timestamp: new Date(Date.UTC(2024, 5, 1, 0, i)).toISOString(),
});
/** A: 0..299, B: 200..499 (100 shared with A) and two entries alice already has. Large enough that the adds overlap. */
const FILE_A = Array.from({ length: 300 }, (_, i) => movie(i));
const FILE_B = [...Array.from({ length: 300 }, (_, i) => movie(200 + i)), ALICE_HISTORY[0]!, ALICE_HISTORY[1]!];
const DISTINCT = ALICE_HISTORY.length + 500;

const backends: [string, boolean][] = [
  ["SQLite", false],
  ...(TEST_DATABASE_URL ? [["PostgreSQL", true] as [string, boolean]] : []),
];

describe.each(backends)("concurrent processes on one user on %s", (_backend, usePostgres) => {
  let server: OpenAITestServer;
  let env: Record<string, string>;
  let dataDir: string;
  let database: TestDatabase | undefined;
  const backend = () => ({ dataDir, ...(database ? { databaseUrl: database.url } : {}) });

  beforeAll(async () => {
    server = await startOpenAIServer(reply);
    dataDir = tempDir("faults-race-");
    database = usePostgres ? await createTestDatabase() : undefined;
    env = scriptedEnv(server.url, dataDir, { PERSONA_AGENT_DATABASE_URL: database?.url });
    const setup = await runCli(
      ["ingest", "--user", USER, "--file", writeJsonl(dataDir, "base.jsonl", ALICE_HISTORY)],
      env,
    );
    if (setup.code !== 0) throw new Error(`setup ingest failed: ${setup.stderr}`);
  });
  afterAll(async () => {
    await server.close();
    await database?.drop();
  });

  test("ingest x2 + ask x2 + align x2 together: clean outcomes, no lost memory, consecutive versions, the user still works", async () => {
    const a = writeJsonl(dataDir, "a.jsonl", FILE_A);
    const b = writeJsonl(dataDir, "b.jsonl", FILE_B);
    const commands: [string, string[]][] = [
      ["ingest A", ["ingest", "--user", USER, "--file", a, "--json"]],
      ["ingest B", ["ingest", "--user", USER, "--file", b, "--json"]],
      ["ask 1", ["ask", "--user", USER, "--json", "Tag this movie: a race across the stars"]],
      ["align 1", ["align", "--user", USER, "--batch", "2", "--json"]],
      ["align 2", ["align", "--user", USER, "--batch", "2", "--json"]],
      ["ask 2", ["ask", "--user", USER, "--json", "Tag this movie: a photo finish on Mars"]],
    ];
    const results: CliResult[] = await Promise.all(commands.map(([, args]) => runCli(args, env)));

    const outcomes = results.map(
      (res, i) => `${commands[i]![0]}: exit ${res.code} ${res.code === 0 ? "" : res.stderr.trim()}`,
    );
    results.forEach((res, i) => {
      const [name] = commands[i]!;
      if (res.code === 0) {
        expect(() => JSON.parse(res.stdout)).not.toThrow();
        // An ask between an ingest's memories and its profile truthfully says the profile lags behind.
        const stderr = res.stderr.replace(
          /^persona-agent: warning: an ingest of user "race-user" started at \S+ has not finished: .*\n/,
          "",
        );
        expect(`${name}: ${stderr}`).not.toMatch(/persona-agent:/);
      } else {
        // A clean refusal, never a crash: one line, a documented exit code, no stack.
        expect(`${name}: ${res.stderr}`).toMatch(/^[^:]+: persona-agent: [^\n]*\n$/);
        expect(`${name}: ${res.stderr}`).not.toMatch(/unexpected error/);
        expect([2, 3]).toContain(res.code);
      }
    });
    // Ingest and ask never lose to a race; only an alignment may, and it says so.
    for (const i of [0, 1, 2, 5]) expect(outcomes[i]).toMatch(/exit 0/);
    for (const i of [3, 4]) {
      if (results[i]!.code !== 0)
        expect(results[i]!.stderr).toMatch(
          /the persona of user "race-user" changed while this run worked on v\d+ \(now v\d+\); nothing was saved, run it again/,
        );
    }
    const ingests = [JSON.parse(results[0]!.stdout), JSON.parse(results[1]!.stdout)];
    expect(ingests[0].added + ingests[1].added).toBe(DISTINCT - ALICE_HISTORY.length); // each shared entry added once

    const aligned = results.slice(3, 5).filter((r) => r.code === 0).length;
    expect(aligned).toBeGreaterThanOrEqual(1);
    const state = await snapshot(USER, backend());
    expect(state.memories).toBe(DISTINCT);
    expect(state.versions).toEqual(Array.from({ length: 1 + aligned }, (_, i) => i + 1));
    expect(state.interactions).toBe(2);

    const persona = await runCli(["persona", "--user", USER, "--json"], env);
    expect(persona.stderr).toBe("");
    const shown = JSON.parse(persona.stdout);
    expect(shown.version).toBe(1 + aligned);
    expect(shown.history.map((v: { version: number }) => v.version)).toEqual(state.versions);
    expect(shown.persona).toBe(state.persona);
    expect(shown.persona).toMatch(/^ALIGNED PERSONA/);

    const ask = await runCli(["ask", "--user", USER, "--json", "Tag this movie: a race story number 499"], env);
    expect(ask.stderr).not.toMatch(/persona-agent:/);
    expect(JSON.parse(ask.stdout)).toMatchObject({ answer: "sci-fi", personaVersion: 1 + aligned });
    // The index covers every memory: a re-ingest of both files adds nothing.
    const again = await runCli(["ingest", "--user", USER, "--file", b, "--json"], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ added: 0, skipped: FILE_B.length });
  }, 60_000);
});
