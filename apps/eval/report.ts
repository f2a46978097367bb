/**
 * Reports the summaries `eval` wrote under `<out>/summaries` the way the paper does: Table 2
 * (datasets x metrics by method, grouped as the paper groups them) and Table 3 (ablations), each
 * value beside the paper's with the difference, the best value of each dataset-metric marked, and
 * users / queries / failures per run; Figures 2-5 as Vega-Lite SVG + PNG (apps/eval/figures.ts);
 * the same data as JSON; and with `html`, one self-contained page of tables and figures.
 */
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import type { TopLevelSpec } from "vega-lite";
import { UserError } from "../../src/errors/errors.js";
import { setPrompt } from "../../src/prompts/prompts.js";
import { DEFAULT_SETTINGS, PROMPT_SETS, type PromptSet } from "../../src/configuration/settings.js";
import type { LampTask } from "./data/lamp.js";
import { ABLATIONS, type MethodName, type MethodParams } from "./methods.js";
import { primaryMetric } from "./metrics.js";
import { dataFingerprint, type EvalSummary } from "./runner.js";
import { formatCost } from "./prices.js";
import { PAPER_TABLE2, PAPER_TABLE3, type PaperTable } from "./paper-results.js";
import {
  baseModelSpec,
  heatmapSpec,
  METHOD_COLOURS,
  personaMapSpec,
  renderFigure,
  scalingSpec,
  tsne2d,
  type MapPoint,
  type MetricAxis,
} from "./figures.js";

/**
 * A summary file; `users`, `queries`, the prompt set, `spent`, `dataFingerprint` and `writtenAt`
 * are absent from older runs. `id` and `written` (ms) are always set when read: from the summary,
 * else from its file's name and modification time.
 */
type Stored = Omit<EvalSummary, "spent" | "dataFingerprint" | "writtenAt"> &
  Partial<Pick<EvalSummary, "spent" | "dataFingerprint" | "writtenAt">> & {
    personas?: Record<string, string>;
    users?: number;
    queries?: number;
    promptSet?: string;
    runKey?: { promptSet?: string; data?: string[] };
    id: string;
    written: number;
  };

const TASKS: LampTask[] = ["lamp-1", "lamp-2m", "lamp-2n", "lamp-3"];
const TASK_TITLE: Record<LampTask, string> = {
  "lamp-1": "LaMP-1",
  "lamp-2m": "LaMP-2M",
  "lamp-2n": "LaMP-2N",
  "lamp-3": "LaMP-3",
};
const TASK_NAME: Record<LampTask, string> = {
  "lamp-1": "Personalized Citation Identification",
  "lamp-2m": "Personalized Movie Tagging",
  "lamp-2n": "Personalized News Categorization",
  "lamp-3": "Personalized Product Rating",
};
interface Metric {
  name: string;
  label: string;
  higherIsBetter: boolean;
}
const CLASSIFICATION: Metric[] = [
  { name: "accuracy", label: "Acc.", higherIsBetter: true },
  { name: "f1", label: "F1", higherIsBetter: true },
];
const METRICS: Record<LampTask, Metric[]> = {
  "lamp-1": CLASSIFICATION,
  "lamp-2m": CLASSIFICATION,
  "lamp-2n": CLASSIFICATION,
  "lamp-3": [
    { name: "mae", label: "MAE", higherIsBetter: false },
    { name: "rmse", label: "RMSE", higherIsBetter: false },
  ],
};
const arrow = (m: Metric) => (m.higherIsBetter ? "↑" : "↓");

/** Table 2's columns, grouped as in the paper. */
const METHOD_GROUPS: { group: string; methods: { method: MethodName; label: string }[] }[] = [
  {
    group: "Non-Personalized",
    methods: [
      { method: "prompt", label: "Prompt" },
      { method: "icl", label: "ICL" },
    ],
  },
  {
    group: "Personalized Workflow",
    methods: [
      { method: "rag-1", label: "RAG-1" },
      { method: "rag-4", label: "RAG-4" },
      { method: "pag-4", label: "PAG-4" },
    ],
  },
  {
    group: "General Agent",
    methods: [
      { method: "react", label: "ReAct" },
      { method: "membank", label: "MemBank" },
    ],
  },
  { group: "PersonaAgent", methods: [{ method: "persona-agent", label: "PersonaAgent" }] },
];
const VARIANT_LABEL: Record<string, string> = {
  "persona-agent": "PersonaAgent",
  "persona-agent-no-alignment": "w/o alignment",
  "persona-agent-no-persona": "w/o persona",
  "persona-agent-no-memory": "w/o Memory",
  "persona-agent-no-action": "w/o Action",
};
const TABLE2_METHODS = METHOD_GROUPS.flatMap((g) => g.methods);
const TABLE3_METHODS = (["persona-agent", ...ABLATIONS] as MethodName[]).map((method) => ({
  method,
  label: VARIANT_LABEL[method]!,
}));
/** Every method in the paper's order with its full name (a figure legend stands alone) and its colour. */
const FIGURE_METHODS = [
  ...TABLE2_METHODS,
  ...TABLE3_METHODS.slice(1).map((m) => ({ ...m, label: `PersonaAgent ${m.label}` })),
].map((m, i) => ({ ...m, colour: METHOD_COLOURS[i]! }));

export const DEFAULT_PARAMS: MethodParams = { k: 4, batch: 3, iterations: 1 };
/** How many users the persona heatmap shows (it stays legible). */
const HEATMAP_USERS = 20;

const metricOf = (run: Stored | undefined, name: string): number | undefined =>
  (run?.metrics as unknown as Record<string, number> | undefined)?.[name];
const sameParams = (a: MethodParams, b: MethodParams) =>
  a.k === b.k && a.batch === b.batch && a.iterations === b.iterations;
/** Older summaries have only `n`: one query per user then. */
const countsOf = (run: Stored) => ({
  users: run.users ?? run.n,
  queries: run.queries ?? run.n,
  failures: run.failures ?? 0,
});
const promptSetOf = (run: Stored): string | undefined => run.promptSet ?? run.runKey?.promptSet;
/** Which data a run's numbers come from; "?" for summaries older than run keys. */
const fingerprintOf = (run: Stored): string =>
  run.dataFingerprint ?? (run.runKey?.data ? dataFingerprint(run.runKey.data) : "?");
const paramsLabel = (p: MethodParams) => `K=${p.k} n=${p.batch} E=${p.iterations}`;
const esc = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const signed = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(3)}`;

async function readSummaries(outDir: string): Promise<Stored[]> {
  const dir = join(outDir, "summaries");
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".json"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    throw new UserError(`${dir} does not exist: run \`persona-agent eval --out ${outDir}\` first`);
  }
  if (names.length === 0)
    throw new UserError(`${dir} holds no eval summaries: run \`persona-agent eval --out ${outDir}\` first`);
  const all = await Promise.all(
    names.map(async (name) => {
      const file = join(dir, name);
      let run: Stored;
      try {
        run = JSON.parse(await readFile(file, "utf8")) as Stored;
      } catch (error) {
        throw new UserError(`${file}: not an eval summary (${(error as Error).message})`);
      }
      if (
        !TASKS.includes(run?.task) ||
        typeof run.method !== "string" ||
        typeof run.model !== "string" ||
        !run.params ||
        !run.metrics
      ) {
        throw new UserError(`${file}: not an eval summary (needs task, method, model, params and metrics)`);
      }
      run.id =
        run.runId ??
        name
          .replace(/\.json$/, "")
          .split("__")
          .at(-1)!;
      run.written = run.writtenAt ? Date.parse(run.writtenAt) : (await stat(file)).mtimeMs;
      return run;
    }),
  );
  return all.sort((a, b) => a.model.localeCompare(b.model) || b.written - a.written);
}

/** A run that was not reported because another run fills the same cell. */
export interface UnusedRun {
  run: Stored;
  instead: Stored;
}

/** Runs fill the same cell (and figure point) when they share model, task, method and K, n, E. */
const cellOf = (r: Stored) =>
  JSON.stringify([r.model, r.task, r.method, r.params.k, r.params.batch, r.params.iterations]);
const describeCell = (r: Stored) => `${r.task} ${r.method} of ${r.model} at ${paramsLabel(r.params)}`;

/**
 * One run per cell: the ones named by `ids` (unique prefixes of run ids; two for one cell is an
 * error), else the newest complete run of each cell (the newest unfinished one when none is
 * complete). The others are returned as unused, with the run used instead.
 */
export function selectRuns(runs: Stored[], ids?: string[]): { used: Stored[]; unused: UnusedRun[] } {
  if (ids && ids.length > 0) {
    const chosen = ids.map((id) => {
      const matches = runs.filter((r) => r.id.startsWith(id));
      if (matches.length !== 1)
        throw new UserError(
          `--run ${id}: ${
            matches.length === 0
              ? "no run has this id"
              : `${matches.length} runs start with it (${matches
                  .map((r) => r.id)
                  .sort()
                  .join(", ")}); give more of it`
          }`,
        );
      return matches[0]!;
    });
    const seen = new Map<string, Stored>();
    for (const run of chosen) {
      const other = seen.get(cellOf(run));
      if (other && other !== run)
        throw new UserError(`--run ${other.id} and --run ${run.id} are both ${describeCell(run)}: give one of them`);
      seen.set(cellOf(run), run);
    }
    const used = [...seen.values()];
    return {
      used,
      unused: runs
        .filter((r) => !used.includes(r))
        .map((run) => ({ run, instead: seen.get(cellOf(run))! }))
        .filter((u) => u.instead),
    };
  }
  const byCell = new Map<string, Stored[]>();
  for (const run of runs) byCell.set(cellOf(run), [...(byCell.get(cellOf(run)) ?? []), run]);
  const used: Stored[] = [];
  const unused: UnusedRun[] = [];
  for (const cell of byCell.values()) {
    const [best, ...rest] = [...cell].sort((a, b) => Number(b.complete) - Number(a.complete) || b.written - a.written);
    used.push(best!);
    unused.push(...rest.map((run) => ({ run, instead: best! })));
  }
  return { used: runs.filter((r) => used.includes(r)), unused };
}

/** The run at the default parameters, else any run of that task and method. */
function pick(runs: Stored[], model: string, task: LampTask, method: MethodName): Stored | undefined {
  const mine = runs.filter((r) => r.model === model && r.task === task && r.method === method);
  return mine.find((r) => sameParams(r.params, DEFAULT_PARAMS)) ?? mine[0];
}

// ---- Tables 2 and 3 ---------------------------------------------------------------------------

export interface Cell {
  method: MethodName;
  value?: number;
  paper?: number;
  /** ours − paper */
  diff?: number;
  best: boolean;
  users?: number;
  queries?: number;
  failures?: number;
  complete?: boolean;
  /** The run the value comes from and its data's fingerprint. */
  runId?: string;
  data?: string;
}
export interface TableRow {
  task: LampTask;
  metric: string;
  higherIsBetter: boolean;
  cells: Cell[];
}

/** One row per dataset and metric, one cell per method; the best of our values in a row is marked. */
function tableRows(runs: Stored[], model: string, methods: { method: MethodName }[], paper: PaperTable): TableRow[] {
  return TASKS.flatMap((task) =>
    METRICS[task].map((metric) => {
      const cells: Cell[] = methods.map(({ method }) => {
        const run = pick(runs, model, task, method);
        const value = metricOf(run, metric.name);
        const paperValue = paper[method]?.[task][metric.name];
        return {
          method,
          value,
          paper: paperValue,
          diff: value !== undefined && paperValue !== undefined ? value - paperValue : undefined,
          best: false,
          ...(run ? { ...countsOf(run), complete: run.complete, runId: run.id, data: fingerprintOf(run) } : {}),
        };
      });
      const values = cells.flatMap((c) => (c.value === undefined ? [] : [c.value]));
      const best = metric.higherIsBetter ? Math.max(...values) : Math.min(...values);
      for (const c of cells) c.best = values.length > 1 && c.value === best;
      return { task, metric: metric.name, higherIsBetter: metric.higherIsBetter, cells };
    }),
  );
}

const metricOfRow = (row: TableRow) => METRICS[row.task].find((m) => m.name === row.metric)!;

/** Which run a cell shows: its users, queries and data. */
const cellSource = (c: Cell) => `${c.users} users · ${c.queries} queries · data ${c.data}`;

function markdownCell(c: Cell): string {
  if (c.value === undefined) return c.paper === undefined ? "–" : `– / ${c.paper.toFixed(3)}`;
  const ours = `${c.best ? "**" : ""}${c.value.toFixed(3)}${c.best ? "**" : ""}${c.complete === false ? "*" : ""}${c.failures ? ` ⚠${c.failures}` : ""}`;
  return `${c.paper === undefined ? ours : `${ours} / ${c.paper.toFixed(3)} (${signed(c.diff!)})`}<br><sub>${cellSource(c)}</sub>`;
}

/** Tasks whose cells in these rows come from different data (e.g. a dev run beside test runs). */
function mixedData(rows: TableRow[]): string[] {
  return TASKS.flatMap((task) => {
    const data = [
      ...new Set(rows.filter((r) => r.task === task).flatMap((r) => r.cells.flatMap((c) => (c.data ? [c.data] : [])))),
    ];
    return data.length > 1
      ? [
          `${TASK_TITLE[task]}: the cells come from ${data.length} different data sets (${data.join(", ")}); compare them with care`,
        ]
      : [];
  });
}

/** Table 2 layout: rows dataset x metric, columns methods. */
function markdownTable2(rows: TableRow[]): string {
  const head = ["Dataset", "Metric", ...TABLE2_METHODS.map((m) => m.label)];
  const groups = ["", "", ...METHOD_GROUPS.flatMap((g) => g.methods.map((_, i) => (i === 0 ? g.group : "")))];
  const body = rows.map((row) => [
    TASK_TITLE[row.task],
    `${metricOfRow(row).label} ${arrow(metricOfRow(row))}`,
    ...row.cells.map(markdownCell),
  ]);
  return [head, head.map(() => "---"), groups, ...body].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

/** Table 3 layout: rows variants, columns dataset x metric. */
function markdownTable3(rows: TableRow[]): string {
  const head = [
    "Variant",
    ...rows.map((r) => `${TASK_TITLE[r.task]} ${metricOfRow(r).label} ${arrow(metricOfRow(r))}`),
  ];
  const body = TABLE3_METHODS.map((m, i) => [m.label, ...rows.map((r) => markdownCell(r.cells[i]!))]);
  return [head, head.map(() => "---"), ...body].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

function htmlCell(c: Cell, higherIsBetter: boolean): string {
  if (c.value === undefined)
    return `<td class="missing">–${c.paper === undefined ? "" : `<span class="paper">paper ${c.paper.toFixed(3)}</span>`}</td>`;
  const better = c.diff === undefined ? "" : c.diff >= 0 === higherIsBetter ? "better" : "worse";
  return [
    `<td class="${c.best ? "best" : ""}${c.failures ? " failed" : ""}">`,
    `<span class="ours">${c.value.toFixed(3)}${c.complete === false ? "*" : ""}</span>`,
    c.paper === undefined
      ? ""
      : `<span class="paper">paper ${c.paper.toFixed(3)} <span class="${better}">${signed(c.diff!)}</span></span>`,
    `<span class="counts" title="run ${esc(c.runId ?? "")}">${esc(cellSource(c))}${c.failures ? ` · <b>${c.failures} failed</b>` : ""}</span>`,
    "</td>",
  ].join("");
}

function htmlTable2(rows: TableRow[]): string {
  // A group of one method named like the group (PersonaAgent) spans both header rows, as in the paper.
  const single = (g: (typeof METHOD_GROUPS)[number]) => g.methods.length === 1 && g.methods[0]!.label === g.group;
  const groups = METHOD_GROUPS.map((g) =>
    single(g) ? `<th rowspan="2">${esc(g.group)}</th>` : `<th colspan="${g.methods.length}">${esc(g.group)}</th>`,
  ).join("");
  const methods = METHOD_GROUPS.filter((g) => !single(g))
    .flatMap((g) => g.methods.map((m) => `<th>${esc(m.label)}</th>`))
    .join("");
  const body = rows.map((row, i) => {
    const dataset =
      i % 2 === 0 ? `<th rowspan="2" class="dataset">${TASK_TITLE[row.task]}: ${TASK_NAME[row.task]}</th>` : "";
    return `<tr>${dataset}<th>${metricOfRow(row).label} ${arrow(metricOfRow(row))}</th>${row.cells.map((c) => htmlCell(c, row.higherIsBetter)).join("")}</tr>`;
  });
  return `<table class="results"><thead><tr><th rowspan="2">Dataset</th><th rowspan="2">Metrics</th>${groups}</tr><tr>${methods}</tr></thead><tbody>${body.join("")}</tbody></table>`;
}

function htmlTable3(rows: TableRow[]): string {
  const datasets = TASKS.map((t) => `<th colspan="${METRICS[t].length}">${TASK_TITLE[t]}: ${TASK_NAME[t]}</th>`).join(
    "",
  );
  const metrics = rows.map((r) => `<th>${metricOfRow(r).label} ${arrow(metricOfRow(r))}</th>`).join("");
  const body = TABLE3_METHODS.map(
    (m, i) => `<tr><th>${esc(m.label)}</th>${rows.map((r) => htmlCell(r.cells[i]!, r.higherIsBetter)).join("")}</tr>`,
  );
  return `<table class="results"><thead><tr><th rowspan="2">Variants</th>${datasets}</tr><tr>${metrics}</tr></thead><tbody>${body.join("")}</tbody></table>`;
}

/** Every run of one model: identity, parameters, counts, prompt set and cost. */
function runsTable(runs: Stored[]): { head: string[]; rows: string[][] } {
  const head = [
    "Run",
    "Data",
    "Written",
    "Task",
    "Method",
    "Params",
    "Prompt set",
    "Users",
    "Queries",
    "Failed",
    "LLM calls/query",
    "tokens/query",
    "s/query",
    "Spent",
  ];
  const rows = runs.map((r) => {
    const { users, queries, failures } = countsOf(r);
    const spent = r.spent ? `${r.spent.calls} calls, ${r.spent.tokens} tokens, ${formatCost(r.spent.cost)}` : "–";
    return [
      r.id,
      fingerprintOf(r),
      new Date(r.written).toISOString().slice(0, 16).replace("T", " "),
      TASK_TITLE[r.task],
      r.method,
      paramsLabel(r.params),
      promptSetOf(r) ?? "–",
      String(users),
      `${queries}${r.complete ? "" : "*"}`,
      String(failures),
      r.callsPerQuery.toFixed(2),
      (r.tokens / Math.max(r.n, 1)).toFixed(0),
      (r.msPerQuery / 1000).toFixed(2),
      spent,
    ];
  });
  return { head, rows };
}

/**
 * Each run's population (persons the data's questions became, what the profile rules removed;
 * absent from older summaries) and the selected persons it skipped (nothing to align on).
 */
function populationTable(runs: Stored[]): { head: string[]; rows: string[][] } {
  const head = [
    "Run",
    "Task",
    "Method",
    "Persons",
    "Questions",
    "Merged",
    "Own items removed",
    "Later items removed",
    "Skipped persons",
  ];
  const rows = runs.map((r) => {
    const p = r.population;
    const skipped = r.skipped ?? [];
    const queries = skipped.reduce((n, s) => n + s.queries, 0);
    const named =
      skipped.length === 0
        ? "0"
        : `${skipped.length} (${queries} ${queries === 1 ? "query" : "queries"} unscored: ${skipped
            .slice(0, 5)
            .map((s) => s.user)
            .join(", ")}${skipped.length > 5 ? ", …" : ""})`;
    return [
      r.id,
      TASK_TITLE[r.task],
      r.method,
      ...(p
        ? [p.persons, p.questions, p.merged, p.leaksRemoved, p.laterRemoved].map(String)
        : ["–", "–", "–", "–", "–"]),
      named,
    ];
  });
  return { head, rows };
}

/** Runs left out because another run fills their cell. */
function unusedTable(unused: UnusedRun[]): { head: string[]; rows: string[][] } {
  const head = ["Run", "Data", "Written", "Task", "Method", "Params", "Queries", "Used instead"];
  const rows = unused.map(({ run, instead }) => {
    const why = !run.complete && instead.complete ? "complete" : instead.written >= run.written ? "newer" : "selected";
    return [
      run.id,
      fingerprintOf(run),
      new Date(run.written).toISOString().slice(0, 16).replace("T", " "),
      TASK_TITLE[run.task],
      run.method,
      paramsLabel(run.params),
      `${countsOf(run).queries}${run.complete ? "" : "*"}`,
      `${instead.id} (${why})`,
    ];
  });
  return { head, rows };
}

const markdownGrid = ({ head, rows }: { head: string[]; rows: string[][] }) =>
  [head, head.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
const htmlGrid = ({ head, rows }: { head: string[]; rows: string[][] }) =>
  `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;

// ---- Figures ----------------------------------------------------------------------------------

interface FigureSource {
  name: string;
  caption: string;
  spec: TopLevelSpec;
}

const axisOf = (task: LampTask): MetricAxis => ({
  task: TASK_TITLE[task],
  metrics: METRICS[task].map((m) => ({ name: m.name, label: m.label })),
  higherIsBetter: METRICS[task][0]!.higherIsBetter,
});

const KNOBS: { key: keyof MethodParams; label: string; figure: string }[] = [
  { key: "batch", label: "alignment batch size n", figure: "scaling-batch" },
  { key: "iterations", label: "alignment iterations E", figure: "scaling-iterations" },
  { key: "k", label: "retrieved memories K", figure: "scaling-k" },
];

/** persona-agent runs varying one knob with the others at their defaults: every metric of the task. */
function scalingPoints(runs: Stored[], model: string, key: keyof MethodParams) {
  return TASKS.flatMap((task) =>
    runs
      .filter((r) => r.model === model && r.task === task && r.method === "persona-agent")
      .filter((r) => sameParams({ ...r.params, [key]: DEFAULT_PARAMS[key] }, DEFAULT_PARAMS))
      .flatMap((r) =>
        METRICS[task].map((m) => ({
          task: TASK_TITLE[task],
          metric: m.label,
          x: r.params[key],
          value: metricOf(r, m.name)!,
          queries: countsOf(r).queries,
        })),
      ),
  );
}

export function wordSet(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []);
}

export function jaccard(a: Set<string>, b: Set<string>): number {
  const union = new Set([...a, ...b]).size;
  if (union === 0) return 1;
  return [...a].filter((w) => b.has(w)).length / union;
}

/** Final personas of the default persona-agent runs, per task. */
function finalPersonas(runs: Stored[], model: string): { task: LampTask; user: string; persona: string }[] {
  const byUser = (a: [string, string], b: [string, string]) => a[0].localeCompare(b[0], "en", { numeric: true });
  return TASKS.flatMap((task) =>
    Object.entries(pick(runs, model, task, "persona-agent")?.personas ?? {})
      .sort(byUser)
      .map(([user, persona]) => ({ task, user, persona })),
  );
}

/** The paper draws its persona pictures on LaMP-2M: that task first, else the first with personas. */
function personaSimilarity(runs: Stored[], model: string) {
  const personas = finalPersonas(runs, model);
  const task = (["lamp-2m", ...TASKS] as LampTask[]).find((t) => personas.some((p) => p.task === t));
  const chosen = personas.filter((p) => p.task === task).slice(0, HEATMAP_USERS);
  const sets = chosen.map((p) => wordSet(p.persona));
  return { task, users: chosen.map((p) => p.user), matrix: sets.map((a) => sets.map((b) => jaccard(a, b))) };
}

/**
 * Figure 2: per task with at least two final personas, a t-SNE of their embeddings and the
 * initial template's; LaMP-2M (the paper's panel) first, the other tasks after it.
 */
async function personaMap(
  runs: Stored[],
  model: string,
  embeddings: EmbeddingsInterface,
): Promise<{ task: LampTask; points: MapPoint[] }[]> {
  const personas = finalPersonas(runs, model);
  const tasks = (["lamp-2m", ...TASKS.filter((t) => t !== "lamp-2m")] as LampTask[]).filter(
    (t) => personas.filter((p) => p.task === t).length >= 2,
  );
  if (tasks.length === 0) return [];
  // The template of the prompt set the runs used (the default set for runs that predate sets).
  const used = TASKS.map((task) => promptSetOf(pick(runs, model, task, "persona-agent") ?? ({} as Stored)));
  const set =
    (used.find((s) => (PROMPT_SETS as readonly (string | undefined)[]).includes(s)) as PromptSet | undefined) ??
    DEFAULT_SETTINGS.promptSet;
  const template = setPrompt(set, "persona_init");
  const vectors = await embeddings.embedDocuments([...personas.map((p) => p.persona), template]);
  return tasks.flatMap((task) => {
    const mine = personas.flatMap((p, i) => (p.task === task ? [{ ...p, vector: vectors[i]! }] : []));
    const coords = tsne2d([...mine.map((p) => p.vector), vectors.at(-1)!]);
    if (!coords) return [];
    const group = TASK_TITLE[task];
    const points: MapPoint[] = [
      ...mine.map((p, i) => ({
        x: coords[i]![0],
        y: coords[i]![1],
        label: p.user,
        group,
        kind: "final persona" as const,
      })),
      {
        x: coords[mine.length]![0],
        y: coords[mine.length]![1],
        label: "persona_init",
        group,
        kind: "initial template" as const,
      },
    ];
    return [{ task, points }];
  });
}

async function modelFigures(
  runs: Stored[],
  model: string,
  embeddings: EmbeddingsInterface | undefined,
  notes: string[],
) {
  const figures: FigureSource[] = [];
  const data: Record<string, unknown> = {};
  for (const knob of KNOBS) {
    const points = scalingPoints(runs, model, knob.key);
    data[knob.figure] = points;
    const panels = TASKS.filter((t) => points.some((p) => p.task === TASK_TITLE[t])).map(axisOf);
    // A curve needs two values of the knob somewhere; one point per task is what Table 2 shows.
    if (new Set(points.map((p) => p.x)).size < 2) {
      notes.push(
        `${knob.figure}: ${panels.length ? `persona-agent of ${model} ran at one ${knob.label} only` : `no persona-agent runs of ${model}`}`,
      );
      continue;
    }
    figures.push({
      name: knob.figure,
      caption: `Figure 3 (test-time scaling): PersonaAgent's metrics against the ${knob.label}, one panel per task with its own axis.`,
      spec: scalingSpec({ title: `Test-time scaling: ${knob.label} (${model})`, knob: knob.label, panels, points }),
    });
  }
  const similarity = personaSimilarity(runs, model);
  data["persona-similarity"] = similarity;
  if (similarity.task) {
    figures.push({
      name: "persona-similarity",
      caption: `Figure 5: word-set Jaccard similarity between users' final personas (${TASK_TITLE[similarity.task]}, first ${similarity.users.length} users).`,
      spec: heatmapSpec({
        title: `Persona similarity (${TASK_TITLE[similarity.task]}, ${model})`,
        subtitle: "word-set Jaccard of final personas; 1 = identical word sets",
        users: similarity.users,
        matrix: similarity.matrix,
      }),
    });
  } else notes.push(`persona-similarity: no final personas in the persona-agent runs of ${model}`);
  const panels = embeddings ? await personaMap(runs, model, embeddings) : [];
  data["persona-map"] = panels.length ? panels : null;
  if (panels.length) {
    const paper = panels[0]!.task === "lamp-2m";
    if (!paper)
      notes.push(
        `persona-map: no LaMP-2M personas of ${model} (the paper's Figure 2 is LaMP-2M); drawn for ${panels.map((p) => TASK_TITLE[p.task]).join(", ")} only`,
      );
    figures.push({
      name: "persona-map",
      caption: `Figure 2: t-SNE of the embeddings of users' final personas${paper ? " on LaMP-2M, as in the paper" : ""}${
        panels.length > 1 || !paper
          ? `; ${paper ? "further panels: " : ""}${panels
              .filter((p) => p.task !== "lamp-2m")
              .map((p) => TASK_TITLE[p.task])
              .join(", ")}, each a t-SNE of its own`
          : ""
      }; the initial persona template (prompts/<set>/persona_init.md) marked.`,
      spec: personaMapSpec({
        title: `Persona map (${model})`,
        subtitle: "t-SNE of final persona embeddings, one per task; ◆ = initial persona template",
        panels: panels.map((p) => ({
          title: p.task === "lamp-2m" ? "LaMP-2M (the paper's Figure 2)" : TASK_TITLE[p.task],
          points: p.points,
        })),
      }),
    });
  } else
    notes.push(
      `persona-map: ${embeddings ? "no task with two or more final personas (or t-SNE failed on them)" : "no embeddings model given"} for ${model}`,
    );
  return { figures, data };
}

/**
 * Figure 4: methods x base models, each task's headline metric at the default parameters; the
 * methods run with more than one model (all of them while there is only one model).
 */
function baseModels(runs: Stored[], models: string[]): FigureSource | undefined {
  const shared = FIGURE_METHODS.filter(
    ({ method }) => new Set(runs.filter((r) => r.method === method).map((r) => r.model)).size > 1,
  );
  const candidates = models.length > 1 && shared.length > 0 ? shared : FIGURE_METHODS;
  // The axis names a model without its provider and vendor prefixes while that stays unambiguous.
  const short = (model: string) =>
    model.replace(/^[a-z]+:/, "").replace(/^(?:(?:us|eu|apac)\.)?(?:anthropic|mistral|meta|amazon|cohere|ai21)\./, "");
  const name = new Set(models.map(short)).size === models.length ? short : (model: string) => model;
  const values = models.flatMap((model) =>
    TASKS.flatMap((task) =>
      candidates.flatMap(({ method, label }) => {
        const value = metricOf(pick(runs, model, task, method), primaryMetric(task).name);
        return value === undefined ? [] : [{ task: TASK_TITLE[task], model: name(model), method: label, value }];
      }),
    ),
  );
  if (values.length === 0) return undefined;
  const methods = candidates.filter((m) => values.some((v) => v.method === m.label));
  const panels = TASKS.filter((t) => values.some((v) => v.task === TASK_TITLE[t])).map((t) => ({
    ...axisOf(t),
    metrics: [axisOf(t).metrics[0]!],
  }));
  const subtitle =
    models.length === 1
      ? `One base model so far (${models[0]}): the paper compares four; run \`eval --model\` with others to fill this figure. Methods at K=4, n=3, E=1.`
      : `${models.length} base models, one \`eval --model\` run each; methods at K=4, n=3, E=1.`;
  return {
    name: "base-models",
    caption: `Figure 4 (base models): each method's headline metric per base model, one group of bars per model, one panel per task${models.length === 1 ? `; only ${models[0]} has run so far` : ""}.`,
    spec: baseModelSpec({ title: "Base models", subtitle, panels, methods, values }),
  };
}

// ---- Output -----------------------------------------------------------------------------------

const STYLE = `body{font-family:"DejaVu Sans",sans-serif;margin:24px;color:#222;max-width:1500px}
table{border-collapse:collapse;margin:8px 0 24px;font-size:13px}th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top}
thead th{background:#f3f3f3}th.dataset{max-width:170px;text-align:left;font-weight:normal}
td span{display:block;white-space:nowrap}.ours{font-size:14px}.best .ours{font-weight:bold}.best{background:#eef6ee}
.paper,.counts{font-size:11px;color:#555}.warn{color:#b42318}.better{color:#17803d;display:inline}.worse{color:#b42318;display:inline}.failed .counts b{color:#b42318}
figure{margin:16px 0 32px}figure img{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:13px;color:#444;max-width:900px}`;

/** Marks each figure rendered (natural size of its loaded image) or failed, for readers and the Chromium test. */
const CHECK_SCRIPT = `addEventListener("load",()=>{for(const f of document.querySelectorAll("figure[data-figure]")){const i=f.querySelector("img");const r=i.getBoundingClientRect();f.dataset.rendered=i.complete&&i.naturalWidth>0&&r.width>0&&r.height>0?i.naturalWidth+"x"+i.naturalHeight:"failed"}document.body.dataset.figuresChecked=String(document.querySelectorAll("figure[data-figure]").length)})`;

function htmlFigure(name: string, caption: string, svg: string): string {
  return `<figure data-figure="${esc(name)}"><img alt="${esc(caption)}" src="data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}"><figcaption>${esc(caption)}</figcaption></figure>`;
}

export interface ReportOptions {
  /** Also write `report.html`, one self-contained page. */
  html?: boolean;
  /** Report exactly these runs (run ids or unique prefixes) instead of the newest complete run of each cell. */
  runs?: string[];
  /** Embeds final personas for the persona map (Figure 2); without it that figure is left out. */
  embeddings?: EmbeddingsInterface;
}

export async function writeReport(outDir: string, options: ReportOptions = {}): Promise<Record<string, string>> {
  const { used: runs, unused } = selectRuns(await readSummaries(outDir), options.runs);
  const models = [...new Set(runs.map((r) => r.model))];
  const reportDir = join(outDir, "report");
  await mkdir(reportDir, { recursive: true });
  const files: Record<string, string> = {
    markdown: join(reportDir, "report.md"),
    json: join(reportDir, "report.json"),
  };
  const notes: string[] = [];
  const legend =
    "Each cell: ours / the paper's (Claude-3.5 Sonnet, Table 2/3) and the difference, then the run's users, queries and data fingerprint (one hash of the data files' content). Bold = best of our values for that dataset and metric (lower is better for MAE and RMSE). * = unfinished run, ⚠N = N queries failed (scored as invalid answers). Tables use the runs at K=4, n=3, E=1 where present; of several runs of one cell, the newest complete one (or those given with --run), the others are listed under \"Runs not used\".";
  const md: string[] = ["# LaMP evaluation", "", legend, ""];
  const html: string[] = [`<h1>LaMP evaluation</h1>`, `<p>${esc(legend)}</p>`];
  const json: Record<string, unknown> = {};

  const writeFigure = async (figure: FigureSource, suffix: string) => {
    const { svg, png } = await renderFigure(figure.spec);
    const name = `${figure.name}${suffix}`;
    await Promise.all([writeFile(join(reportDir, `${name}.svg`), svg), writeFile(join(reportDir, `${name}.png`), png)]);
    files[`${name}.svg`] = join(reportDir, `${name}.svg`);
    files[`${name}.png`] = join(reportDir, `${name}.png`);
    md.push(`![${figure.caption}](${name}.png)`, "", `*${figure.caption}*`, "");
    html.push(htmlFigure(name, figure.caption, svg));
  };

  for (const model of models) {
    // Several models: each model's figures carry its name (`scaling-k.openai_gpt-4o.png`).
    const suffix = models.length > 1 ? `.${model.replace(/[^A-Za-z0-9._-]+/g, "_")}` : "";
    const mine = runs.filter((r) => r.model === model);
    const table2 = tableRows(runs, model, TABLE2_METHODS, PAPER_TABLE2);
    const table3 = tableRows(runs, model, TABLE3_METHODS, PAPER_TABLE3);
    const promptSets = [...new Set(mine.map(promptSetOf).filter(Boolean))];
    const about = `Model ${model}${promptSets.length ? `, prompt set ${promptSets.join(", ")}` : ""}`;
    const runList = runsTable(mine);
    const notUsed = unusedTable(unused.filter((u) => u.run.model === model));
    const mixed = (rows: TableRow[]) => mixedData(rows).map((line) => `⚠ ${line}`);
    md.push(
      `## ${about}`,
      "",
      "### Table 2: methods",
      "",
      markdownTable2(table2),
      "",
      ...mixed(table2).flatMap((l) => [l, ""]),
      "### Table 3: ablations",
      "",
      markdownTable3(table3),
      "",
      ...mixed(table3).flatMap((l) => [l, ""]),
    );
    md.push("### Runs", "", markdownGrid(runList), "");
    const persons = populationTable(mine);
    md.push(
      "### Population and skipped persons",
      "",
      "Persons: what the data's questions became (grouped by shared profile items); own/later items: profile items removed as a query's own item or dated on or after the person's first query; skipped: selected persons an aligning method cannot run (no profile interaction to align on), their queries unscored.",
      "",
      markdownGrid(persons),
      "",
    );
    if (notUsed.rows.length > 0)
      md.push(
        "### Runs not used",
        "",
        "Another run of the same cell (task, method, K, n, E) is reported instead.",
        "",
        markdownGrid(notUsed),
        "",
      );
    const warn = (rows: TableRow[]) => mixed(rows).map((l) => `<p class="warn">${esc(l)}</p>`);
    html.push(
      `<h2>${esc(about)}</h2>`,
      "<h3>Table 2: methods</h3>",
      htmlTable2(table2),
      ...warn(table2),
      "<h3>Table 3: ablations</h3>",
      htmlTable3(table3),
      ...warn(table3),
    );
    html.push(
      `<details><summary>Runs (${runList.rows.length}): identity, parameters, prompt set, users, queries, failures, cost</summary>`,
      htmlGrid(runList),
      "</details>",
    );
    const skippedAll = mine.reduce((n, r) => n + (r.skipped?.length ?? 0), 0);
    html.push(
      `<details><summary>Population and skipped persons (${skippedAll} skipped in all)</summary>`,
      htmlGrid(persons),
      "</details>",
    );
    if (notUsed.rows.length > 0)
      html.push(
        `<details><summary>Runs not used (${notUsed.rows.length}): another run of the same cell is reported instead</summary>`,
        htmlGrid(notUsed),
        "</details>",
      );
    md.push("### Figures", "");
    html.push("<h3>Figures</h3>");
    const { figures, data } = await modelFigures(runs, model, options.embeddings, notes);
    for (const figure of figures) await writeFigure(figure, suffix);
    const strip = (run: Stored) => {
      const { personas: _p, written: _w, ...r } = run;
      return { ...r, ...countsOf(run), dataFingerprint: fingerprintOf(run) };
    };
    json[model] = {
      promptSets,
      table2,
      table3,
      runs: mine.map(strip),
      unused: unused.filter((u) => u.run.model === model).map((u) => ({ ...strip(u.run), usedInstead: u.instead.id })),
      figures: data,
    };
  }
  const bars = baseModels(runs, models);
  if (bars) {
    md.push("## Base models", "");
    html.push("<h2>Base models</h2>");
    await writeFigure(bars, "");
  }
  if (notes.length > 0) {
    md.push("## Figures not drawn", "", ...notes.map((n) => `- ${n}`), "");
    html.push("<h2>Figures not drawn</h2>", `<ul>${notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>`);
  }
  await writeFile(files.markdown!, `${md.join("\n")}\n`);
  await writeFile(files.json!, `${JSON.stringify(json, null, 2)}\n`);
  if (options.html) {
    files.html = join(reportDir, "report.html");
    const page = [
      `<!doctype html><html lang="en"><head><meta charset="utf-8">`,
      // Self-contained: nothing but inline style, inline script and data: images may load.
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">`,
      `<title>LaMP evaluation</title><style>${STYLE}</style></head><body>`,
      ...html,
      `<script>${CHECK_SCRIPT}</script></body></html>`,
    ];
    await writeFile(files.html, `${page.join("\n")}\n`);
  }
  return files;
}
