/** Every method runs offline on a generated LaMP time-split sample with a scripted model; then the report. */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { jest } from "@jest/globals";
import { BM25Retriever } from "@langchain/community/retrievers/bm25";
import { HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { generateLamp } from "../../src/eval/synthetic.js";
import { runEval, type EvalSummary } from "../../src/eval/runner.js";
import { METHODS, type MethodName } from "../../src/eval/methods.js";
import { writeReport } from "../../src/eval/report.js";
import { DEFAULT_SETTINGS } from "../../src/settings.js";
import type { LampTask } from "../../src/data/lamp.js";
import { lampToUsers, type EvalUser } from "../../src/data/oppu.js";
import { ScriptedChatModel, type ScriptedCall } from "../../testing/scripted-model.js";
import { tempDir } from "../../testing/fixtures.js";
import { lampScript } from "../../testing/lamp-script.js";

const out = tempDir("eval-methods-");
afterAll(() => rm(out, { recursive: true, force: true }));

/** A time-split sample: `users` users with 2 test queries each (the later one sees the earlier one as history). */
function population(task: LampTask, users = 3): EvalUser[] {
  const { questions, outputs } = generateLamp(task, { users, items: 5, queries: 2, dated: true });
  return lampToUsers(questions.map((q) => ({ ...q, output: outputs.golds.find((g) => g.id === q.id)!.output })), "time");
}

const RUN = { data: ["generated"], split: "time" as const, seed: 0 };

async function run(task: LampTask, method: MethodName, options: { params?: { k: number; batch: number; iterations: number }; users?: EvalUser[]; userCount?: number; calls?: ScriptedCall[] } = {}): Promise<EvalSummary> {
  const model = new ScriptedChatModel(lampScript(task), { calls: options.calls });
  const users = options.users ?? population(task);
  return runEval({ task, method, users, userCount: options.userCount ?? 3, concurrency: 3, outDir: out, model, modelId: "scripted", settings: DEFAULT_SETTINGS, params: options.params ?? { k: 4, batch: 3, iterations: 1 }, run: RUN, retryForMs: 0, backoffMs: 1 });
}

// LLM calls per query, with 2 queries per user: preparing a user (profile, alignment) counts once for both.
// Alignment at n=3: 3 replays x (tool call + answer) + 3 LLM_grad + 1 LLM_update = 10; without tools 3 + 3 + 1 = 7.
const CALLS: Record<MethodName, number> = {
  prompt: 1, icl: 1, "rag-1": 1, "rag-4": 1, membank: 1,
  "pag-4": (1 + 2) / 2, // profile summary once + one answer per query
  react: 2, "persona-agent-no-persona": 2, // tool call + answer
  "persona-agent-no-alignment": (1 + 2 * 2) / 2, // profile + (tool call + answer) per query
  "persona-agent-no-memory": (10 + 2 * 2) / 2, // alignment + (tool call + answer) per query
  "persona-agent": (1 + 10 + 2 * 2) / 2,
  "persona-agent-no-action": (1 + 7 + 2) / 2, // profile + alignment without tools + one answer per query
};

describe("every method on a generated LaMP-2M time-split sample", () => {
  const results = new Map<MethodName, EvalSummary>();
  const calls = new Map<MethodName, ScriptedCall[]>();
  let bm25Queries: string[] = [];
  beforeAll(async () => {
    const bm25 = jest.spyOn(BM25Retriever.prototype, "invoke");
    for (const method of METHODS) {
      const log: ScriptedCall[] = [];
      bm25.mockClear();
      results.set(method, await run("lamp-2m", method, { calls: log }));
      calls.set(method, log);
      if (method === "rag-4") bm25Queries = bm25.mock.calls.map((c) => c[0] as string);
    }
    bm25.mockRestore();
  }, 120_000);

  it.each(METHODS)("%s answers every query of every user with the expected number of LLM calls", (method) => {
    const s = results.get(method)!;
    expect(s).toMatchObject({ users: 3, queries: 6, n: 6, failures: 0, complete: true, ran: 6 });
    expect(s.callsPerQuery).toBe(CALLS[method]);
  });

  it("scores the methods as their evidence predicts (personalization helps, no context does not)", () => {
    const acc = (m: MethodName) => (results.get(m)!.metrics as { accuracy: number }).accuracy;
    expect(acc("prompt")).toBe(0); // the scripted model cannot tell without context: invalid output
    expect(acc("rag-1")).toBe(1);
    expect(acc("icl")).toBe(0); // other people's labels
  });

  it("RAG retrieves with LangChain's BM25 over the task input (the movie description), not the whole instruction", () => {
    expect(bm25Queries).toHaveLength(6);
    for (const query of bm25Queries) {
      expect(query).toMatch(/^river|^castle|^orbit/);
      expect(query).not.toContain("Which tag");
    }
  });

  it("ICL's demonstrations are other people's: nothing of the user's own profile", () => {
    const users = population("lamp-2m");
    for (const call of calls.get("icl")!) {
      const prompt = call.messages.map((m) => m.text).join("\n");
      const owner = users.find((u) => u.queries.some((q) => prompt.includes(q.input.slice(q.input.indexOf("description: ")))))!;
      expect(prompt).toContain("Examples of this task, answered by other people");
      for (const item of owner.profile) expect(prompt).not.toContain(item.description as string);
      expect(prompt).toMatch(/User's response: /);
    }
  });

  it("ReAct and w/o-persona send different requests (ReAct instructions vs no persona)", () => {
    const systems = (m: MethodName) => new Set(calls.get(m)!.map((c) => c.messages.find((x) => SystemMessage.isInstance(x))?.text));
    const [react, noPersona] = [systems("react"), systems("persona-agent-no-persona")];
    expect([...react][0]).toMatch(/ReAct style/);
    expect([...react][0]).toContain("Final Answer:");
    expect([...noPersona]).toEqual(["You are a helpful assistant."]);
  });

  it("w/o Action has no tools anywhere, alignment included; the others bind them", () => {
    expect(calls.get("persona-agent-no-action")!.every((c) => c.tools.length === 0)).toBe(true);
    expect(calls.get("persona-agent")!.some((c) => c.tools.length > 0)).toBe(true);
  });

  it("w/o Memory keeps alignment but the answering agent retrieves nothing of the user", () => {
    const log = calls.get("persona-agent-no-memory")!;
    expect(log.some((c) => c.messages.some((m) => HumanMessage.isInstance(m) && /<feedback>|Expected Answer|<expected_answer>/.test(m.text)))).toBe(true);
    // Answering calls carry the test prompt's answer-format line (prompts/lamp/lamp-2m.md); replays do not.
    const answers = log.filter((c) => c.messages.some((m) => HumanMessage.isInstance(m) && m.text.includes("Answer with exactly one of these tags")));
    expect(answers.length).toBe(6 * 2); // tool call + answer per query
    const toolResults = answers.flatMap((c) => c.messages.filter((m) => ToolMessage.isInstance(m)));
    expect(toolResults.length).toBeGreaterThan(0);
    for (const m of toolResults) expect(m.text).toBe("No past interactions of this user match the query.");
    // The full agent, by contrast, retrieves the user's interactions.
    const full = calls.get("persona-agent")!.filter((c) => c.messages.some((m) => HumanMessage.isInstance(m) && m.text.includes("Answer with exactly one of these tags")));
    expect(full.flatMap((c) => c.messages.filter((m) => ToolMessage.isInstance(m))).some((m) => m.text.includes("User's response: "))).toBe(true);
  });

  it("records final personas per user, and the aligned one differs from the initial one", async () => {
    const [aligned, initial] = ["persona-agent", "persona-agent-no-alignment"].map((m) => results.get(m as MethodName)!).map(async (s) => {
      const name = (await import("../../src/eval/runner.js")).summaryName(s);
      return JSON.parse(await readFile(join(out, "summaries", name), "utf8")).personas as Record<string, string>;
    });
    const [a, i] = await Promise.all([aligned, initial]);
    expect(Object.keys(a!)).toHaveLength(3);
    for (const id of Object.keys(a!)) {
      expect(a![id]).toContain("After alignment");
      expect(i![id]).not.toContain("After alignment");
    }
  });
});

describe("other tasks and the report", () => {
  it("runs on LaMP-1, LaMP-2N and LaMP-3 and writes the tables", async () => {
    for (const task of ["lamp-1", "lamp-2n", "lamp-3"] as const) {
      for (const method of ["prompt", "rag-4"] as const) expect((await run(task, method)).failures).toBe(0);
    }
    const lamp3 = await run("lamp-3", "rag-1");
    expect(Object.keys(lamp3.metrics)).toEqual(["mae", "rmse"]);
    // A second point on each scaling axis.
    await run("lamp-2m", "persona-agent", { params: { k: 2, batch: 3, iterations: 1 } });
    await run("lamp-2m", "persona-agent", { params: { k: 4, batch: 2, iterations: 1 } });
    await run("lamp-2m", "persona-agent", { params: { k: 4, batch: 3, iterations: 2 } });
    const files = await writeReport(out);
    const md = await readFile(files.markdown!, "utf8");
    expect(md).toContain("| Dataset | Metric | Prompt | ICL | RAG-1 | RAG-4 | PAG-4 | ReAct | MemBank | PersonaAgent |");
    expect(md).toMatch(/\| LaMP-3 \| MAE ↓ \| .* \|\n/);
    expect(md).toMatch(/### Table 3: ablations/);
    const json = JSON.parse(await readFile(files.json!, "utf8")).scripted;
    const cell = (table: string, task: string, metric: string, method: string) => json[table].find((r: any) => r.task === task && r.metric === metric).cells.find((c: any) => c.method === method);
    expect(cell("table2", "lamp-2m", "accuracy", "rag-1")).toMatchObject({ paper: 0.32, users: 3, queries: 6, failures: 0 });
    expect(cell("table2", "lamp-2m", "f1", "rag-1").value).toEqual(expect.any(Number));
    expect(cell("table3", "lamp-1", "accuracy", "persona-agent-no-action").value).toBeUndefined();

    // One point per K (and n, E) on the LaMP-2M panel: the default run and the one varied here.
    for (const axis of ["batch", "iterations", "k"]) {
      const svg = await readFile(files[`scaling-${axis}.svg`]!, "utf8");
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      expect(svg).toContain("Title text 'LaMP-2M'");
      expect(svg.match(/metric: Acc\.; value: [\d.]+; queries: 6" role="graphics-symbol" aria-roledescription="point"/g)).toHaveLength(2);
    }
    const heat = await readFile(files["persona-similarity.svg"]!, "utf8");
    expect(heat.match(/aria-roledescription="rect mark"/g)).toHaveLength(9); // 3 users x 3
    expect(heat).toMatch(/Jaccard: 1; persona of: (\w+); compared with: \1"/);
  }, 60_000);
});

