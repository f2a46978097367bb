/**
 * Bad input through the real executable: huge and malformed histories, oversized queries,
 * Unicode and control characters (on SQLite and PostgreSQL), empty histories and unknown
 * users. Every refusal is one line on stderr with exit 2 and leaves stored data as it was.
 */
import { closeSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, systemText, toolResults, type ScriptedReply } from "../../testing/scripted-chat.js";
import { runCli, type CliResult, scriptedEnv } from "../support/cli.js";
import { tempDir } from "../../testing/fixtures.js";
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "../support/postgres.js";
import { MAX_TEXT_CHARS, MAX_HISTORY_FILE_BYTES } from "../../src/memory/history.js";
import { MAX_QUERY_CHARS, validateQuery } from "../../src/agent/nodes.js";
import { MEMORY_BUDGET_CHARS } from "../../src/tools/index.js";
import { snapshot, startFaultyCli, toJsonl, writeJsonl, type FaultyCli } from "./support.js";

/** Exactly one line on stderr, nothing on stdout, the given exit code. */
function expectOneLineError(res: CliResult, code: number, message: RegExp): void {
  expect(res.stderr).toMatch(/^persona-agent: [^\n]*\n$/);
  expect(res.stderr.trimEnd()).toMatch(message);
  expect(res).toMatchObject({ code, stdout: "" });
}

const entry = (i: number, extra: object = {}) => ({
  query: `Tag this movie: film number ${i}`,
  response: "sci-fi",
  timestamp: `2024-03-0${(i % 9) + 1}T10:00:00Z`,
  ...extra,
});

describe("bad histories and queries through the CLI (SQLite)", () => {
  let cli: FaultyCli;
  let env: Record<string, string>;
  let dataDir: string;
  const state = (user: string) => snapshot(user, { dataDir });
  const nothingStored = { versions: [], persona: undefined, memories: 0, interactions: 0 };

  beforeAll(async () => {
    cli = await startFaultyCli("faults-input-");
    ({ env, dataDir } = cli);
  });
  afterEach(() => cli.setFault(undefined));
  afterAll(() => cli.server.close());

  test(`a 50 MB history is refused before reading, in one line (at most ${MAX_HISTORY_FILE_BYTES / 2 ** 20} MiB per ingest)`, async () => {
    const path = join(dataDir, "huge.jsonl");
    const fd = openSync(path, "w");
    const pad = "x".repeat(1_900);
    let size = 0;
    for (let i = 0; size < 50 * 2 ** 20; i++)
      size += writeSync(fd, JSON.stringify(entry(i, { query: `Tag this movie: story ${i} ${pad}` })) + "\n");
    closeSync(fd);
    const started = Date.now();
    const res = await runCli(["ingest", "--user", "huge", "--file", path], env);
    expectOneLineError(
      res,
      2,
      /huge\.jsonl: the history is too large \(50\.0 MiB, at most 32\.0 MiB per ingest\); split it into several files and ingest each$/m,
    );
    expect(Date.now() - started).toBeLessThan(10_000); // refused up front, not after embedding 26k entries
    expect(await state("huge")).toEqual(nothingStored);
    rmSync(path);
  });

  test(`a single 10 MB line is refused naming the line and the ${MAX_TEXT_CHARS}-character field limit`, async () => {
    const path = join(dataDir, "long-line.jsonl");
    writeFileSync(path, toJsonl([entry(1), { query: "q".repeat(10_000_000), response: "sci-fi" }, entry(3)]));
    const res = await runCli(["ingest", "--user", "longline", "--file", path], env);
    expectOneLineError(res, 2, /long-line\.jsonl:2: "query" is too long \(10000000 characters, at most 100000\)$/);
    expect(res.stderr.length).toBeLessThan(500); // the line itself is never echoed
    expect(await state("longline")).toEqual(nothingStored);

    // The same limit for responses, and for metadata as serialized JSON.
    writeFileSync(path, toJsonl([{ query: "q", response: "r".repeat(MAX_TEXT_CHARS + 1) }]));
    expectOneLineError(
      await runCli(["ingest", "--user", "longline", "--file", path], env),
      2,
      /:1: "response" is too long \(100001 characters/,
    );
    writeFileSync(path, toJsonl([{ query: "q", response: "r", metadata: { blob: "m".repeat(MAX_TEXT_CHARS) } }]));
    expectOneLineError(
      await runCli(["ingest", "--user", "longline", "--file", path], env),
      2,
      /:1: "metadata" is too large \(100011 characters as JSON, at most 100000\)/,
    );
    // At the limit is fine.
    writeFileSync(path, toJsonl([{ query: "q".repeat(MAX_TEXT_CHARS), response: "sci-fi" }]));
    const ok = await runCli(["ingest", "--user", "longline", "--file", path, "--json"], env);
    expect(ok.stderr).toBe("");
    expect(JSON.parse(ok.stdout)).toMatchObject({ added: 1, personaVersion: 1 });
  });

  const malformed: [string, string, RegExp][] = [
    ["a number", "42", /:3: expected a JSON object$/],
    ["an array", '[{"query": "q", "response": "r"}]', /:3: expected a JSON object$/],
    ["a string", '"just text"', /:3: expected a JSON object$/],
    ["null", "null", /:3: expected a JSON object$/],
    ["invalid JSON", '{"query": "q", "response": ', /:3: invalid JSON \(Unexpected end of JSON input\)$/],
    [
      "trailing garbage",
      '{"query": "q", "response": "r"} {"x": 1}',
      /:3: invalid JSON \(Unexpected non-whitespace character after JSON/,
    ],
    [
      "a nested object as query",
      '{"query": {"text": ["a", {"deep": [1, 2]}]}, "response": "r"}',
      /:3: "query" must be a non-empty string$/,
    ],
    ["a number as response", '{"query": "q", "response": 7}', /:3: "response" must be a non-empty string$/],
    ["a missing response", '{"query": "q"}', /:3: "response" is missing$/],
    [
      "metadata as an array",
      '{"query": "q", "response": "r", "metadata": [1, 2]}',
      /:3: "metadata" must be a JSON object$/,
    ],
    [
      "a non-ISO timestamp",
      '{"query": "q", "response": "r", "timestamp": 1700000000}',
      /:3: "timestamp" must be an ISO-8601 date string$/,
    ],
  ];

  test(`malformed lines are refused in one line naming file and line number (${malformed.length} kinds), nothing stored`, async () => {
    const results = await Promise.all(
      malformed.map(async ([, line], i) => {
        const path = join(dataDir, `malformed-${i}.jsonl`);
        // Two good lines, a blank one (still counted), the bad line, a good one after it.
        writeFileSync(path, `${JSON.stringify(entry(1))}\n   \n${line}\n${JSON.stringify(entry(2))}\n`);
        return { path, res: await runCli(["ingest", "--user", "malformed", "--file", path], env) };
      }),
    );
    results.forEach(({ path, res }, i) => {
      const [name, , message] = malformed[i]!;
      try {
        expectOneLineError(res, 2, message);
        expect(res.stderr.startsWith(`persona-agent: ${path}:3: `)).toBe(true);
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}`, { cause: error });
      }
    });
    expect(await state("malformed")).toEqual(nothingStored);
  });

  test("empty and blank-only histories are refused in one line", async () => {
    const empty = join(dataDir, "empty.jsonl");
    const blank = join(dataDir, "blank.jsonl");
    writeFileSync(empty, "");
    writeFileSync(blank, "\n   \n\t\r\n\n");
    const [a, b] = await Promise.all(
      [empty, blank].map((file) => runCli(["ingest", "--user", "nobody", "--file", file], env)),
    );
    expectOneLineError(a!, 2, /empty\.jsonl: no history entries \(the file is empty or blank\)$/m);
    expectOneLineError(b!, 2, /blank\.jsonl: no history entries \(the file is empty or blank\)$/m);
    expect(await state("nobody")).toEqual(nothingStored);
  });

  test("unknown users: ask, persona, align and feedback refuse in one line with exit 2; forget reports nothing to delete", async () => {
    const ghost = "ghost-user";
    const [ask, persona, align, feedback, forget] = await Promise.all([
      runCli(["ask", "--user", ghost, "Tag this movie: anything"], env),
      runCli(["persona", "--user", ghost], env),
      runCli(["align", "--user", ghost], env),
      runCli(["feedback", "--user", ghost, "--query", "Tag this movie: anything", "--truth", "sci-fi"], env),
      runCli(["forget", "--user", ghost], env),
    ]);
    for (const res of [ask!, persona!, align!, feedback!]) expectOneLineError(res, 2, /unknown user "ghost-user"/);
    // Nothing was left behind by the refused commands (a refused ask registers no thread).
    expect(forget).toEqual({ code: 0, stdout: 'no records of user "ghost-user"\n', stderr: "", progress: [] });
    expect(await state(ghost)).toEqual(nothingStored); // feedback stored nothing for the unknown user
  });

  test(`a query over ${MAX_QUERY_CHARS} characters is refused in one line before any model call`, async () => {
    const before = await state("alice");
    const sent = cli.server.requests.length;
    const res = await runCli(["ask", "--user", "alice", "x".repeat(MAX_QUERY_CHARS + 1)], env);
    expectOneLineError(
      res,
      2,
      new RegExp(`the query is too long \\(${MAX_QUERY_CHARS + 1} characters, at most ${MAX_QUERY_CHARS}\\)$`),
    );
    const fb = await runCli(
      ["feedback", "--user", "alice", "--query", "y".repeat(MAX_QUERY_CHARS + 5), "--truth", "sci-fi"],
      env,
    );
    expectOneLineError(
      fb,
      2,
      new RegExp(`the query is too long \\(${MAX_QUERY_CHARS + 5} characters, at most ${MAX_QUERY_CHARS}\\)$`),
    );
    expect(cli.server.requests.length).toBe(sent);
    expect(await state("alice")).toEqual(before);
  });

  test("a long query with a large K and long memories: the tool result stays within the memory budget and says what it left out", async () => {
    const user = "longmem";
    const memories = Array.from({ length: 12 }, (_, i) => ({
      query: `Tag this movie ${i}: ${"a long synopsis of a slow space opera ".repeat(500)}`, // ~19k characters
      response: `sci-fi ${"with many words of commentary ".repeat(100)}`,
      timestamp: `2024-04-${String(i + 1).padStart(2, "0")}T10:00:00Z`,
    }));
    const ingest = await runCli(
      ["ingest", "--user", user, "--file", writeJsonl(dataDir, "longmem.jsonl", memories)],
      env,
    );
    expect(ingest.code).toBe(0);
    const query = `Tag this movie: ${"an epic voyage across the galaxy ".repeat(900)}`.slice(0, MAX_QUERY_CHARS - 100);
    const sent = cli.server.requests.length;
    const res = await runCli(["ask", "--user", user, "--k", "12", "--json", query], env);
    expect(res.stderr).not.toMatch(/persona-agent:/);
    expect(JSON.parse(res.stdout)).toMatchObject({ answer: "sci-fi", toolCalls: [{ name: "memory_retrieval" }] });
    const last = cli.server.requests.slice(sent).at(-1)!;
    expect(lastUserText(last)).toBe(query); // the query reaches the model whole
    const [result] = toolResults(last);
    expect(result!.content.length).toBeLessThanOrEqual(MEMORY_BUDGET_CHARS + 200);
    expect(result!.content).toMatch(/^\[1\] \(2024-04-\d\d\) Query: Tag this movie \d+: /);
    expect(result!.content).toMatch(/\n\((\d+) less similar memories left out to fit the context\)$/);
    const shown = result!.content.match(/^\[\d+\] /gm)!.length;
    expect(Number(/\((\d+) less similar/.exec(result!.content)![1])).toBe(12 - shown);
  });
});

// ---- Unicode and control characters, on both backends ----------------------------------------

const backends: [string, boolean][] = [
  ["SQLite", false],
  ...(TEST_DATABASE_URL ? [["PostgreSQL", true] as [string, boolean]] : []),
];

const UNICODE = {
  emoji: "👩🏽‍🚀 astronaut family 👨‍👩‍👧‍👦 and flags 🇯🇵🇧🇷",
  rtl: "فيلم عن الفضاء \u202Bמסע בין כוכבים\u202C",
  cjk: "宇宙の旅 우주 여행 太空旅行",
  combining: "Zalgo z\u0301\u0327a\u0308\u0316l\u0303go, e\u0301 vs \u00e9, A\u030A",
  controls:
    "tab\there, bell\u0007, escape\u001b[31m, unit sep\u001f, line sep\u2028para sep\u2029, BOM\uFEFF, ZWJ\u200D",
};

describe.each(backends)("Unicode and control characters round-trip on %s", (_backend, usePostgres) => {
  let server: OpenAITestServer;
  let env: Record<string, string>;
  let database: TestDatabase | undefined;
  const user = "unicode-user";
  const profile = `Profile: loves ${UNICODE.cjk} and ${UNICODE.emoji}`;
  const answer = `${UNICODE.rtl} / ${UNICODE.combining}`;

  function reply(req: RecordedChatRequest): ScriptedReply {
    if (!req.tools) return { content: profile };
    if (toolResults(req).length === 0)
      return { toolCalls: [{ name: "memory_retrieval", args: { query: lastUserText(req) } }] };
    return { content: answer };
  }

  beforeAll(async () => {
    server = await startOpenAIServer(reply);
    database = usePostgres ? await createTestDatabase() : undefined;
    env = scriptedEnv(server.url, tempDir("faults-unicode-"), { PERSONA_AGENT_DATABASE_URL: database?.url });
  });
  afterAll(async () => {
    await server.close();
    await database?.drop();
  });

  const backend = () => ({ dataDir: env.PERSONA_AGENT_DATA_DIR!, ...(database ? { databaseUrl: database.url } : {}) });

  test("ingest -> retrieval tool output -> ask -> persona keep every character", async () => {
    const history = Object.entries(UNICODE).map(([kind, text], i) => ({
      query: `Tag this movie (${kind}): ${text}`,
      response: `${text} ✓`,
      timestamp: `2024-05-0${i + 1}T10:00:00Z`,
      metadata: { kind, [text]: [text, { nested: text }] },
    }));
    const dir = env.PERSONA_AGENT_DATA_DIR!;
    const ingest = await runCli(
      ["ingest", "--user", user, "--file", writeJsonl(dir, "unicode.jsonl", history), "--json"],
      env,
    );
    expect(ingest.stderr).toBe("");
    expect(JSON.parse(ingest.stdout)).toMatchObject({ added: history.length, personaVersion: 1 });
    // The profile request carried the history's text unchanged.
    const summary = server.requests.find((r) => !r.tools)!;
    for (const text of Object.values(UNICODE))
      expect(JSON.stringify(summary.messages)).toContain(JSON.stringify(text).slice(1, -1));

    const query = `Tag this movie: ${UNICODE.emoji} ${UNICODE.cjk} ${UNICODE.combining}`;
    const sent = server.requests.length;
    const ask = await runCli(["ask", "--user", user, "--k", String(history.length), "--json", query], env);
    expect(ask.stderr).not.toMatch(/persona-agent:/);
    expect(JSON.parse(ask.stdout)).toMatchObject({ answer, personaVersion: 1 });
    const last = server.requests.slice(sent).at(-1)!;
    expect(lastUserText(last)).toBe(query);
    expect(systemText(last)).toContain(profile); // the persona made from the Unicode profile
    const [retrieved] = toolResults(last);
    for (const [kind, text] of Object.entries(UNICODE)) {
      expect(retrieved!.content).toContain(`Query: Tag this movie (${kind}): ${text}`);
      expect(retrieved!.content).toContain(`User's response: ${text} ✓`);
    }

    const persona = await runCli(["persona", "--user", user, "--json"], env);
    expect(persona.stderr).toBe("");
    expect(JSON.parse(persona.stdout).persona).toContain(profile);
    const state = await snapshot(user, backend());
    expect(state).toMatchObject({ versions: [1], memories: history.length, interactions: 1 });

    // Feedback with Unicode truth is stored and retrievable too.
    const fb = await runCli(
      [
        "feedback",
        "--user",
        user,
        "--query",
        `Tag this movie: ${UNICODE.rtl}`,
        "--truth",
        UNICODE.combining,
        "--align-every",
        "99",
      ],
      env,
    );
    expect(fb).toMatchObject({ code: 0, stderr: "" });
    expect((await snapshot(user, backend())).memories).toBe(history.length + 1);
  });

  test.each([
    [
      "a NUL character",
      { query: "Tag this movie: nul\u0000byte", response: "sci-fi" },
      /:2: "query" contains a NUL character \(U\+0000\)$/,
    ],
    [
      "a NUL in metadata",
      { query: "q", response: "r", metadata: { note: ["ok", { deep: "a\u0000b" }] } },
      /:2: "metadata" contains a NUL character \(U\+0000\)$/,
    ],
    [
      "an unpaired surrogate",
      { query: "Tag this movie: broken \ud83d emoji", response: "sci-fi" },
      /:2: "query" contains an unpaired UTF-16 surrogate \(invalid Unicode\)$/,
    ],
  ])(
    "%s is refused at ingest in one line (PostgreSQL's JSONB cannot store it), nothing stored",
    async (_name, bad, message) => {
      const dir = env.PERSONA_AGENT_DATA_DIR!;
      const target = "nul-user";
      const res = await runCli(
        ["ingest", "--user", target, "--file", writeJsonl(dir, "nul.jsonl", [entry(1), bad, entry(2)])],
        env,
      );
      expect(res.stderr).toMatch(/^persona-agent: [^\n]*\n$/);
      expect(res.stderr.trim()).toMatch(message);
      expect(res).toMatchObject({ code: 2, stdout: "" });
      expect(await snapshot(target, backend())).toEqual({
        versions: [],
        persona: undefined,
        memories: 0,
        interactions: 0,
      });
    },
  );

  test("a query with a NUL character is refused by the agent's own validation (graph API input)", () => {
    expect(() => validateQuery("Tag this movie: a\u0000b")).toThrow("the query contains a NUL character (U+0000)");
    expect(validateQuery(`  ${UNICODE.controls}  `)).toBe(UNICODE.controls.trim());
  });
});
