/**
 * `eval plan`: what a run will ask before it asks anything. Per task and method: the users and
 * queries the run would take (the same selection as runEval), and the model calls and tokens
 * each method's known call pattern makes, with input tokens counted (js-tiktoken, o200k_base) on
 * the prompts rendered on the data; the cost from the price table. What a model writes cannot be
 * known before: outputs count as the gold label for answers and nominal sizes (OUTPUT_TOKENS) for
 * tool calls, profiles, feedback and personas. docs/EVAL.md "Planning a run" lists the patterns.
 */
import { Tiktoken } from "js-tiktoken/lite";
import o200k from "js-tiktoken/ranks/o200k_base";
import { loadPrompt, renderPrompt, renderSetPrompt } from "../../src/prompts/prompts.js";
import type { PromptSet } from "../../src/configuration/settings.js";
import { populationPapers, profileInteractions, taskPrompt, type LampTask } from "./data/lamp.js";
import { selectActiveUsers, type EvalUser } from "./data/oppu.js";
import type { HistoryEntry } from "../../src/memory/history.js";
import type { EpisodicEntry } from "../../src/memory/episodic.js";
import { historyParts } from "../../src/memory/semantic.js";
import { initialPersona } from "../../src/persona/persona.js";
import {
  examplesContext,
  ICL_SHOTS,
  needsAlignment,
  PERSONA_AGENTS,
  type MethodName,
  type MethodParams,
} from "./methods.js";
import { costOf, formatCost, type PriceTable } from "./prices.js";

/** Nominal output tokens of calls whose output the model writes freely. */
export const OUTPUT_TOKENS = { toolCall: 25, profile: 250, feedback: 120 } as const;

export interface PlanRow {
  task: LampTask;
  method: MethodName;
  users: number;
  /** Selected users an aligning method skips (no interaction to align on), as runEval does. */
  skipped: number;
  queries: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** Dollars; undefined when the model has no price. */
  cost?: number;
}

export interface PlanOptions {
  task: LampTask;
  methods: readonly MethodName[];
  /** The population (or its selected persons, with `papers`), as for runEval. */
  users: EvalUser[];
  userCount: number;
  papers?: readonly (readonly [string, string])[];
  params: MethodParams;
  seed: number;
  promptSet: PromptSet;
  model: string;
  prices: PriceTable;
}

let encoder: Tiktoken | undefined;
const tokens = (text: string) => (encoder ??= new Tiktoken(o200k)).encode(text).length;

interface Usage {
  calls: number;
  input: number;
  output: number;
}
const add = (a: Usage, b: Usage, times = 1): Usage => ({
  calls: a.calls + times * b.calls,
  input: a.input + times * b.input,
  output: a.output + times * b.output,
});
const NONE: Usage = { calls: 0, input: 0, output: 0 };
const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);

/** Token sizes of a user's data that the patterns reuse, counted once per user. */
interface Sizes {
  /** One interaction as a context line (its OPPU record), on average. */
  line: number;
  /** One interaction as the memory tool returns it (query and response), on average. */
  memory: number;
  /** Each query's prompt as the methods ask it, and its gold answer. */
  queries: { prompt: number; answer: number }[];
  /** The profile summary (ingest, PAG). */
  profile: Usage;
}

async function sizesOf(task: LampTask, user: EvalUser, entries: HistoryEntry[]): Promise<Sizes> {
  const n = Math.max(1, entries.length);
  const lines = entries.length ? tokens(await examplesContext(entries)) - (await contextTokens(0, 0)) : 0;
  const queries = await Promise.all(
    user.queries.map(async (q) => ({ prompt: tokens(await taskPrompt(task, q.input)), answer: tokens(q.output) })),
  );
  return {
    line: lines / n,
    memory: tokens(entries.map((e) => `${e.query}\n${e.response}`).join("\n")) / n,
    queries,
    profile: await profileUsage(task, entries),
  };
}

/** The context header plus `count` lines of `line` tokens each. */
async function contextTokens(count: number, line: number, header = "lamp/context_examples"): Promise<number> {
  return tokens(await renderPrompt(header, { examples: "" })) + count * line;
}

/** One agent run: with the memory tool, a tool call and then the answer (two calls); without, one. */
function agentRun(persona: number, prompt: number, answer: number, memories: number, tools: boolean): Usage {
  if (!tools) return { calls: 1, input: persona + prompt, output: answer };
  return {
    calls: 2,
    input: persona + prompt + (persona + prompt + OUTPUT_TOKENS.toolCall + memories),
    output: OUTPUT_TOKENS.toolCall + answer,
  };
}

/** The profile summary of ingest (and PAG): one call per part of the history, plus the combining call when there are several. */
async function profileUsage(task: LampTask, entries: HistoryEntry[]): Promise<Usage> {
  const parts = historyParts(entries as unknown as EpisodicEntry[]);
  const prompts = await Promise.all(parts.map((history) => renderPrompt(`profile/${task}`, { history })));
  const combine =
    parts.length > 1
      ? {
          calls: 1,
          input: tokens(loadPrompt("profile/combine")) + parts.length * OUTPUT_TOKENS.profile,
          output: OUTPUT_TOKENS.profile,
        }
      : NONE;
  return add(
    {
      calls: parts.length,
      input: prompts.reduce((s, p) => s + tokens(p), 0),
      output: parts.length * OUTPUT_TOKENS.profile,
    },
    combine,
  );
}

/** Alignment (Algorithm 1): per iteration, the latest `batch` interactions replayed by the agent, one LLM_grad each, one LLM_update. */
async function alignmentUsage(
  set: PromptSet,
  entries: HistoryEntry[],
  persona: number,
  memories: number,
  tools: boolean,
  params: MethodParams,
): Promise<Usage> {
  let usage = NONE;
  const batch = entries.slice(-params.batch);
  for (const entry of batch) {
    const answer = tokens(entry.response);
    usage = add(usage, agentRun(persona, tokens(entry.query), answer, memories, tools));
    const feedback = await renderSetPrompt(set, "feedback", {
      question: entry.query,
      response: entry.response,
      truth: entry.response,
      persona: "",
      tool_calls: "(none)",
    });
    usage = add(usage, {
      calls: 1,
      input: tokens(feedback) + (set === "paper" ? 0 : persona),
      output: OUTPUT_TOKENS.feedback,
    });
  }
  const update = await renderSetPrompt(set, "update", { persona: "", feedback: "" });
  usage = add(usage, {
    calls: 1,
    input: tokens(update) + persona + batch.length * OUTPUT_TOKENS.feedback,
    output: persona,
  });
  return {
    calls: usage.calls * params.iterations,
    input: usage.input * params.iterations,
    output: usage.output * params.iterations,
  };
}

/** One user's calls and tokens under `method`: preparation once, then each query. */
async function userUsage(
  o: PlanOptions,
  method: MethodName,
  entries: HistoryEntry[],
  sizes: Sizes,
  demoLine: number,
): Promise<Usage> {
  const { params } = o;
  const k = (n: number) => Math.min(n, entries.length);
  const parts = PERSONA_AGENTS[method];
  const persona = parts ? await personaTokens(o.promptSet, parts) : 0;
  const context = {
    icl: await contextTokens(ICL_SHOTS, demoLine, "lamp/context_demonstrations"),
    rag: async (n: number) => (entries.length ? contextTokens(k(n), sizes.line) : 0),
    profile: tokens(await renderPrompt("lamp/context_profile", { profile: "" })) + OUTPUT_TOKENS.profile,
    react: tokens(loadPrompt("lamp/react_agent")),
  };
  let total = NONE;
  for (const { prompt, answer } of sizes.queries) {
    const oneCall = (more: number): Usage => ({ calls: 1, input: prompt + more, output: answer });
    if (method === "prompt") total = add(total, oneCall(0));
    else if (method === "icl") total = add(total, oneCall(context.icl));
    else if (method === "rag-1" || method === "rag-4" || method === "membank")
      total = add(total, oneCall(await context.rag(method === "rag-1" ? 1 : 4)));
    else if (method === "pag-4") total = add(total, oneCall(context.profile + (await context.rag(4))));
    else if (method === "react")
      total = add(total, agentRun(context.react, prompt, answer + 5, k(params.k) * sizes.memory, true));
    else {
      const inPrompt = parts!.action || !parts!.memory ? 0 : await context.rag(params.k);
      total = add(
        total,
        agentRun(persona, prompt + inPrompt, answer, k(params.k) * sizes.memory, parts!.action && parts!.memory),
      );
    }
  }
  // Preparation, counted once per user; a replay's memories never include the replayed interaction.
  if (method === "pag-4") total = add(total, sizes.profile);
  if (parts) {
    if (parts.persona && parts.memory) total = add(total, sizes.profile);
    if (parts.align)
      total = add(
        total,
        await alignmentUsage(
          o.promptSet,
          entries,
          persona,
          Math.min(params.k, Math.max(0, entries.length - 1)) * sizes.memory,
          parts.action && parts.memory,
          params,
        ),
      );
  }
  return total;
}

/** The persona the agent's system prompt holds: the initial one (from a profile of nominal size), the no-profile one, or none. */
async function personaTokens(set: PromptSet, parts: { memory: boolean; persona: boolean }): Promise<number> {
  if (!parts.persona) return tokens(loadPrompt("lamp/no_persona"));
  if (!parts.memory) return tokens(await initialPersona(loadPrompt("lamp/no_profile"), set));
  return tokens(await initialPersona("", set)) + OUTPUT_TOKENS.profile;
}

/** The plan of every method on one task's population. */
export async function planTask(o: PlanOptions): Promise<PlanRow[]> {
  const chosen = selectActiveUsers(o.users, o.userCount);
  const otherPapers = o.papers ?? populationPapers(o.task, o.users);
  const interactions = new Map<EvalUser, HistoryEntry[]>();
  const sizes = new Map<EvalUser, Sizes>();
  for (const user of chosen) {
    const entries = await profileInteractions(o.task, user.id, user.profile, { seed: o.seed, otherPapers });
    interactions.set(user, entries);
    sizes.set(user, await sizesOf(o.task, user, entries));
  }
  // ICL's demonstrations are other persons' interactions: their mean line size stands for them.
  const demoLine = mean(
    await Promise.all(
      [...interactions.values()]
        .flatMap((entries) => entries.slice(0, 3))
        .map(async (e) => tokens(await examplesContext([e], "lamp/context_demonstrations"))),
    ),
  );
  const rows: PlanRow[] = [];
  for (const method of o.methods) {
    const runnable = chosen.filter((u) => !(needsAlignment(method) && interactions.get(u)!.length === 0));
    let usage = NONE;
    for (const user of runnable)
      usage = add(usage, await userUsage(o, method, interactions.get(user)!, sizes.get(user)!, demoLine));
    const row: PlanRow = {
      task: o.task,
      method,
      users: runnable.length,
      skipped: chosen.length - runnable.length,
      queries: runnable.reduce((n, u) => n + u.queries.length, 0),
      calls: usage.calls,
      inputTokens: Math.round(usage.input),
      outputTokens: Math.round(usage.output),
    };
    const cost = costOf(o.model, { inputTokens: row.inputTokens, outputTokens: row.outputTokens }, o.prices);
    if (cost !== undefined) row.cost = cost;
    rows.push(row);
  }
  return rows;
}

/** The plan as a table with its total (or JSON). */
export function formatPlan(rows: PlanRow[], model: string, json: boolean): string {
  const total = rows.reduce(
    (t, r) => ({
      queries: t.queries + r.queries,
      calls: t.calls + r.calls,
      inputTokens: t.inputTokens + r.inputTokens,
      outputTokens: t.outputTokens + r.outputTokens,
      cost: t.cost === undefined || r.cost === undefined ? undefined : t.cost + r.cost,
    }),
    { queries: 0, calls: 0, inputTokens: 0, outputTokens: 0, cost: 0 as number | undefined },
  );
  if (json) return `${JSON.stringify({ model, rows, total })}\n`;
  const n = (x: number) => x.toLocaleString("en-US");
  const header = ["task", "method", "users", "queries", "calls", "input tokens", "output tokens", "cost"];
  const lines = [
    ...rows.map((r) => [
      r.task,
      r.method,
      `${r.users}${r.skipped ? ` (+${r.skipped} skipped)` : ""}`,
      n(r.queries),
      n(r.calls),
      n(r.inputTokens),
      n(r.outputTokens),
      formatCost(r.cost),
    ]),
    [
      "total",
      "",
      "",
      n(total.queries),
      n(total.calls),
      n(total.inputTokens),
      n(total.outputTokens),
      formatCost(total.cost),
    ],
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) =>
    cells
      .map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[row(header), ...lines.map(row)].join("\n")}\n(${model}; estimated before any call: inputs counted on the prompts rendered on the data, outputs at nominal sizes; docs/EVAL.md "Planning a run")\n`;
}
