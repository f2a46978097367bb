/**
 * feedback / align / persona --history through the real executable and the real ChatOpenAI
 * client, against the scripted OpenAI-compatible server.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, systemText, type ScriptedReply } from "../../testing/scripted-chat.js";
import { runCli } from "../support/cli.js";
import { ALICE_HISTORY, tempDir } from "../../testing/fixtures.js";
import { parseAlignmentPrompt } from "../../testing/alignment-prompts.js";

const filled = (req: RecordedChatRequest) => parseAlignmentPrompt(lastUserText(req))!.values;

describe("alignment CLI", () => {
  let server: OpenAITestServer;
  let env: Record<string, string>;
  let file: string;
  /** What the next LLM_update returns. */
  let nextPersona = "";
  const role = (req: RecordedChatRequest) =>
    req.tools ? "agent" : (parseAlignmentPrompt(lastUserText(req))?.step ?? "summary");
  const requests = (from: number, r: string) => server.requests.slice(from).filter((req) => role(req) === r);

  beforeAll(async () => {
    server = await startOpenAIServer((req): ScriptedReply => {
      const user = lastUserText(req);
      switch (role(req)) {
        case "summary":
          return { content: "Profile: a sci-fi fan" };
        case "grad":
          return { content: `GRAD[${filled(req).question}]` };
        case "update":
          return { content: nextPersona };
        default:
          if (req.messages.at(-1)?.role !== "tool")
            return { toolCalls: [{ name: "memory_retrieval", args: { query: user } }] };
          return { content: systemText(req).includes("WORSE") ? "documentary" : "sci-fi" };
      }
    });
    const dir = tempDir();
    file = join(dir, "alice.jsonl");
    writeFileSync(file, ALICE_HISTORY.map((e) => JSON.stringify(e)).join("\n"));
    env = {
      OPENAI_BASE_URL: server.url,
      OPENAI_API_KEY: "test-key",
      PERSONA_AGENT_MODEL: "openai:test-model",
      PERSONA_AGENT_DATA_DIR: join(dir, "data"),
      PERSONA_AGENT_WIKIPEDIA_URL: "http://127.0.0.1:9/w/api.php",
      PERSONA_AGENT_MAX_RETRIES: "0",
    };
    expect((await runCli(["ingest", "--user", "alice", "--file", file], env)).code).toBe(0);
  });

  afterAll(() => server.close());

  test("feedback records the truth and aligns every --align-every feedbacks", async () => {
    const start = server.requests.length;
    const first = await runCli(
      [
        "feedback",
        "--user",
        "alice",
        "--query",
        "Tag this movie: a colony on Mars",
        "--truth",
        "sci-fi",
        "--align-every",
        "2",
        "--json",
      ],
      env,
    );
    expect(first).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(first.stdout)).toEqual({ user: "alice", sinceAlignment: 1, alignment: null });
    expect(server.requests.length).toBe(start); // recording alone calls no model

    nextPersona = "ALIGNED ONE\nPrefers sci-fi tags.";
    const second = await runCli(
      [
        "feedback",
        "--user",
        "alice",
        "--query",
        "Tag this movie: a ghost in a lighthouse",
        "--truth",
        "horror",
        "--align-every",
        "2",
      ],
      env,
    );
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(
      'feedback recorded; 2 since the last alignment, so aligned user "alice" in 1 iteration(s): persona v1 -> v2\n',
    );
    // the batch is the latest 3 interactions: the two feedbacks and the newest ingested one
    const grads = requests(start, "grad")
      .map((r) => filled(r).question)
      .sort();
    expect(grads).toEqual(
      [ALICE_HISTORY[3]!.query, "Tag this movie: a colony on Mars", "Tag this movie: a ghost in a lighthouse"].sort(),
    );
    const updates = requests(start, "update");
    expect(updates).toHaveLength(1);
    for (const q of grads) expect(lastUserText(updates[0]!)).toContain(`GRAD[${q}]`);

    const third = JSON.parse(
      (
        await runCli(
          [
            "feedback",
            "--user",
            "alice",
            "--query",
            "Tag this movie: a heist",
            "--truth",
            "thriller",
            "--align-every",
            "2",
            "--json",
          ],
          env,
        )
      ).stdout,
    );
    expect(third).toMatchObject({ sinceAlignment: 1, alignment: null }); // the count restarted after the alignment
  });

  test("align --json: E iterations, each a new version with its feedback", async () => {
    const start = server.requests.length;
    nextPersona = "ALIGNED AGAIN\nPrefers sci-fi tags.";
    const result = await runCli(["align", "--user", "alice", "--batch", "2", "--iterations", "2", "--json"], env);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({ user: "alice", fromVersion: 2, toVersion: 4 });
    expect(out.iterations.map((i: { version: number }) => i.version)).toEqual([3, 4]);
    expect(out.iterations[0].feedback).toEqual([
      {
        entryId: expect.any(String),
        query: "Tag this movie: a ghost in a lighthouse",
        expected: "horror",
        simulated: "sci-fi",
        feedback: "GRAD[Tag this movie: a ghost in a lighthouse]",
      },
      {
        entryId: expect.any(String),
        query: "Tag this movie: a heist",
        expected: "thriller",
        simulated: "sci-fi",
        feedback: "GRAD[Tag this movie: a heist]",
      },
    ]);
    // Algorithm 1 line 13: the second iteration obtains its own batch, the 2 interactions before the first one's.
    expect(out.iterations[1].feedback.map((f: { query: string }) => f.query)).toEqual([
      ALICE_HISTORY[3]!.query,
      "Tag this movie: a colony on Mars",
    ]);
    expect(out.validated).toBeUndefined();
    expect(requests(start, "grad")).toHaveLength(4);
    expect(requests(start, "update")).toHaveLength(2);
    // simulations ran with the persona the first iteration produced, and never retrieved their own interaction
    const agentCalls = requests(start, "agent").slice(-4);
    for (const call of agentCalls)
      expect(systemText(call)).toBe("ALIGNED ONE\nPrefers sci-fi tags.".replace("ONE", "AGAIN"));
    for (const call of requests(start, "agent").filter((r) => r.messages.at(-1)?.role === "tool")) {
      expect(call.messages.at(-1).content).not.toContain(lastUserText(call));
    }
  });

  test("align --validate keeps the old persona when the new one does worse", async () => {
    nextPersona = "WORSE";
    const result = await runCli(["align", "--user", "alice", "--batch", "2", "--validate", "--json"], env);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const out = JSON.parse(result.stdout);
    // held out: the 2 interactions before the batch (the newest ingested one and "a colony on Mars"),
    // both "sci-fi": the old persona answers "sci-fi", the WORSE one "documentary"
    expect(out).toMatchObject({
      fromVersion: 4,
      toVersion: 4,
      validated: { kept: false, oldScore: 1, newScore: 0, heldOut: 2 },
    });
    expect(JSON.parse((await runCli(["persona", "--user", "alice", "--json"], env)).stdout).version).toBe(4);
    const text = await runCli(["align", "--user", "alice", "--batch", "2", "--validate"], env);
    expect(text.stdout).toMatch(
      /persona stays at v4; the new persona scored 0\.00 < 1\.00 on 2 held-out interactions, so the old one stays/,
    );
  });

  test("an empty LLM_update fails with one clear line and changes nothing", async () => {
    nextPersona = "";
    const result = await runCli(["align", "--user", "alice"], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      "persona-agent: alignment failed: persona update (LLM_update): the model returned empty text; nothing was saved, the persona stays at v4\n",
    );
    expect(JSON.parse((await runCli(["persona", "--user", "alice", "--json"], env)).stdout).version).toBe(4);
  });

  test("persona --history shows each version's time, origin and changes", async () => {
    const result = await runCli(["persona", "--user", "alice", "--history"], env);
    expect(result.code).toBe(0);
    const blocks = result.stdout.trim().split(/\n\n(?=--- v\d)/);
    expect(blocks.map((b) => b.split("\n")[0])).toEqual([
      expect.stringMatching(/^--- v1 \(initialized, \d{4}-\d\d-\d\dT[\d:.]+Z\)$/),
      expect.stringMatching(/^--- v2 \(aligned, /),
      expect.stringMatching(/^--- v3 \(aligned, /),
      expect.stringMatching(/^--- v4 \(aligned, /),
    ]);
    expect(blocks[0]).toContain("Profile: a sci-fi fan");
    expect(blocks[1]).toContain("+ ALIGNED ONE\n+ Prefers sci-fi tags.");
    expect(blocks[1]).toMatch(/^- You are a helpful personalized assistant/m);
    expect(blocks[2]!.split("\n").slice(1)).toEqual(["- ALIGNED ONE", "+ ALIGNED AGAIN"]);
    expect(blocks[3]!.split("\n").slice(1)).toEqual(["(no change)"]);
  });

  test("user mistakes are one-line errors", async () => {
    const unknown = await runCli(["feedback", "--user", "nobody", "--query", "q", "--truth", "r"], env);
    expect(unknown).toMatchObject({
      code: 2,
      stderr: 'persona-agent: unknown user "nobody": no persona yet (run persona-agent ingest first)\n',
    });
    const empty = await runCli(["feedback", "--user", "alice", "--query", "q", "--truth", "  "], env);
    expect(empty).toMatchObject({ code: 2, stderr: "persona-agent: the true response (--truth) is empty\n" });
    const badBatch = await runCli(["align", "--user", "alice", "--batch", "0"], env);
    expect(badBatch.code).not.toBe(0);
    expect(badBatch.stderr).toMatch(/--batch must be an integer >= 1/);
  });

  test("the paper's prompts by default; --prompts tuned or PERSONA_AGENT_PROMPTS=tuned selects the tuned ones; a bad set is a one-line error", async () => {
    const sets = (from: number) =>
      server.requests.slice(from).flatMap((r) => parseAlignmentPrompt(lastUserText(r))?.set ?? []);
    nextPersona = "ALIGNED BY SET";
    let start = server.requests.length;
    expect((await runCli(["align", "--user", "alice", "--batch", "1"], env)).code).toBe(0);
    expect(sets(start)).toEqual(["paper", "paper"]);
    start = server.requests.length;
    expect((await runCli(["--prompts", "tuned", "align", "--user", "alice", "--batch", "1"], env)).code).toBe(0);
    expect(sets(start)).toEqual(["tuned", "tuned"]);
    start = server.requests.length;
    expect(
      (await runCli(["align", "--user", "alice", "--batch", "1"], { ...env, PERSONA_AGENT_PROMPTS: "tuned" })).code,
    ).toBe(0);
    expect(sets(start)).toEqual(["tuned", "tuned"]);

    const badOption = await runCli(["--prompts", "nope", "align", "--user", "alice"], env);
    expect(badOption.code).not.toBe(0); // commander's usage error, like --batch 0 above
    expect(badOption.stderr).toMatch(/--prompts.*nope.*paper, tuned/);
    const badEnv = await runCli(["align", "--user", "alice"], { ...env, PERSONA_AGENT_PROMPTS: "nope" });
    expect(badEnv).toMatchObject({
      code: 2,
      stderr: 'persona-agent: PERSONA_AGENT_PROMPTS must be one of paper, tuned, got "nope"\n',
    });
  });
});
