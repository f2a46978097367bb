/**
 * Tabulates the summaries `eval` wrote under `<out>/summaries`: a Markdown file shaped like the
 * paper's Table 2 (methods x tasks) and Table 3 (ablations), the same data as JSON, and SVGs:
 * test-time scaling (metric vs alignment batch n, iterations E, retrieved K) and a heatmap of
 * word-set Jaccard similarity between users' final personas.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { LampTask } from "../data/lamp.js";
import { ABLATIONS, BASELINES, type MethodName, type MethodParams } from "./methods.js";
import { primaryMetric } from "./metrics.js";
import type { EvalSummary } from "./runner.js";
import { heatmap, lineChart } from "./svg.js";

type Stored = EvalSummary & { personas?: Record<string, string> };

const TASKS: LampTask[] = ["lamp-1", "lamp-2m", "lamp-2n", "lamp-3"];
const TASK_TITLE: Record<LampTask, string> = { "lamp-1": "LaMP-1", "lamp-2m": "LaMP-2M", "lamp-2n": "LaMP-2N", "lamp-3": "LaMP-3" };
const COLUMNS: Record<LampTask, [string, string][]> = {
  "lamp-1": [["accuracy", "Acc ↑"], ["f1", "F1 ↑"]],
  "lamp-2m": [["accuracy", "Acc ↑"], ["f1", "F1 ↑"]],
  "lamp-2n": [["accuracy", "Acc ↑"], ["f1", "F1 ↑"]],
  "lamp-3": [["mae", "MAE ↓"], ["rmse", "RMSE ↓"]],
};
export const DEFAULT_PARAMS: MethodParams = { k: 4, batch: 3, iterations: 1 };
/** How many users the persona heatmap shows (it stays legible). */
const HEATMAP_USERS = 20;

const metricOf = (run: Stored | undefined, name: string): number | undefined => (run?.metrics as unknown as Record<string, number> | undefined)?.[name];
const sameParams = (a: MethodParams, b: MethodParams) => a.k === b.k && a.batch === b.batch && a.iterations === b.iterations;

async function readSummaries(outDir: string): Promise<Stored[]> {
  const dir = join(outDir, "summaries");
  const names = await readdir(dir).catch(() => [] as string[]);
  const all = await Promise.all(names.filter((n) => n.endsWith(".json")).map(async (n) => JSON.parse(await readFile(join(dir, n), "utf8")) as Stored));
  return all.sort((a, b) => a.model.localeCompare(b.model));
}

/** The run at the default parameters, else any run of that task and method. */
function pick(runs: Stored[], model: string, task: LampTask, method: MethodName): Stored | undefined {
  const mine = runs.filter((r) => r.model === model && r.task === task && r.method === method);
  return mine.find((r) => sameParams(r.params, DEFAULT_PARAMS)) ?? mine[0];
}

function markdownTable(runs: Stored[], model: string, methods: readonly MethodName[]): string {
  const head = ["Method", ...TASKS.flatMap((t) => COLUMNS[t].map(([, label]) => `${TASK_TITLE[t]} ${label}`))];
  const rows = methods.map((method) => [
    method,
    ...TASKS.flatMap((task) => {
      const run = pick(runs, model, task, method);
      return COLUMNS[task].map(([metric]) => {
        const value = metricOf(run, metric);
        return value === undefined ? "–" : `${value.toFixed(3)}${run!.complete ? "" : "*"}`;
      });
    }),
  ]);
  return [head, head.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

function tableJson(runs: Stored[], model: string, methods: readonly MethodName[]) {
  return Object.fromEntries(methods.map((m) => [m, Object.fromEntries(TASKS.map((t) => [t, pick(runs, model, t, m)?.metrics ?? null]))]));
}

const PARAM_AXES: { key: keyof MethodParams; label: string; file: string }[] = [
  { key: "batch", label: "alignment batch size n (latest interactions)", file: "scaling-batch.svg" },
  { key: "iterations", label: "alignment iterations E", file: "scaling-iterations.svg" },
  { key: "k", label: "retrieved memories K", file: "scaling-k.svg" },
];

/** persona-agent runs varying one parameter with the others at their defaults. */
function scaling(runs: Stored[], model: string, key: keyof MethodParams) {
  return TASKS.map((task) => ({
    name: `${TASK_TITLE[task]} ${primaryMetric(task).name}`,
    points: runs
      .filter((r) => r.model === model && r.task === task && r.method === "persona-agent")
      .filter((r) => sameParams({ ...r.params, [key]: DEFAULT_PARAMS[key] }, DEFAULT_PARAMS))
      .map((r) => [r.params[key], metricOf(r, primaryMetric(task).name)!] as [number, number]),
  })).filter((s) => s.points.length > 0);
}

export function wordSet(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []);
}

export function jaccard(a: Set<string>, b: Set<string>): number {
  const union = new Set([...a, ...b]).size;
  if (union === 0) return 1;
  return [...a].filter((w) => b.has(w)).length / union;
}

/** Final personas of the first task's default persona-agent run that has any. */
function personaSimilarity(runs: Stored[], model: string) {
  for (const task of TASKS) {
    const personas = Object.entries(pick(runs, model, task, "persona-agent")?.personas ?? {}).slice(0, HEATMAP_USERS);
    if (personas.length === 0) continue;
    const sets = personas.map(([, p]) => wordSet(p));
    return { task, users: personas.map(([id]) => id), matrix: sets.map((a) => sets.map((b) => jaccard(a, b))) };
  }
  return { task: undefined, users: [] as string[], matrix: [] as number[][] };
}

export async function writeReport(outDir: string): Promise<Record<string, string>> {
  const runs = await readSummaries(outDir);
  const models = [...new Set(runs.map((r) => r.model))];
  const reportDir = join(outDir, "report");
  await mkdir(reportDir, { recursive: true });
  const files: Record<string, string> = { markdown: join(reportDir, "report.md"), json: join(reportDir, "report.json") };
  const md: string[] = ["# LaMP evaluation", "", "Values marked * come from unfinished runs. Tables use the runs at K=4, n=3, E=1 where present.", ""];
  const json: Record<string, unknown> = {};
  for (const [m, model] of models.entries()) {
    const suffix = models.length > 1 ? `-${m + 1}` : "";
    md.push(`## Model ${model}`, "", "### Table 2: methods", "", markdownTable(runs, model, BASELINES), "");
    md.push("### Table 3: ablations", "", markdownTable(runs, model, ["persona-agent", ...ABLATIONS]), "");
    const cost = runs.filter((r) => r.model === model).map((r) => `| ${r.task} | ${r.method} | k${r.params.k} n${r.params.batch} E${r.params.iterations} | ${r.n} | ${r.callsPerQuery.toFixed(2)} | ${(r.tokens / Math.max(r.n, 1)).toFixed(0)} | ${(r.msPerQuery / 1000).toFixed(2)} | ${r.failures} |`);
    md.push("### Cost", "", "| Task | Method | Params | n | LLM calls/query | tokens/query | s/query | failures |", "| --- | --- | --- | --- | --- | --- | --- | --- |", ...cost, "");
    const curves: Record<string, unknown> = {};
    for (const axis of PARAM_AXES) {
      const series = scaling(runs, model, axis.key);
      curves[axis.key] = series;
      const file = join(reportDir, axis.file.replace(".svg", `${suffix}.svg`));
      await writeFile(file, lineChart({ title: `Test-time scaling: ${axis.label} (${model})`, xLabel: axis.label, yLabel: "metric (Acc ↑ / MAE ↓)", series }));
      files[`scaling-${axis.key}${suffix}`] = file;
      md.push(`![${axis.label}](${axis.file.replace(".svg", `${suffix}.svg`)})`);
    }
    const similarity = personaSimilarity(runs, model);
    const heatFile = join(reportDir, `persona-similarity${suffix}.svg`);
    await writeFile(heatFile, heatmap({ title: `Persona word-set Jaccard similarity${similarity.task ? ` (${TASK_TITLE[similarity.task]})` : ""}`, labels: similarity.users, matrix: similarity.matrix }));
    files[`persona-similarity${suffix}`] = heatFile;
    md.push(`![persona similarity](persona-similarity${suffix}.svg)`, "");
    json[model] = { table2: tableJson(runs, model, BASELINES), table3: tableJson(runs, model, ["persona-agent", ...ABLATIONS]), runs: runs.filter((r) => r.model === model).map(({ personas: _p, ...r }) => r), scaling: curves, personaSimilarity: similarity };
  }
  if (models.length === 0) md.push(`No runs found under ${join(outDir, "summaries")}: run \`persona-agent eval\` first.`);
  await writeFile(files.markdown!, `${md.join("\n")}\n`);
  await writeFile(files.json!, `${JSON.stringify(json, null, 2)}\n`);
  return files;
}
