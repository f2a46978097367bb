/**
 * LLM faults through the real executable and the real ChatOpenAI (the production factory),
 * served by a fault-injecting OpenAI-compatible server on 127.0.0.1: every fault gets bounded
 * retries, then one clear line and exit 3 (or a graceful answer), and never changes the
 * user's persona, memory or interaction log.
 */
import { lastUserText, toolResults } from "../../testing/scripted-chat.js";
import { hang, rawToolCalls, serverError, truncatedCompletion } from "../support/fault-server.js";
import { runCli } from "../support/cli.js";
import { parseAlignmentPrompt } from "../../testing/alignment-prompts.js";
import { ALICE_HISTORY } from "../../testing/fixtures.js";
import { healthy, snapshot, writeJsonl, type Fault, useFaultyCli } from "./support.js";

describe("LLM faults in align, feedback, ingest and tool calls through the CLI (real ChatOpenAI, fault-injecting server)", () => {
  const suite = useFaultyCli("faults-llm-");
  const { chat, state, setFault } = suite;

  test.each([
    ["hung", () => hang(), /the model call timed out/],
    ["500", () => serverError(500), /failed with HTTP 500/],
    ["truncated", () => truncatedCompletion(), /sent an invalid response/],
  ] as [string, Fault, RegExp][])(
    "align: a %s feedback call fails the run in one line; the persona stays",
    async (_name, f, message) => {
      const before = await state();
      setFault((req) => (parseAlignmentPrompt(lastUserText(req))?.step === "grad" ? f(req) : healthy(req)));
      const res = await runCli(["align", "--user", "alice", "--batch", "2"], suite.env);
      expect(res.code).toBe(3);
      expect(res.stderr).toMatch(/^persona-agent: alignment failed: .*the persona stays at v1\n$/);
      expect(res.stderr).toMatch(message);
      expect(await state()).toEqual(before);
    },
  );

  test("feedback whose alignment fails keeps the persona and records the feedback exactly once", async () => {
    const before = await state();
    setFault((req) => (!req.tools ? serverError(500) : healthy(req)));
    const res = await runCli(
      [
        "feedback",
        "--user",
        "alice",
        "--query",
        "Tag this movie: a lighthouse keeper sees ghosts",
        "--truth",
        "horror",
        "--align-every",
        "1",
      ],
      suite.env,
    );
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(
      /^persona-agent: feedback recorded, but alignment failed: .*HTTP 500.*the persona stays at v1 \(retry with persona-agent align --user alice\)\n$/,
    );
    const after = await state();
    expect(after.versions).toEqual(before.versions);
    expect(after.persona).toBe(before.persona);
    expect(after.memories).toBe(before.memories + 1); // the true response is kept, not lost
  });

  test("ingest of a new user whose profile call fails: no persona, and a re-run finishes the job", async () => {
    const file = writeJsonl(suite.dataDir, "carol.jsonl", ALICE_HISTORY.slice(0, 2));
    setFault(() => hang());
    const failed = await runCli(["ingest", "--user", "carol", "--file", file], suite.env);
    expect(failed.code).toBe(3);
    expect(failed.stderr).toMatch(/^persona-agent: the model call timed out/);
    expect((await snapshot("carol", { dataDir: suite.dataDir })).versions).toEqual([]);
    setFault(undefined);
    const rerun = await runCli(["ingest", "--user", "carol", "--file", file, "--json"], suite.env);
    expect(JSON.parse(rerun.stdout)).toMatchObject({ added: 0, skipped: 2, personaVersion: 1, personaCreated: true });
    expect(await snapshot("carol", { dataDir: suite.dataDir })).toMatchObject({ versions: [1], memories: 2 });
  });

  test("tool-call arguments that are not JSON get an error tool message; the model retries and answers", async () => {
    const before = await state();
    setFault((req) => {
      const results = toolResults(req);
      if (!req.tools) return healthy(req);
      if (results.length === 0)
        return rawToolCalls([{ name: "memory_retrieval", arguments: '{"query": "sci', id: "call_bad" }]);
      if (results.length === 1)
        return { toolCalls: [{ name: "memory_retrieval", args: { query: "space movies" }, id: "call_good" }] };
      return { content: "sci-fi" };
    });
    const res = await runCli(
      ["ask", "--user", "alice", "--json", "Tag this movie: an astronaut stranded on Mars"],
      suite.env,
    );
    expect(res.code).toBe(0);
    expect(res.stderr).not.toMatch(/persona-agent:/); // LangChain's own warnings may appear
    const out = JSON.parse(res.stdout);
    expect(out.answer).toBe("sci-fi");
    expect(out.toolCalls).toEqual([{ name: "memory_retrieval", args: { query: "space movies" } }]);
    const last = suite.server.requests.at(-1)!;
    const [bad, good] = toolResults(last);
    expect(bad).toMatchObject({ toolCallId: "call_bad" });
    expect(bad!.content).toMatch(
      /^Error: the arguments of this memory_retrieval call are not valid JSON .*\{"query": "sci/,
    );
    expect(good!.content).toContain("wormhole"); // the retried call retrieved alice's memories
    // The assistant turn with the broken call is sent back whole, so every tool result has its call.
    const assistant = last.messages.find(
      (m: { role: string; tool_calls?: { id: string }[] }) =>
        m.role === "assistant" && m.tool_calls?.some((t) => t.id === "call_bad"),
    );
    expect(assistant).toBeDefined();
    expect((await state()).interactions).toBe(before.interactions + 1);
  });

  test("an unknown tool name comes back as a tool error and the model answers", async () => {
    setFault((req) => {
      if (!req.tools) return healthy(req);
      return toolResults(req).length === 0
        ? { toolCalls: [{ name: "delete_all_users", args: { confirm: true }, id: "call_x" }] }
        : { content: "sci-fi" };
    });
    const res = await runCli(
      ["ask", "--user", "alice", "--json", "Tag this movie: aliens land in a cornfield"],
      suite.env,
    );
    expect(res.code).toBe(0);
    expect(res.stderr).not.toMatch(/persona-agent:/); // LangChain's own warnings may appear
    expect(JSON.parse(res.stdout).answer).toBe("sci-fi");
    const [result] = toolResults(suite.server.requests.at(-1)!);
    expect(result).toMatchObject({ toolCallId: "call_x" });
    expect(result!.content).toMatch(/Tool "delete_all_users" not found/);
  });

  test("a model that never stops calling tools is cut off at the budget with its answer, not a recursion error", async () => {
    // Even without tools offered it keeps calling (misbehaving local servers do): every agent turn (persona as system prompt).
    setFault((req) =>
      req.messages[0]?.role === "system"
        ? { content: "still looking", toolCalls: [{ name: "memory_retrieval", args: { query: "more" } }] }
        : healthy(req),
    );
    const sent = chat();
    const res = await runCli(
      [
        "ask",
        "--user",
        "alice",
        "--json",
        "--max-tool-steps",
        "2",
        "Tag this movie: a submarine crew hears whales sing",
      ],
      suite.env,
    );
    expect(res.code).toBe(0);
    expect(res.stderr).not.toMatch(/persona-agent:/); // LangChain's own warnings may appear
    const out = JSON.parse(res.stdout);
    expect(out.answer).toBe("still looking");
    expect(out.toolCalls).toHaveLength(2);
    expect(chat() - sent).toBe(3); // two tool turns, then the answer turn
  });

  test("arguments broken on every try: bounded by maxToolSteps, then an answer without tools", async () => {
    setFault((req) =>
      req.tools
        ? rawToolCalls([{ name: "memory_retrieval", arguments: "query=sci-fi" }])
        : { content: "sci-fi (no memories)" },
    );
    const sent = chat();
    const res = await runCli(
      ["ask", "--user", "alice", "--json", "--max-tool-steps", "2", "Tag this movie: a space heist"],
      suite.env,
    );
    expect(res.code).toBe(0);
    expect(res.stderr).not.toMatch(/persona-agent:/); // LangChain's own warnings may appear
    expect(JSON.parse(res.stdout)).toMatchObject({ answer: "sci-fi (no memories)", toolCalls: [] });
    expect(chat() - sent).toBe(3);
  });
});
