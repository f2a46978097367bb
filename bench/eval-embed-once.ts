/**
 * Embed once (issue #11 item 4): the embedding cost of running several memory-backed methods on
 * the same LaMP users, with each method in its own --out (every method embeds every profile, as
 * before) against all methods in one --out (profiles embedded once, shared through the per-user
 * embedding cache). Real local embeddings (universal-sentence-encoder), scripted chat model.
 *   npx tsx bench/eval-embed-once.ts [users] [items]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateExamples } from "../apps/eval/synthetic.js";
import { runEval } from "../apps/eval/runner.js";
import type { MethodName } from "../apps/eval/methods.js";
import { lampToUsers } from "../apps/eval/data/oppu.js";
import { DEFAULT_SETTINGS } from "../src/configuration/settings.js";
import { ScriptedChatModel } from "../testing/scripted-model.js";
import { lampScript } from "../testing/lamp-script.js";
import { fmt, table } from "./lib.js";

const USERS = Number(process.argv[2] ?? 5);
const ITEMS = Number(process.argv[3] ?? 20);
const METHODS: MethodName[] = ["react", "membank", "persona-agent-no-persona", "persona-agent-no-alignment"];

const { users } = lampToUsers(
  "lamp-2m",
  generateExamples("lamp-2m", { users: USERS, items: ITEMS, queries: 2, dated: true }),
  "time",
);
const profiles = users.reduce((n, u) => n + u.profile.length, 0);

async function runAll(outFor: (method: MethodName) => string, methods = METHODS): Promise<number[]> {
  const times: number[] = [];
  for (const method of methods) {
    const started = performance.now();
    await runEval({
      task: "lamp-2m",
      method,
      users,
      userCount: USERS,
      concurrency: 2,
      outDir: outFor(method),
      model: new ScriptedChatModel(lampScript("lamp-2m")),
      modelId: "scripted",
      settings: DEFAULT_SETTINGS,
      params: { k: 4, batch: 3, iterations: 1 },
      run: { data: ["generated"], split: "time", seed: 0 },
      retryForMs: 0,
      backoffMs: 1,
    });
    times.push(performance.now() - started);
  }
  return times;
}

const root = mkdtempSync(join(tmpdir(), "eval-embed-once-"));
try {
  await runAll((m) => join(root, "warmup", m), ["prompt"]); // loads the modules, outside the timings
  const separate = await runAll((m) => join(root, "separate", m));
  const shared = await runAll(() => join(root, "shared"));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  console.log(`${USERS} users, ${profiles} profile items, ${USERS * 2} queries; methods: ${METHODS.join(", ")}\n`);
  console.log(
    table(
      ["method", "own --out (s)", "shared --out (s)"],
      [
        ...METHODS.map((m, i) => [m, fmt(separate[i]! / 1000, 2), fmt(shared[i]! / 1000, 2)]),
        ["total", fmt(sum(separate) / 1000, 2), fmt(sum(shared) / 1000, 2)],
      ],
    ),
  );
  console.log(`\nspeed-up of the four methods together: ${fmt(sum(separate) / sum(shared), 2)}x`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
