/**
 * Issue #22 item 6: `eval plan` says before any call what an `eval` with the same flags will ask.
 * Checked against real runs of the same plan (real CLI, local OpenAI-protocol server that calls
 * the memory tool as a tool-using model does and writes profiles, feedback and answers of the
 * nominal sizes the plan assumes): calls and tokens as the runs' own usage accounting counts them.
 */
import { copyFile, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { LAMP_LABELS } from "../../apps/eval/data/lamp.js";
import { OUTPUT_TOKENS } from "../../apps/eval/plan.js";
import { writeSyntheticLamp } from "../../apps/eval/synthetic.js";
import { MEMORY_TOOL } from "../../src/tools/index.js";
import { lampFlags, runCli } from "../support/cli.js";
import { tempDir } from "../../testing/fixtures.js";
import { parseAlignmentPrompt } from "../../testing/alignment-prompts.js";
import { majority } from "../../testing/lamp-script.js";
import { startOpenAIServer, type OpenAITestServer } from "../../testing/openai-server.js";
import { respondWith, textOf, toolCall } from "../../testing/scripted-chat.js";

const dir = tempDir("eval-plan-");
afterAll(() => rm(dir, { recursive: true, force: true }));
const LABELS = LAMP_LABELS["lamp-2m"]!;
/** About `tokens` tokens of text (four characters a token, as the server counts). */
const sized = (sentence: string, tokens: number) =>
  sentence.repeat(Math.ceil((tokens * 4) / sentence.length)).slice(0, tokens * 4);

describe("eval plan", () => {
  let server: OpenAITestServer;
  let files: { questions: string; outputs: string };
  beforeAll(async () => {
    files = await writeSyntheticLamp(dir, "lamp-2m", { users: 5, items: 8, queries: 2, dated: true });
    server = await startOpenAIServer(
      respondWith((req) => {
        const messages = req.messages as { role: string; content: unknown }[];
        const texts = messages.map((m) => textOf(m.content));
        const lastUser = messages.findLastIndex((m) => m.role === "user");
        const human = texts[lastUser] ?? "";
        const label = majority(texts, LABELS) ?? LABELS[0]!;
        if (/^Below are /.test(human)) return sized(`The user mostly tags movies "${label}". `, OUTPUT_TOKENS.profile);
        const step = parseAlignmentPrompt(human);
        if (step?.step === "grad")
          return sized(`The user's true answer here is "${step.values.truth!.trim()}". `, OUTPUT_TOKENS.feedback);
        if (step?.step === "update") return step.values.persona!.trim();
        const tools = ((req.body as { tools?: { function: { name: string } }[] }).tools ?? []).map(
          (t) => t.function.name,
        );
        if (tools.includes(MEMORY_TOOL) && !messages.slice(lastUser).some((m) => m.role === "tool"))
          return toolCall(MEMORY_TOOL, { query: human.slice(-80) });
        return label;
      }),
    );
  });
  afterAll(() => server.close());
  const env = () => ({
    OPENAI_BASE_URL: server.url,
    OPENAI_API_KEY: "k",
    PERSONA_AGENT_MAX_RETRIES: "0",
    PERSONA_AGENT_MODEL: "openai:gpt-4o-mini",
    PERSONA_AGENT_EMBEDDINGS: "openai:emb",
  });
  const flags = () => [...lampFlags("lamp-2m", files), "--users", "3", "--out", join(dir, "runs"), "--json"];
  const METHODS = ["rag-1", "pag-4", "persona-agent"] as const;

  it("matches real runs of the same plan within 25 % (calls and tokens), and asks nothing itself", async () => {
    const before = server.requests.length;
    const planned = await runCli(["eval", "plan", ...flags(), ...METHODS.flatMap((m) => ["--method", m])], env());
    expect(planned.stderr).toBe("");
    expect(planned.code).toBe(0);
    expect(server.requests.length).toBe(before); // planning calls no model
    const plan = JSON.parse(planned.stdout) as {
      rows: {
        method: string;
        users: number;
        queries: number;
        calls: number;
        inputTokens: number;
        outputTokens: number;
        cost: number;
      }[];
      total: { calls: number };
    };
    expect(plan.total.calls).toBe(plan.rows.reduce((n, r) => n + r.calls, 0));
    for (const method of METHODS) {
      const res = await runCli(["eval", ...flags(), "--method", method], env());
      expect(res.code).toBe(0);
      const run = JSON.parse(res.stdout) as {
        users: number;
        queries: number;
        spent: { calls: number; tokens: number };
      };
      const row = plan.rows.find((r) => r.method === method)!;
      expect([row.users, row.queries]).toEqual([run.users, run.queries]);
      const off = (estimate: number, actual: number) => Math.abs(estimate - actual) / actual;
      // Printed on failure: which method and figure is off.
      expect({
        method,
        calls: off(row.calls, run.spent.calls) <= 0.25,
        tokens: off(row.inputTokens + row.outputTokens, run.spent.tokens) <= 0.25,
        plan: row,
        run: run.spent,
      }).toMatchObject({ calls: true, tokens: true });
      expect(row.cost).toBeGreaterThan(0); // gpt-4o-mini has a list price
    }
  }, 120_000);

  it("several tasks: the files where `data download --cache` puts them (--lamp-dir), one row per task and method and the total", async () => {
    const lamp = join(dir, "lamp");
    for (const task of ["lamp-2m", "lamp-3"] as const) {
      const made = await writeSyntheticLamp(join(dir, "made", task), task, { users: 3, items: 4 });
      await mkdir(join(lamp, task, "time"), { recursive: true });
      await copyFile(made.questions, join(lamp, task, "time", "train_questions.json"));
      await copyFile(made.outputs, join(lamp, task, "time", "train_outputs.json"));
    }
    const res = await runCli(
      [
        "eval",
        "plan",
        "--lamp-dir",
        lamp,
        "--task",
        "lamp-2m",
        "--task",
        "lamp-3",
        "--method",
        "prompt",
        "--method",
        "rag-1",
      ],
      env(),
    );
    expect(res.stderr).toBe("");
    const lines = res.stdout.trim().split("\n");
    expect(lines.slice(0, 5).map((l) => l.split(/\s+/).slice(0, 5).join(" "))).toEqual([
      "task method users queries calls",
      "lamp-2m prompt 3 3 3",
      "lamp-2m rag-1 3 3 3",
      "lamp-3 prompt 3 3 3",
      "lamp-3 rag-1 3 3 3",
    ]);
    expect(lines[5]).toMatch(/^total\s+12\s+12\s/); // queries, then calls: one per query
    const missing = await runCli(["eval", "plan", "--lamp-dir", lamp, "--task", "lamp-1", "--method", "prompt"], env());
    expect([missing.code, missing.stderr]).toEqual([
      2,
      `persona-agent: --lamp-dir ${lamp}: no lamp-1 time files (run persona-agent data download --task lamp-1 --split time --cache ${lamp}, or give --questions and --outputs)\n`,
    ]);
  }, 60_000);

  it("refuses several tasks with --questions, and --task/--method missing, in one line (exit 2)", async () => {
    const several = await runCli(["eval", "plan", ...flags(), "--task", "lamp-3", "--method", "prompt"], env());
    expect([several.code, several.stderr]).toEqual([
      2,
      "persona-agent: with several --task, the files come from --lamp-dir (one --task for --questions/--oppu)\n",
    ]);
    const none = await runCli(["eval", "plan", ...flags()], env());
    expect([none.code, none.stderr]).toEqual([
      2,
      "persona-agent: eval plan needs --task and --method (each may repeat)\n",
    ]);
    const twice = await runCli(["eval", ...flags(), "--method", "prompt", "--method", "rag-1"], env());
    expect([twice.code, twice.stderr]).toEqual([
      2,
      "persona-agent: eval runs one --method at a time (`eval plan` takes several)\n",
    ]);
  }, 60_000);
});
