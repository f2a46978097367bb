/** Every method runs offline on generated LaMP data with a scripted model; then the report. */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { generateLamp } from "../../src/eval/synthetic.js";
import { runEval, type EvalSummary } from "../../src/eval/runner.js";
import { METHODS, type MethodName } from "../../src/eval/methods.js";
import { writeReport } from "../../src/eval/report.js";
import { DEFAULT_SETTINGS } from "../../src/settings.js";
import type { LampExample, LampTask } from "../../src/data/lamp.js";
import { ScriptedChatModel } from "../support/scripted-model.js";
import { tempDir } from "../support/fixtures.js";
import { lampScript } from "./lamp-script.js";

const out = tempDir("eval-methods-");
afterAll(() => rm(out, { recursive: true, force: true }));

function examples(task: LampTask, users = 3): LampExample[] {
  const { questions, outputs } = generateLamp(task, { users, items: 5 });
  return questions.map((q) => ({ ...q, output: outputs.golds.find((g) => g.id === q.id)!.output }));
}

async function run(task: LampTask, method: MethodName, params = { k: 4, batch: 3, iterations: 1 }): Promise<EvalSummary> {
  const model = new ScriptedChatModel(lampScript(task));
  return runEval({ task, method, examples: examples(task), users: 3, concurrency: 3, outDir: out, model, modelId: "scripted", settings: DEFAULT_SETTINGS, params, retries: 0, backoffMs: 1 });
}

// LLM calls per query: what each method is made of (3 users, alignment batch 3, one tool call per agent answer).
const CALLS: Record<MethodName, number> = {
  prompt: 1, icl: 1, "rag-1": 1, "rag-4": 1, membank: 1,
  "pag-4": 2, // profile summary + answer
  react: 2, "persona-agent-no-persona": 2, "persona-agent-no-memory": 2, "persona-agent-no-alignment": 3, // (+ profile) tool call + answer
  "persona-agent": 13, // profile + 3 simulations x 2 + 3 feedbacks + 1 update + tool call + answer
  "persona-agent-no-action": 12, // as above, answer without tools
};

describe("every method on generated LaMP-2M data", () => {
  const results = new Map<MethodName, EvalSummary>();
  beforeAll(async () => {
    for (const method of METHODS) results.set(method, await run("lamp-2m", method));
  }, 60_000);

  it.each(METHODS)("%s answers every question with the expected number of LLM calls", (method) => {
    const s = results.get(method)!;
    expect(s).toMatchObject({ n: 3, failures: 0, complete: true, ran: 3 });
    expect(s.callsPerQuery).toBe(CALLS[method]);
  });

  it("scores the methods as their evidence predicts (personalization helps, no context does not)", () => {
    const acc = (m: MethodName) => (results.get(m)!.metrics as { accuracy: number }).accuracy;
    expect(acc("prompt")).toBe(0); // the scripted model cannot tell without context: invalid output
    expect(acc("persona-agent-no-memory")).toBe(0);
    expect(acc("rag-1")).toBe(1);
    expect(acc("icl")).toBe(0); // the latest items carry another label
  });

  it("records final personas, and the aligned one differs from the initial one", async () => {
    const [aligned, initial] = await Promise.all(
      ["persona-agent", "persona-agent-no-alignment"].map(async (m) => JSON.parse(await readFile(join(out, "summaries", `lamp-2m__${m}__k4-n3-e1__scripted.json`), "utf8")).personas),
    );
    expect(Object.keys(aligned)).toHaveLength(3);
    for (const id of Object.keys(aligned)) {
      expect(aligned[id]).toContain("After alignment");
      expect(initial[id]).not.toContain("After alignment");
    }
  });
});

describe("other tasks and the report", () => {
  it("runs on LaMP-1, LaMP-2N and LaMP-3 and writes the tables and pictures", async () => {
    for (const task of ["lamp-1", "lamp-2n", "lamp-3"] as const) {
      for (const method of ["prompt", "rag-4"] as const) expect((await run(task, method)).failures).toBe(0);
    }
    const lamp3 = await run("lamp-3", "rag-1");
    expect(Object.keys(lamp3.metrics)).toEqual(["mae", "rmse"]);
    // A second point on each scaling axis.
    await run("lamp-2m", "persona-agent", { k: 2, batch: 3, iterations: 1 });
    await run("lamp-2m", "persona-agent", { k: 4, batch: 2, iterations: 1 });
    await run("lamp-2m", "persona-agent", { k: 4, batch: 3, iterations: 2 });

    const files = await writeReport(out);
    const md = await readFile(files.markdown!, "utf8");
    expect(md).toMatch(/\| Method \| LaMP-1 Acc ↑ \| LaMP-1 F1 ↑ \| LaMP-2M Acc ↑ .* \| LaMP-3 MAE ↓ \| LaMP-3 RMSE ↓ \|/);
    for (const method of METHODS) expect(md).toContain(`| ${method} |`);
    expect(md).toMatch(/### Table 3: ablations/);
    const json = JSON.parse(await readFile(files.json!, "utf8")).scripted;
    expect(json.table2["rag-1"]["lamp-2m"]).toEqual({ accuracy: 1, f1: 0.2 });
    expect(json.table3["persona-agent-no-action"]["lamp-1"]).toBeNull();

    for (const axis of ["batch", "iterations", "k"]) {
      const svg = await readFile(files[`scaling-${axis}`]!, "utf8");
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      expect(svg).toContain('data-name="LaMP-2M accuracy"');
      expect(svg.match(/<circle /g)).toHaveLength(2);
    }
    const heat = await readFile(files["persona-similarity"]!, "utf8");
    expect(heat.match(/<rect class="cell"/g)).toHaveLength(9); // 3 users x 3
    expect(heat).toContain("100 × 100: 1.000");
  }, 60_000);
});
