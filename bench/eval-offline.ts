/**
 * Offline plumbing benchmark of the LaMP harness and its report: every method on every task,
 * generated data, the scripted model of tests/eval (no LLM, so metrics show wiring, not model
 * quality). Also PersonaAgent's scaling runs (n, E, K) and a second scripted "base model" that
 * ignores system prompts, so every figure of the report has data. Prints per-method LLM calls and
 * wall time per query, then writes the report (tables, every figure as SVG + PNG, report.html).
 *   npx tsx bench/eval-offline.ts [outDir]
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SystemMessage } from "@langchain/core/messages";
import { generateExamples } from "../apps/eval/synthetic.js";
import { runEval } from "../apps/eval/runner.js";
import { METHODS, type MethodName, type MethodParams } from "../apps/eval/methods.js";
import { DEFAULT_PARAMS, writeReport } from "../apps/eval/report.js";
import { createEmbeddings } from "../src/models/embeddings.js";
import { DEFAULT_SETTINGS } from "../src/configuration/settings.js";
import type { LampTask } from "../apps/eval/data/lamp.js";
import { lampToUsers } from "../apps/eval/data/oppu.js";
import { ScriptedChatModel, type Script } from "../testing/scripted-model.js";
import { lampScript } from "../testing/lamp-script.js";

const out = process.argv[2] ?? mkdtempSync(join(tmpdir(), "eval-bench-"));
const TASKS: LampTask[] = ["lamp-1", "lamp-2m", "lamp-2n", "lamp-3"];
const USERS = 6;
/** PersonaAgent's test-time scaling: one knob off its default at a time (Figure 3). */
const SCALING: MethodParams[] = [
  ...[1, 2, 4].map((batch) => ({ ...DEFAULT_PARAMS, batch })),
  ...[2, 3].map((iterations) => ({ ...DEFAULT_PARAMS, iterations })),
  ...[1, 2, 8].map((k) => ({ ...DEFAULT_PARAMS, k })),
];
/** The second base model (Figure 4) answers as the first but never sees the system prompt. */
const ignoresSystem =
  (script: Script): Script =>
  (messages, call) =>
    script(
      messages.filter((m) => !SystemMessage.isInstance(m)),
      call,
    );
const SECOND_MODEL_METHODS: MethodName[] = ["prompt", "rag-4", "react", "persona-agent"];

const runs: { modelId: string; script: (task: LampTask) => Script; method: MethodName; params: MethodParams }[] = [
  ...METHODS.map((method) => ({ modelId: "scripted", script: lampScript, method, params: DEFAULT_PARAMS })),
  ...SCALING.map((params) => ({ modelId: "scripted", script: lampScript, method: "persona-agent" as const, params })),
  ...SECOND_MODEL_METHODS.map((method) => ({
    modelId: "scripted-ignores-system",
    script: (t: LampTask) => ignoresSystem(lampScript(t)),
    method,
    params: DEFAULT_PARAMS,
  })),
];

const benchStarted = Date.now();
for (const task of TASKS) {
  const { users } = lampToUsers(
    task,
    generateExamples(task, { users: USERS, items: 6, queries: 2, dated: true }),
    "time",
  );
  for (const { modelId, script, method, params } of runs) {
    const started = Date.now();
    const s = await runEval({
      task,
      method,
      users,
      userCount: USERS,
      concurrency: 4,
      outDir: out,
      run: { data: ["generated"], split: "time", seed: 0 },
      model: new ScriptedChatModel(script(task)),
      modelId,
      settings: DEFAULT_SETTINGS,
      params,
      retryForMs: 0,
      backoffMs: 1,
    });
    console.log(
      `${task}\t${modelId}\t${method}\tK${params.k} n${params.batch} E${params.iterations}\tcalls/query ${s.callsPerQuery.toFixed(1)}\tms/query ${s.msPerQuery.toFixed(0)}\twall ${Date.now() - started} ms\t${JSON.stringify(s.metrics)}`,
    );
  }
}
const evalMs = Date.now() - benchStarted;
const reportStarted = Date.now();
const files = await writeReport(out, {
  html: true,
  embeddings: await createEmbeddings(DEFAULT_SETTINGS.embeddings, DEFAULT_SETTINGS),
});
console.log(readFileSync(files.markdown!, "utf8"));
console.log(
  `eval runs: ${(evalMs / 1000).toFixed(1)} s; report (tables, ${Object.keys(files).filter((f) => f.endsWith(".svg")).length} figures as SVG + PNG, HTML): ${((Date.now() - reportStarted) / 1000).toFixed(1)} s`,
);
console.log(Object.values(files).join("\n"));
