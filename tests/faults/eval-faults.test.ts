/**
 * `persona-agent eval` under LLM faults (real CLI, real ChatOpenAI, fault-injecting server):
 * a failing query is recorded with its reason and the run carries on; a transient timeout is
 * retried; an answer outside the label set is scored as an invalid answer, not a crash.
 */
import { readdirSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { LAMP_LABELS } from "../../apps/eval/data/lamp.js";
import { writeSyntheticLamp } from "../../apps/eval/synthetic.js";
import { lampFlags, runCli } from "../support/cli.js";
import { tempDir } from "../../testing/fixtures.js";
import { startOpenAIServer, type OpenAITestServer } from "../../testing/openai-server.js";
import { respondWith, textOf, toolResults } from "../../testing/scripted-chat.js";
import { hang, serverError } from "../support/fault-server.js";
import { majority } from "../../testing/lamp-script.js";
import { parseAlignmentPrompt } from "../../testing/alignment-prompts.js";

const dir = tempDir("faults-eval-");
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("eval with LLM faults", () => {
  let server: OpenAITestServer;
  let files: { questions: string; outputs: string };
  const hungOnce = new Set<string>();
  beforeAll(async () => {
    files = await writeSyntheticLamp(dir, "lamp-2m", { users: 4, items: 3 });
    server = await startOpenAIServer(
      respondWith((req) => {
        const text = req.messages.map((m) => textOf(m.content)).join("\n");
        const question = text.split("Which tag")[1] ?? "";
        const user = /of user (\d+)/.exec(question)?.[1] ?? /of user (\d+)/.exec(text)?.[1] ?? "";
        if (parseAlignmentPrompt(text)?.step === "grad" && user === "3") return serverError(500); // alignment's LLM_grad
        if (req.tools && toolResults(req).length === 0)
          return { toolCalls: [{ name: "memory_retrieval", args: { query: "story" } }] };
        if (!question)
          return { content: `The user mostly answers "${majority([text], LAMP_LABELS["lamp-2m"]!) ?? "sci-fi"}".` };
        if (user === "0") return "banana"; // not a lamp-2m tag
        if (user === "1") return hang(); // always: fails once --retry-for has passed
        if (user === "2" && !hungOnce.has(user)) {
          hungOnce.add(user);
          return hang(); // once: the runner's retry recovers
        }
        return majority([text], LAMP_LABELS["lamp-2m"]!) ?? "sci-fi";
      }),
    );
  });
  afterAll(() => server.close());

  const env = () => ({
    OPENAI_BASE_URL: server.url,
    PERSONA_AGENT_MODEL: "openai:x",
    PERSONA_AGENT_EMBEDDINGS: "openai:emb",
    PERSONA_AGENT_TIMEOUT_MS: "500",
    PERSONA_AGENT_MAX_RETRIES: "0",
  });
  const run = (method: string, out: string) =>
    runCli(
      [
        "eval",
        ...lampFlags("lamp-2m", files),
        "--method",
        method,
        "--out",
        out,
        "--json",
        "--retry-for",
        "3",
        "--backoff-ms",
        "5",
        "--batch",
        "1",
      ],
      env(),
    );
  const records = (out: string, method: string) =>
    Object.fromEntries(
      // The results file is named by the run key: lamp-2m.<method>.<run id>.jsonl.
      readFileSync(
        join(
          out,
          "results",
          readdirSync(join(out, "results")).find((n) => n.startsWith(`lamp-2m.${method}.`))!,
        ),
        "utf8",
      )
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .filter((r) => r.key) // query records; the others journal the answered model calls
        .map((r) => [r.id.slice(0, 1), r]),
    );

  it("records a timed-out query as failed, retries a transient timeout, scores an out-of-label answer as wrong", async () => {
    const out = join(dir, "rag");
    const res = await run("rag-1", out);
    expect(res.stderr.split("\n").at(-2)).toMatch(
      /^persona-agent: 1 of 4 queries failed .*; run the same command again to ask only the failed ones$/,
    );
    expect(res.code).toBe(4); // finished, with a failed query
    const summary = JSON.parse(res.stdout);
    expect(summary).toMatchObject({ n: 4, failures: 1 });
    const byUser = records(out, "rag-1");
    expect(byUser["0"]).toMatchObject({ ok: true, answer: "banana" });
    expect(byUser["1"]).toMatchObject({ ok: false, answer: "" });
    expect(byUser["1"].error).toMatch(/^the model call timed out/);
    expect(byUser["2"]).toMatchObject({ ok: true }); // hung once, then retried by the runner
    expect(byUser["3"]).toMatchObject({ ok: true });
    // Users 0 and 1 are wrong whatever their gold; 2 and 3 answer their majority tag.
    const right = ["2", "3"].filter((u) => byUser[u].answer === byUser[u].gold).length;
    expect(summary.metrics.accuracy).toBeCloseTo(right / 4, 12);
  }, 60_000);

  it("a provider failure inside one user's alignment is that query's failure, not the run's", async () => {
    const out = join(dir, "persona-agent");
    const res = await run("persona-agent", out);
    expect(res.code).toBe(4);
    const summary = JSON.parse(res.stdout);
    expect(summary.n).toBe(4);
    const byUser = records(out, "persona-agent");
    expect(byUser["3"]).toMatchObject({ ok: false });
    expect(byUser["3"].error).toMatch(/^alignment failed: feedback \(LLM_grad\).*HTTP 500.*the persona stays at v1/);
    expect(byUser["0"]).toMatchObject({ ok: true, answer: "banana" });
  }, 60_000);
});
