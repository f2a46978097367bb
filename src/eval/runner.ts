/**
 * Runs one method on one LaMP task the way the paper does (Appendix E): the N users with the
 * most profile history, one question each, the profile as the user's memory. Queries run with
 * bounded concurrency; each finished query is appended to a JSONL cache under `outDir`, so an
 * interrupted run resumes where it stopped and ends with the same metrics.
 */
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InMemoryStore } from "@langchain/langgraph";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { RunnableLambda } from "@langchain/core/runnables";
import type { LLMResult } from "@langchain/core/outputs";
import type { AIMessage } from "@langchain/core/messages";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { UserError } from "../errors.js";
import { describeProviderError, ModelError } from "../models/chat.js";
import type { Configuration } from "../configuration.js";
import type { PromptSet, Settings } from "../settings.js";
import type { LampExample, LampTask } from "../data/lamp.js";
import { scoreTask, type LampMetrics } from "./metrics.js";
import { graphAligner, runMethod, type Aligner, type MethodName, type MethodParams } from "./methods.js";

export interface EvalOptions {
  task: LampTask;
  method: MethodName;
  examples: LampExample[];
  /** How many users (questions) to evaluate: those with the most profile items. */
  users: number;
  concurrency: number;
  outDir: string;
  /** `provider:name`, or a chat model object (tests); `modelId` names it in the cache key. */
  model: string | BaseChatModel;
  modelId: string;
  settings: Pick<Settings, "embeddings" | "temperature" | "timeoutMs" | "maxRetries" | "maxToolSteps" | "wikipediaBaseUrl" | "promptSet">;
  params: MethodParams;
  /** Attempts per query on rate limits and transient provider errors. */
  retries: number;
  /** First backoff; doubles on every retry (a provider's Retry-After wins when it is longer). */
  backoffMs: number;
  aligner?: Aligner;
  onProgress?: (done: number, total: number) => void;
  /** Stop starting new queries once this many finished (what an interruption looks like). */
  stopAfter?: number;
}

export interface QueryRecord {
  key: string;
  id: string;
  answer: string;
  gold: string;
  ok: boolean;
  error?: string;
  calls: number;
  tokens: number;
  ms: number;
  persona?: string;
}

export interface EvalSummary {
  task: LampTask;
  method: MethodName;
  model: string;
  /** The prompt set of persona initialization, tool descriptions and alignment (docs/PROMPTS.md). */
  promptSet: PromptSet;
  params: MethodParams;
  n: number;
  metrics: LampMetrics;
  calls: number;
  tokens: number;
  failures: number;
  /** Queries answered by this process (the rest came from the cache). */
  ran: number;
  callsPerQuery: number;
  msPerQuery: number;
  complete: boolean;
}

/** The `n` questions whose users have the most profile items (ties: dataset order). */
export function selectUsers(examples: LampExample[], n: number): LampExample[] {
  return examples
    .map((example, order) => ({ example, order }))
    .sort((a, b) => b.example.profile.length - a.example.profile.length || a.order - b.order)
    .slice(0, n)
    .map(({ example }) => example);
}

/** Counts model calls and tokens of one query; provider usage when given, else none. */
class UsageCounter extends BaseCallbackHandler {
  name = "eval-usage";
  override awaitHandlers = true;
  calls = 0;
  tokens = 0;
  override handleChatModelStart(): void {
    this.calls++;
  }
  override handleLLMEnd(output: LLMResult): void {
    for (const gen of output.generations.flat()) {
      const usage = (gen as { message?: AIMessage }).message?.usage_metadata;
      if (usage) this.tokens += usage.total_tokens ?? usage.input_tokens + usage.output_tokens;
    }
  }
}

export function resultsPath(outDir: string, task: LampTask, method: MethodName): string {
  return join(outDir, "results", `${task}.${method}.jsonl`);
}

export function cacheKey(task: LampTask, method: MethodName, model: string, params: MethodParams, id: string, promptSet: PromptSet): string {
  return JSON.stringify([task, method, model, params.k, params.batch, params.iterations, id, promptSet]);
}

/** The last record of every key; a line cut by a crash is skipped. */
export async function readResults(path: string): Promise<Map<string, QueryRecord>> {
  const records = new Map<string, QueryRecord>();
  let text = "";
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  for (const line of text.split("\n")) {
    try {
      const record = JSON.parse(line) as QueryRecord;
      if (typeof record?.key === "string") records.set(record.key, record);
    } catch {
      // partial last line of an interrupted run
    }
  }
  return records;
}

function retryDelay(error: unknown, attempt: number, backoffMs: number): number | undefined {
  // An alignment step wraps the provider's error; its cause says whether it is transient.
  const e = (error instanceof ModelError && error.cause ? error.cause : error) as { status?: number; name?: string; code?: string; headers?: Record<string, string>; message?: string };
  const transient =
    e?.status === 429 || (e?.status ?? 0) >= 500 || ["RateLimitError", "ThrottlingException", "APIConnectionTimeoutError", "TimeoutError", "APIConnectionError", "InternalServerError"].includes(e?.name ?? "") || /rate limit|429/i.test(e?.message ?? "");
  if (!transient) return undefined;
  const retryAfter = Number(e?.headers?.["retry-after"]) * 1000;
  return Math.max(backoffMs * 2 ** attempt * (0.75 + Math.random() / 2), Number.isFinite(retryAfter) ? retryAfter : 0);
}

async function withRetries<T>(work: () => Promise<T>, retries: number, backoffMs: number): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const delay = attempt < retries ? retryDelay(error, attempt, backoffMs) : undefined;
      if (delay === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; stops starting new ones when `stop()` says so. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>, stop: () => boolean): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stop()) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

export async function runEval(options: EvalOptions): Promise<EvalSummary> {
  const { task, method, params, settings } = options;
  const selected = selectUsers(options.examples, options.users);
  const path = resultsPath(options.outDir, task, method);
  await mkdir(join(options.outDir, "results"), { recursive: true });
  const cached = await readResults(path);
  const keyOf = (id: string) => cacheKey(task, method, options.modelId, params, id, settings.promptSet);
  // Failures are tried again on resume: they are usually transient.
  const todo = selected.filter((q) => !cached.get(keyOf(q.id))?.ok);
  const store = new InMemoryStore(); // eval data never reaches the user's own store
  const aligner = options.aligner ?? graphAligner;
  let done = selected.length - todo.length;
  let ran = 0;
  options.onProgress?.(done, selected.length);

  await pool(
    todo,
    options.concurrency,
    async (example) => {
      const counter = new UsageCounter();
      const configurable: Partial<Configuration> = {
        // Prefixed ids: eval users can never collide with real ones.
        userId: `eval:${task}:${example.id}`,
        model: options.model,
        embeddings: settings.embeddings,
        k: params.k,
        maxToolSteps: settings.maxToolSteps,
        temperature: settings.temperature,
        timeoutMs: settings.timeoutMs,
        maxRetries: settings.maxRetries,
        wikipediaBaseUrl: settings.wikipediaBaseUrl,
        promptSet: settings.promptSet,
        indexDir: undefined,
        record: false,
      };
      const started = Date.now();
      // Run inside a runnable so every nested model call inherits the counting callback.
      const query = RunnableLambda.from(() => runMethod(method, { task, store, configurable, params, aligner }, example));
      let record: QueryRecord;
      try {
        const result = await withRetries(() => query.invoke(undefined, { callbacks: [counter] }), options.retries, options.backoffMs);
        record = { key: keyOf(example.id), id: example.id, answer: result.answer, gold: example.output, ok: true, calls: counter.calls, tokens: counter.tokens, ms: Date.now() - started, ...(result.persona ? { persona: result.persona } : {}) };
      } catch (error) {
        // A setup mistake fails every query the same way; a model failure is this query's own.
        if (error instanceof UserError && !(error instanceof ModelError)) throw error;
        const message = describeProviderError(error) ?? (error as Error)?.message ?? String(error);
        record = { key: keyOf(example.id), id: example.id, answer: "", gold: example.output, ok: false, error: message.split("\n")[0]!, calls: counter.calls, tokens: counter.tokens, ms: Date.now() - started };
      }
      await appendFile(path, `${JSON.stringify(record)}\n`);
      cached.set(record.key, record);
      ran++;
      options.onProgress?.(++done, selected.length);
    },
    () => options.stopAfter !== undefined && ran >= options.stopAfter,
  );

  const records = selected.map((q) => cached.get(keyOf(q.id))).filter((r): r is QueryRecord => r !== undefined);
  // A failed query is scored as an invalid answer (empty string), as LaMP scores any invalid output.
  const metrics = scoreTask(task, records.map((r) => (r.ok ? r.answer : "")), records.map((r) => r.gold));
  const sum = (f: (r: QueryRecord) => number) => records.reduce((s, r) => s + f(r), 0);
  const n = records.length;
  const summary: EvalSummary = {
    task,
    method,
    model: options.modelId,
    promptSet: settings.promptSet,
    params,
    n,
    metrics,
    calls: sum((r) => r.calls),
    tokens: sum((r) => r.tokens),
    failures: records.filter((r) => !r.ok).length,
    ran,
    callsPerQuery: n ? sum((r) => r.calls) / n : 0,
    msPerQuery: n ? sum((r) => r.ms) / n : 0,
    complete: n === selected.length,
  };
  await writeSummary(options.outDir, summary, records);
  return summary;
}

export function summaryName(s: Pick<EvalSummary, "task" | "method" | "model" | "params">): string {
  const model = s.model.replace(/[^A-Za-z0-9._-]+/g, "_");
  return `${s.task}__${s.method}__k${s.params.k}-n${s.params.batch}-e${s.params.iterations}__${model}.json`;
}

/** The summary and each user's final persona (for the persona-similarity picture). */
async function writeSummary(outDir: string, summary: EvalSummary, records: QueryRecord[]): Promise<void> {
  await mkdir(join(outDir, "summaries"), { recursive: true });
  const personas = Object.fromEntries(records.filter((r) => r.persona).map((r) => [r.id, r.persona!]));
  await writeFile(join(outDir, "summaries", summaryName(summary)), `${JSON.stringify({ ...summary, personas }, null, 2)}\n`);
}
