/**
 * Runs one method on one LaMP task the way the paper does (Appendix E): the N most active users
 * of the population, every test query of each, the user's profile as their memory. Users run
 * with bounded concurrency (a user's queries in order); each finished query is appended to a
 * JSONL file named by the run key under `outDir`, so an interrupted run resumes where it stopped
 * and ends with the same metrics, and runs with different keys never share or overwrite results.
 */
import { createHash } from "node:crypto";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InMemoryStore } from "@langchain/langgraph";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { RunnableLambda } from "@langchain/core/runnables";
import type { LLMResult } from "@langchain/core/outputs";
import type { AIMessage } from "@langchain/core/messages";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { describeProviderError, InvalidProviderResponseError } from "../models/chat.js";
import { ModelError } from "../errors.js";
import type { Configuration } from "../configuration.js";
import type { PromptSet, Settings } from "../settings.js";
import { populationPapers, profileInteractions, seeded, type LampTask } from "../data/lamp.js";
import { selectActiveUsers, type EvalUser, type Split, type UserQuery } from "../data/oppu.js";
import type { HistoryEntry } from "../memory/history.js";
import { scoreTask, type LampMetrics } from "./metrics.js";
import { graphAligner, ICL_SHOTS, needsAlignment, prepareMethod, type Aligner, type Answerer, type MethodName, type MethodParams } from "./methods.js";

export interface EvalOptions {
  task: LampTask;
  method: MethodName;
  /** The whole population (every user of every file given): users are picked from it, ICL's demonstrations come from it. */
  users: EvalUser[];
  /** How many users to evaluate: the most active (selectActiveUsers). */
  userCount: number;
  concurrency: number;
  outDir: string;
  /** `provider:name`, or a chat model object (tests); `modelId` names it in the run key. */
  model: string | BaseChatModel;
  modelId: string;
  settings: Pick<Settings, "embeddings" | "temperature" | "timeoutMs" | "maxRetries" | "maxToolSteps" | "wikipediaBaseUrl" | "promptSet">;
  params: MethodParams;
  /** What else names the run: the data files (with content hashes), split, seed. */
  run: Pick<RunKey, "data" | "split" | "seed">;
  /** Attempts per query on rate limits and transient provider errors. */
  retries: number;
  /** First backoff; doubles on every retry (a provider's Retry-After wins when it is longer). */
  backoffMs: number;
  aligner?: Aligner;
  onProgress?: (done: number, total: number) => void;
  /** Stop starting new users once this many queries finished (what an interruption looks like). */
  stopAfter?: number;
}

/**
 * Everything that changes a run's answers. Two runs share results only when all of it is equal;
 * anything else (another temperature, embedding model, data file, K...) is another run.
 */
export interface RunKey {
  task: LampTask;
  method: MethodName;
  model: string;
  temperature: number;
  embeddings: string;
  /** The prompt set of persona initialization, tool descriptions and alignment (docs/PROMPTS.md). */
  promptSet: PromptSet;
  /** Data files as `path#<sha256 prefix>`, so an edited file is another run. */
  data: string[];
  split: Split;
  users: number;
  k: number;
  n: number;
  E: number;
  /** Seeds the LaMP-1 interactions' negatives and [1]/[2] order. */
  seed: number;
}

export interface QueryRecord {
  key: string;
  id: string;
  user: string;
  answer: string;
  gold: string;
  ok: boolean;
  error?: string;
  calls: number;
  tokens: number;
  ms: number;
  persona?: string;
}

export interface SkippedUser {
  user: string;
  queries: number;
  reason: string;
}

export interface EvalSummary {
  task: LampTask;
  method: MethodName;
  model: string;
  /** The prompt set of persona initialization, tool descriptions and alignment (docs/PROMPTS.md). */
  promptSet: PromptSet;
  params: MethodParams;
  runKey: RunKey;
  /** Short hash of the run key: names the results and summary files. */
  runId: string;
  /** Users evaluated and test queries scored (`n` = queries, kept for older readers). */
  users: number;
  queries: number;
  n: number;
  metrics: LampMetrics;
  calls: number;
  tokens: number;
  /** Queries whose model call failed (scored as invalid answers, LaMP's rule). */
  failures: number;
  /** Selected users the method cannot run for (no interactions to align on), with their unscored queries. */
  skipped: SkippedUser[];
  /** Queries answered by this process (the rest came from the results file). */
  ran: number;
  callsPerQuery: number;
  msPerQuery: number;
  complete: boolean;
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

export function runKeyOf(options: Pick<EvalOptions, "task" | "method" | "modelId" | "settings" | "params" | "run" | "userCount">): RunKey {
  const { task, method, modelId, settings, params, run } = options;
  return { task, method, model: modelId, temperature: settings.temperature, embeddings: settings.embeddings, promptSet: settings.promptSet, data: run.data, split: run.split, users: options.userCount, k: params.k, n: params.batch, E: params.iterations, seed: run.seed };
}

export function runIdOf(key: RunKey): string {
  return createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 12);
}

export function resultsPath(outDir: string, key: RunKey): string {
  return join(outDir, "results", `${key.task}.${key.method}.${runIdOf(key)}.jsonl`);
}

/** A data file as `path#<sha256 prefix>`: the run key changes when the file's content does. */
export async function dataFileId(path: string): Promise<string> {
  return `${path}#${createHash("sha256").update(await readFile(path)).digest("hex").slice(0, 12)}`;
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

/**
 * A failure that belongs to one query: the provider answered this request with an error (HTTP
 * 400/413/422 such as a too-long or filtered input, or 429/5xx/timeouts still failing after the
 * retries) or with nothing usable. The run's own failures stop it: the provider unreachable
 * (stopped, wrong URL), credentials, permissions or an unknown model (401/403/404), configuration
 * mistakes, and anything that is not a provider's answer at all (a missing native addon, a bug).
 */
export function isQueryFailure(error: unknown): boolean {
  if (error instanceof ModelError && error.cause === undefined) return true; // an unusable answer
  const e = (error instanceof ModelError ? error.cause : error) as { status?: number; $metadata?: { httpStatusCode?: number } } | undefined;
  if (e instanceof InvalidProviderResponseError) return true;
  const status = e?.status ?? e?.$metadata?.httpStatusCode;
  if (status !== undefined) return status !== 401 && status !== 403 && status !== 404;
  return describeProviderError(e)?.startsWith("the model call timed out") === true;
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

const RANDOM_DRAWS = 8 * ICL_SHOTS;

/**
 * Demonstrations for `icl`, drawn for each query from the seed: one interaction of each of
 * ICL_SHOTS other persons, taken from persons outside the evaluated set when there are enough
 * (LaMP's "original training data"), else from the other evaluated persons; never the user's own.
 * Donors and their interaction are picked by `seeded(seed, query id, ...)`, so a query gets the
 * same demonstrations on every run and machine, and different queries get different ones.
 */
function demonstrationsFor(user: EvalUser, selected: ReadonlySet<EvalUser>, population: readonly EvalUser[], interactions: (u: EvalUser) => Promise<HistoryEntry[]>, seed: number) {
  const others = population.filter((u) => u !== user && u.profile.length > 0);
  const outside = others.filter((u) => !selected.has(u));
  const donors = outside.length >= ICL_SHOTS ? outside : others;
  return async (query: UserQuery): Promise<HistoryEntry[]> => {
    const picked = new Set<EvalUser>();
    const shots: HistoryEntry[] = [];
    const drawn = (draw: number) => seeded(seed, `${query.id}\u0000${draw}`, "icl-donor") % donors.length;
    // Seeded draws; after RANDOM_DRAWS of them, the donors in order from the first draw, so the loop always ends.
    for (let draw = 0; shots.length < ICL_SHOTS && draw < RANDOM_DRAWS + donors.length; draw++) {
      const donor = donors[draw < RANDOM_DRAWS ? drawn(draw) : (drawn(0) + draw - RANDOM_DRAWS) % donors.length]!;
      if (picked.has(donor)) continue;
      picked.add(donor);
      const entries = await interactions(donor);
      if (entries.length > 0) shots.push(entries[seeded(seed, `${query.id}\u0000${donor.id}`, "icl-shot") % entries.length]!);
    }
    return shots;
  };
}

/** Eval user ids: prefixed, so they never collide with real users; the same for every method (embed once). */
export function evalUserId(task: LampTask, user: Pick<EvalUser, "id">): string {
  return `eval:${task}:${user.id}`;
}

type Outcome = Pick<QueryRecord, "answer" | "ok" | "error" | "calls" | "tokens" | "ms" | "persona">;

export async function runEval(options: EvalOptions): Promise<EvalSummary> {
  const { task, method, params, settings } = options;
  const runKey = runKeyOf(options);
  const runId = runIdOf(runKey);
  const chosen = selectActiveUsers(options.users, options.userCount);
  const otherPapers = populationPapers(task, options.users);
  const built = new Map<EvalUser, Promise<HistoryEntry[]>>();
  const interactions = (u: EvalUser) => {
    let entries = built.get(u);
    if (!entries) built.set(u, (entries = profileInteractions(task, u.id, u.profile, { seed: runKey.seed, otherPapers })));
    return entries;
  };
  // A person with no interaction to align on cannot run an aligning method: skipped, named in the summary.
  const skipped: SkippedUser[] = [];
  const selected: EvalUser[] = [];
  for (const user of chosen) {
    if (needsAlignment(method) && (await interactions(user)).length === 0) skipped.push({ user: user.id, queries: user.queries.length, reason: "no profile interaction to align on" });
    else selected.push(user);
  }
  const queries = selected.flatMap((u) => u.queries);
  const path = resultsPath(options.outDir, runKey);
  await mkdir(join(options.outDir, "results"), { recursive: true });
  const cached = await readResults(path);
  const keyOf = (id: string) => JSON.stringify([runId, id]);
  const finished = (q: UserQuery) => cached.get(keyOf(q.id))?.ok === true; // failures are tried again on resume
  const todo = selected.filter((u) => !u.queries.every(finished));
  const store = new InMemoryStore(); // eval data never reaches the user's own store
  // Entry vectors are cached per eval user and embedding model here: shared by every method, ablation and rerun.
  const indexDir = join(options.outDir, "index");
  const aligner = options.aligner ?? graphAligner;
  const evaluated = new Set(chosen);
  let done = queries.filter(finished).length;
  let ran = 0;
  options.onProgress?.(done, queries.length);

  const record = async (user: EvalUser, query: UserQuery, outcome: Outcome) => {
    const entry: QueryRecord = { key: keyOf(query.id), id: query.id, user: user.id, gold: query.output, ...outcome };
    await appendFile(path, `${JSON.stringify(entry)}\n`);
    cached.set(entry.key, entry);
    ran++;
    options.onProgress?.(++done, queries.length);
  };
  /** One line for a query's own failure; the run's own failures (configuration, infrastructure) are rethrown and stop it. */
  const failure = (error: unknown): string => {
    if (!isQueryFailure(error)) throw error;
    return (describeProviderError(error) ?? (error as Error)?.message ?? String(error)).split("\n")[0]!;
  };
  /** Runs `work` with retries, counting its model calls and tokens through LangChain callbacks. */
  const counted = async <T>(work: () => Promise<T>) => {
    const counter = new UsageCounter();
    const started = Date.now();
    const runnable = RunnableLambda.from(work); // every nested model call inherits the callback
    try {
      const value = await withRetries(() => runnable.invoke(undefined, { callbacks: [counter] }), options.retries, options.backoffMs);
      return { value, calls: counter.calls, tokens: counter.tokens, ms: Date.now() - started };
    } catch (error) {
      return { error: failure(error), calls: counter.calls, tokens: counter.tokens, ms: Date.now() - started };
    }
  };

  await pool(
    todo,
    options.concurrency,
    async (user) => {
      const configurable: Partial<Configuration> = {
        userId: evalUserId(task, user),
        model: options.model,
        embeddings: settings.embeddings,
        k: params.k,
        maxToolSteps: settings.maxToolSteps,
        temperature: settings.temperature,
        timeoutMs: settings.timeoutMs,
        maxRetries: settings.maxRetries,
        wikipediaBaseUrl: settings.wikipediaBaseUrl,
        promptSet: settings.promptSet,
        indexDir,
        record: false,
      };
      const methodUser = { interactions: await interactions(user), demonstrations: demonstrationsFor(user, evaluated, options.users, interactions, runKey.seed) };
      // Preparing the user (memory, profile, persona, alignment) is counted with their first query.
      const setup = await counted<Answerer>(() => prepareMethod(method, { task, store, configurable, params, aligner }, methodUser));
      let carried = { calls: setup.calls, tokens: setup.tokens, ms: setup.ms };
      for (const query of user.queries.filter((q) => !finished(q))) {
        const result = setup.value ? await counted(() => setup.value(query)) : { error: setup.error, calls: 0, tokens: 0, ms: 0 };
        const outcome: Outcome = { answer: result.value?.answer ?? "", ok: result.value !== undefined, calls: result.calls + carried.calls, tokens: result.tokens + carried.tokens, ms: result.ms + carried.ms };
        if (result.error !== undefined) outcome.error = result.error;
        if (result.value?.persona) outcome.persona = result.value.persona;
        carried = { calls: 0, tokens: 0, ms: 0 };
        await record(user, query, outcome);
      }
    },
    () => options.stopAfter !== undefined && ran >= options.stopAfter,
  );

  const records = queries.map((q) => cached.get(keyOf(q.id))).filter((r): r is QueryRecord => r !== undefined);
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
    runKey,
    runId,
    users: new Set(records.map((r) => r.user)).size,
    queries: n,
    n,
    metrics,
    calls: sum((r) => r.calls),
    tokens: sum((r) => r.tokens),
    failures: records.filter((r) => !r.ok).length,
    skipped,
    ran,
    callsPerQuery: n ? sum((r) => r.calls) / n : 0,
    msPerQuery: n ? sum((r) => r.ms) / n : 0,
    complete: n === queries.length,
  };
  await writeSummary(options.outDir, summary, records);
  return summary;
}

/** `<task>__<method>__k..-n..-e..__<model>__<run id>.json`: runs with different keys never overwrite each other. */
export function summaryName(s: Pick<EvalSummary, "task" | "method" | "model" | "params" | "runId">): string {
  const model = s.model.replace(/[^A-Za-z0-9._-]+/g, "_");
  return `${s.task}__${s.method}__k${s.params.k}-n${s.params.batch}-e${s.params.iterations}__${model}__${s.runId}.json`;
}

/** The summary and each user's final persona (for the persona-similarity picture). */
async function writeSummary(outDir: string, summary: EvalSummary, records: QueryRecord[]): Promise<void> {
  await mkdir(join(outDir, "summaries"), { recursive: true });
  const personas = Object.fromEntries(records.filter((r) => r.persona).map((r) => [r.user, r.persona!]));
  await writeFile(join(outDir, "summaries", summaryName(summary)), `${JSON.stringify({ ...summary, personas }, null, 2)}\n`);
}
