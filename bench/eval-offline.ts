/**
 * Offline plumbing benchmark of the LaMP harness: every method on every task, generated data,
 * the scripted model of tests/eval (no LLM, so metrics show wiring, not model quality).
 * Prints the report's tables and per-method LLM calls and wall time per query.
 *   npx tsx bench/eval-offline.ts [outDir]
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateLamp } from "../src/eval/synthetic.js";
import { runEval } from "../src/eval/runner.js";
import { METHODS } from "../src/eval/methods.js";
import { writeReport } from "../src/eval/report.js";
import { DEFAULT_SETTINGS } from "../src/settings.js";
import type { LampTask } from "../src/data/lamp.js";
import { lampToUsers } from "../src/data/oppu.js";
import { ScriptedChatModel } from "../tests/support/scripted-model.js";
import { lampScript } from "../tests/eval/lamp-script.js";

const out = process.argv[2] ?? mkdtempSync(join(tmpdir(), "eval-bench-"));
const TASKS: LampTask[] = ["lamp-1", "lamp-2m", "lamp-2n", "lamp-3"];
const USERS = 5;

for (const task of TASKS) {
  const { questions, outputs } = generateLamp(task, { users: USERS, items: 6, queries: 2, dated: true });
  const users = lampToUsers(questions.map((q) => ({ ...q, output: outputs.golds.find((g) => g.id === q.id)!.output })), "time");
  for (const method of METHODS) {
    const started = Date.now();
    const s = await runEval({
      task, method, users, userCount: USERS, concurrency: 4, outDir: out,
      run: { data: ["generated"], split: "time", seed: 0 },
      model: new ScriptedChatModel(lampScript(task)), modelId: "scripted",
      settings: DEFAULT_SETTINGS, params: { k: 4, batch: 3, iterations: 1 }, retries: 0, backoffMs: 1,
    });
    console.log(`${task}\t${method}\tcalls/query ${s.callsPerQuery.toFixed(1)}\tms/query ${s.msPerQuery.toFixed(0)}\twall ${Date.now() - started} ms\t${JSON.stringify(s.metrics)}`);
  }
}
const files = await writeReport(out);
console.log(readFileSync(files.markdown!, "utf8"));
console.log(`report: ${files.markdown}`);
