/**
 * Runs one method on one LaMP task the way the paper does (Appendix E): the N most active users
 * of the population, every test query of each, the user's profile as their memory. Users run
 * with bounded concurrency (a user's queries in order); each finished query is appended to a
 * JSONL file named by the run key under `outDir`, so an interrupted run resumes where it stopped
 * and ends with the same metrics, and runs with different keys never share or overwrite results.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { InMemoryStore } from "@langchain/langgraph";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { RunnableLambda } from "@langchain/core/runnables";
import type { LLMResult } from "@langchain/core/outputs";
import type { AIMessage } from "@langchain/core/messages";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { describeProviderError, InvalidProviderResponseError } from "../../src/models/chat.js";
import { ModelError } from "../../src/errors/errors.js";
import type { Configuration } from "../../src/configuration/configuration.js";
import type { PromptSet, Settings } from "../../src/configuration/settings.js";
import { populationPapers, profileInteractions, seeded, type LampTask } from "./data/lamp.js";
import { selectActiveUsers, type EvalUser, type PopulationSummary, type Split, type UserQuery } from "./data/oppu.js";
import type { HistoryEntry } from "../../src/memory/history.js";
import { scoreTask, type LampMetrics } from "./metrics.js";
import { costOf, LIST_PRICES, type PriceTable } from "./prices.js";
import {
  graphAligner,
  ICL_SHOTS,
  needsAlignment,
  prepareMethod,
  type Aligner,
  type Answerer,
  type MethodName,
  type MethodParams,
} from "./methods.js";

export interface EvalOptions {
  task: LampTask;
  method: MethodName;
  /** The whole population (every user of every file given): users are picked from it, ICL's demonstrations come from it. */
  users: EvalUser[];
  /** How many users to evaluate: the most active (selectActiveUsers). */
  userCount: number;
  /** What the data's questions became (persons, what the profile rules removed): kept in the summary for the report. */
  population?: PopulationSummary;
  /** LaMP-1's negatives (populationPapers of the whole population) when `users` holds only the selected persons (streamLampPopulation). */
  papers?: readonly (readonly [string, string])[];
  concurrency: number;
  outDir: string;
  /** `provider:name`, or a chat model object (tests); `modelId` names it in the run key. */
  model: string | BaseChatModel;
  modelId: string;
  settings: Pick<
    Settings,
    "embeddings" | "temperature" | "timeoutMs" | "maxRetries" | "maxToolSteps" | "wikipediaBaseUrl" | "promptSet"
  >;
  params: MethodParams;
  /**
   * What else names the run: the data files' content hashes (dataFileId), split, seed. `files`,
   * the paths as given, only label the summary and find results of older versions (legacyRunKey).
   */
  run: Pick<RunKey, "data" | "split" | "seed"> & { files?: string[] };
  /** How long one query may keep retrying rate limits, 5xx and connection resets before it is marked failed. */
  retryForMs: number;
  /** First backoff; doubles on every retry, with jitter (a provider's Retry-After wins when it is longer). */
  backoffMs: number;
  /** Prices per model for the cost (default: the list prices). */
  prices?: PriceTable;
  aligner?: Aligner;
  /** After every answered model call and every finished query. */
  onProgress?: (progress: RunProgress) => void;
  /** One-line notes for the user (e.g. results of an older version taken over). */
  onNotice?: (line: string) => void;
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
  /** Data files by content (sha256 prefixes, in the order given), never by path: the same data anywhere is the same run. */
  data: string[];
  split: Split;
  users: number;
  k: number;
  n: number;
  E: number;
  /** Seeds the LaMP-1 interactions' negatives and [1]/[2] order, and ICL's demonstrations. */
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
  /** Absent from results of older versions. */
  inputTokens?: number;
  outputTokens?: number;
  persona?: string;
}

export interface SkippedUser {
  user: string;
  queries: number;
  reason: string;
}

/** Model calls paid for and their tokens. */
export interface Spent {
  calls: number;
  inputTokens: number;
  outputTokens: number;
}

export interface RunProgress {
  /** Queries finished (recorded, failed or not) of `total`; `ran` of them by this process. */
  done: number;
  total: number;
  ran: number;
  failures: number;
  /** Every model call whose answer arrived, of this run so far (earlier processes included). */
  spent: Spent;
  /** Dollars of `spent`; undefined when the model has no known price. */
  cost?: number;
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
  /** Calls and tokens of the recorded answers (each query's last attempt). */
  calls: number;
  tokens: number;
  /**
   * Everything paid for: every model call whose answer arrived, including attempts that failed or
   * were cut off by a kill, each counted once. `cost` in dollars, null when the model has no price.
   */
  spent: Spent & { tokens: number; cost: number | null };
  /** One hash over `runKey.data`: which data the numbers come from. */
  dataFingerprint: string;
  /** The data files as given to this run (labels only: the run key names data by content). */
  dataFiles?: string[];
  /** When this summary was written (ISO 8601): the report takes the newest complete run of a cell. */
  writtenAt: string;
  /** Queries whose model call failed (scored as invalid answers, LaMP's rule). */
  failures: number;
  /** Selected users the method cannot run for (no interactions to align on), with their unscored queries. */
  skipped: SkippedUser[];
  /** The population the users were selected from (absent from older summaries). */
  population?: PopulationSummary;
  /** Queries answered by this process (the rest came from the results file). */
  ran: number;
  callsPerQuery: number;
  msPerQuery: number;
  complete: boolean;
}

/**
 * Counts model calls and tokens of one query attempt (provider usage when given, else none), and
 * hands every answered call to `onAnswer` so it is journaled at once: a kill loses no paid call.
 */
class UsageCounter extends BaseCallbackHandler {
  name = "eval-usage";
  override awaitHandlers = true;
  calls = 0;
  inputTokens = 0;
  outputTokens = 0;
  constructor(private readonly onAnswer: (call: Spent) => Promise<void>) {
    super();
  }
  override handleChatModelStart(): void {
    this.calls++;
  }
  override async handleLLMEnd(output: LLMResult): Promise<void> {
    const call: Spent = { calls: 1, inputTokens: 0, outputTokens: 0 };
    for (const gen of output.generations.flat()) {
      const usage = (gen as { message?: AIMessage }).message?.usage_metadata;
      if (!usage) continue;
      call.inputTokens += usage.input_tokens;
      // Some providers give only the total.
      call.outputTokens += usage.output_tokens || Math.max(0, (usage.total_tokens ?? 0) - usage.input_tokens);
    }
    this.inputTokens += call.inputTokens;
    this.outputTokens += call.outputTokens;
    await this.onAnswer(call);
  }
  get tokens(): number {
    return this.inputTokens + this.outputTokens;
  }
}

/** The same fields in the same order as every version wrote them: run ids of older results stay computable (legacyRunKey). */
export function runKeyOf(
  options: Pick<EvalOptions, "task" | "method" | "modelId" | "settings" | "params" | "run" | "userCount">,
): RunKey {
  const { task, method, modelId, settings, params, run } = options;
  return {
    task,
    method,
    model: modelId,
    temperature: settings.temperature,
    embeddings: settings.embeddings,
    promptSet: settings.promptSet,
    data: run.data,
    split: run.split,
    users: options.userCount,
    k: params.k,
    n: params.batch,
    E: params.iterations,
    seed: run.seed,
  };
}

export function runIdOf(key: RunKey): string {
  return createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 12);
}

export function resultsPath(outDir: string, key: RunKey): string {
  return join(outDir, "results", `${key.task}.${key.method}.${runIdOf(key)}.jsonl`);
}

/** A data file's identity: its content's sha256 (first 12 hex digits), read as a stream; never its path. */
export async function dataFileId(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex").slice(0, 12);
}

/** One short hash over a run key's data: the same data, the same fingerprint. Older keys' `path#hash` count by their hash. */
export function dataFingerprint(data: readonly string[]): string {
  return createHash("sha256")
    .update(data.map((d) => d.slice(d.lastIndexOf("#") + 1)).join("\n"))
    .digest("hex")
    .slice(0, 8);
}

/** Versions before content-only run keys named each data file `path#hash`, with the path as typed. */
export function legacyRunKey(key: RunKey, files: readonly string[]): RunKey | undefined {
  return files.length === key.data.length
    ? { ...key, data: key.data.map((hash, i) => `${files[i]}#${hash}`) }
    : undefined;
}

/** A results file: the last record of every key, and every answered model call journaled in it. */
interface Results {
  records: Map<string, QueryRecord>;
  spent: Spent;
  /** False for files of older versions, which journaled no calls. */
  journaled: boolean;
}

/** A line cut by a crash is skipped. */
export async function readResults(path: string): Promise<Results> {
  const results: Results = {
    records: new Map(),
    spent: { calls: 0, inputTokens: 0, outputTokens: 0 },
    journaled: false,
  };
  let text = "";
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  for (const line of text.split("\n")) {
    let parsed: (QueryRecord & { spent?: undefined }) | { key?: undefined; spent?: Spent };
    try {
      parsed = JSON.parse(line);
    } catch {
      continue; // partial last line of an interrupted run
    }
    if (typeof parsed?.key === "string") results.records.set(parsed.key, parsed);
    else if (parsed?.spent) {
      addSpent(results.spent, parsed.spent);
      results.journaled = true;
    }
  }
  return results;
}

function addSpent(total: Spent, more: Spent): void {
  total.calls += more.calls;
  total.inputTokens += more.inputTokens;
  total.outputTokens += more.outputTokens;
}

/** Longest wait between two attempts of a query. */
const MAX_BACKOFF_MS = 60_000;
/** Errors of a connection that was made and then broke; a refused connection or unknown host is not transient. */
const RESET_CODES = ["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "EAI_AGAIN"];

/** The error codes along an error's cause chain (the SDKs wrap the socket's error once or twice). */
function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (
    let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e.code === "string") codes.push(e.code);
  }
  return codes;
}

/** Rate limits, 5xx, timeouts and connection resets: the same request may succeed later. */
function isTransient(error: unknown): boolean {
  // An alignment step wraps the provider's error; its cause says whether it is transient.
  const e = (error instanceof ModelError && error.cause ? error.cause : error) as {
    status?: number;
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const status = e?.status ?? e?.$metadata?.httpStatusCode ?? 0;
  return (
    status === 429 ||
    status >= 500 ||
    [
      "RateLimitError",
      "ThrottlingException",
      "APIConnectionTimeoutError",
      "TimeoutError",
      "InternalServerError",
      "InternalServerException",
      "ServiceUnavailableException",
    ].includes(e?.name ?? "") ||
    /rate limit|429/i.test(e?.message ?? "") ||
    causeCodes(e).some((code) => RESET_CODES.includes(code))
  );
}

/**
 * The wait before attempt `attempt + 1`: exponential from `backoffMs` with full jitter (concurrent
 * users do not retry in step), at most a minute, never shorter than the provider's Retry-After.
 */
function retryDelay(error: unknown, attempt: number, backoffMs: number): number {
  const e = (error instanceof ModelError && error.cause ? error.cause : error) as { headers?: Record<string, string> };
  const retryAfter = Number(e?.headers?.["retry-after"]) * 1000;
  const exponential = Math.min(MAX_BACKOFF_MS, backoffMs * 2 ** attempt);
  return Math.max(exponential / 2 + (Math.random() * exponential) / 2, Number.isFinite(retryAfter) ? retryAfter : 0);
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
  const e = (error instanceof ModelError ? error.cause : error) as
    { status?: number; $metadata?: { httpStatusCode?: number } } | undefined;
  if (e instanceof InvalidProviderResponseError) return true;
  if (causeCodes(e).some((code) => RESET_CODES.includes(code))) return true; // still resetting after --retry-for
  const status = e?.status ?? e?.$metadata?.httpStatusCode;
  if (status !== undefined) return status !== 401 && status !== 403 && status !== 404;
  return describeProviderError(e)?.startsWith("the model call timed out") === true;
}

/** Runs `work` again after transient errors until it succeeds or `retryForMs` has passed since the first attempt. */
async function withRetries<T>(work: () => Promise<T>, retryForMs: number, backoffMs: number): Promise<T> {
  const deadline = Date.now() + retryForMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const left = deadline - Date.now();
      if (left <= 0 || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(retryDelay(error, attempt, backoffMs), left)));
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
function demonstrationsFor(
  user: EvalUser,
  selected: ReadonlySet<EvalUser>,
  population: readonly EvalUser[],
  interactions: (u: EvalUser) => Promise<HistoryEntry[]>,
  seed: number,
) {
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
      if (entries.length > 0)
        shots.push(entries[seeded(seed, `${query.id}\u0000${donor.id}`, "icl-shot") % entries.length]!);
    }
    return shots;
  };
}

/** Eval user ids: prefixed, so they never collide with real users; the same for every method (embed once). */
export function evalUserId(task: LampTask, user: Pick<EvalUser, "id">): string {
  return `eval:${task}:${user.id}`;
}

type Outcome = Pick<
  QueryRecord,
  "answer" | "ok" | "error" | "calls" | "tokens" | "inputTokens" | "outputTokens" | "ms" | "persona"
>;

/**
 * Results of this run written by a version that keyed runs by the data's path: when this command
 * names the data by the same paths, they are this run's results. Copied (re-keyed) into this
 * run's file once, so they are not paid for again; returns how many were taken over.
 */
async function adoptLegacyResults(
  outDir: string,
  key: RunKey,
  files: readonly string[] | undefined,
  path: string,
): Promise<number> {
  const legacy = files && legacyRunKey(key, files);
  if (!legacy) return 0;
  const { records } = await readResults(resultsPath(outDir, legacy));
  if (records.size === 0) return 0;
  const runId = runIdOf(key);
  const lines = [...records.values()].map((r) => JSON.stringify({ ...r, key: JSON.stringify([runId, r.id]) }));
  // Their calls were paid for: journaled under their totals (no input/output split was kept).
  const spent: Spent = {
    calls: [...records.values()].reduce((n, r) => n + r.calls, 0),
    inputTokens: [...records.values()].reduce((n, r) => n + r.tokens, 0),
    outputTokens: 0,
  };
  await appendFile(path, `${[...lines, JSON.stringify({ spent })].join("\n")}\n`);
  return records.size;
}

export async function runEval(options: EvalOptions): Promise<EvalSummary> {
  const { task, method, params, settings } = options;
  const runKey = runKeyOf(options);
  const runId = runIdOf(runKey);
  const chosen = selectActiveUsers(options.users, options.userCount);
  const otherPapers = options.papers ?? populationPapers(task, options.users);
  const built = new Map<EvalUser, Promise<HistoryEntry[]>>();
  const interactions = (u: EvalUser) => {
    let entries = built.get(u);
    if (!entries)
      built.set(u, (entries = profileInteractions(task, u.id, u.profile, { seed: runKey.seed, otherPapers })));
    return entries;
  };
  // A person with no interaction to align on cannot run an aligning method: skipped, named in the summary.
  const skipped: SkippedUser[] = [];
  const selected: EvalUser[] = [];
  for (const user of chosen) {
    if (needsAlignment(method) && (await interactions(user)).length === 0)
      skipped.push({ user: user.id, queries: user.queries.length, reason: "no profile interaction to align on" });
    else selected.push(user);
  }
  const queries = selected.flatMap((u) => u.queries);
  const path = resultsPath(options.outDir, runKey);
  await mkdir(join(options.outDir, "results"), { recursive: true });
  let results = await readResults(path);
  if (results.records.size === 0 && !results.journaled) {
    const adopted = await adoptLegacyResults(options.outDir, runKey, options.run.files, path);
    if (adopted > 0) {
      options.onNotice?.(
        `took over ${adopted} finished queries of this run from ${resultsPath(options.outDir, legacyRunKey(runKey, options.run.files!)!)} (written by an older version, which named runs by the data's path)`,
      );
      results = await readResults(path);
    }
  }
  const { records: cached, spent } = results;
  // Files of older versions journaled no calls: their records' calls are what is known to be spent.
  if (!results.journaled)
    for (const r of cached.values())
      addSpent(spent, { calls: r.calls, inputTokens: r.inputTokens ?? r.tokens, outputTokens: r.outputTokens ?? 0 });
  const prices = options.prices ?? LIST_PRICES;
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
  const failures = () => queries.filter((q) => cached.get(keyOf(q.id))?.ok === false).length;
  const progress = () =>
    options.onProgress?.({
      done,
      total: queries.length,
      ran,
      failures: failures(),
      spent: { ...spent },
      cost: costOf(options.modelId, spent, prices),
    });
  progress();

  /** Every answered model call is journaled before the query goes on: what was paid for survives a kill, counted once. */
  const journal = async (call: Spent) => {
    await appendFile(path, `${JSON.stringify({ spent: call })}\n`);
    addSpent(spent, call);
    progress();
  };
  const record = async (user: EvalUser, query: UserQuery, outcome: Outcome) => {
    const entry: QueryRecord = { key: keyOf(query.id), id: query.id, user: user.id, gold: query.output, ...outcome };
    await appendFile(path, `${JSON.stringify(entry)}\n`);
    cached.set(entry.key, entry);
    ran++;
    done++;
    progress();
  };
  /** One line for a query's own failure; the run's own failures (configuration, infrastructure) are rethrown and stop it. */
  const failure = (error: unknown): string => {
    if (!isQueryFailure(error)) throw error;
    return (describeProviderError(error) ?? (error as Error)?.message ?? String(error)).split("\n")[0]!;
  };
  /** Runs `work` with retries, counting its model calls and tokens through LangChain callbacks. */
  const counted = async <T>(
    work: () => Promise<T>,
  ): Promise<{ value?: T; error?: string; calls: number; inputTokens: number; outputTokens: number; ms: number }> => {
    const counter = new UsageCounter(journal);
    const started = Date.now();
    const runnable = RunnableLambda.from(work); // every nested model call inherits the callback
    const usage = () => ({
      calls: counter.calls,
      inputTokens: counter.inputTokens,
      outputTokens: counter.outputTokens,
      ms: Date.now() - started,
    });
    try {
      const value = await withRetries(
        () => runnable.invoke(undefined, { callbacks: [counter] }),
        options.retryForMs,
        options.backoffMs,
      );
      return { value, ...usage() };
    } catch (error) {
      return { error: failure(error), ...usage() };
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
      const methodUser = {
        interactions: await interactions(user),
        demonstrations: demonstrationsFor(user, evaluated, options.users, interactions, runKey.seed),
      };
      // Preparing the user (memory, profile, persona, alignment) is counted with their first query.
      const setup = await counted<Answerer>(() =>
        prepareMethod(method, { task, store, configurable, params, aligner }, methodUser),
      );
      const answer = setup.value;
      const none = { calls: 0, inputTokens: 0, outputTokens: 0, ms: 0 };
      let carried = {
        calls: setup.calls,
        inputTokens: setup.inputTokens,
        outputTokens: setup.outputTokens,
        ms: setup.ms,
      };
      for (const query of user.queries.filter((q) => !finished(q))) {
        const result = answer ? await counted(() => answer(query)) : { error: setup.error, ...none };
        const inputTokens = result.inputTokens + carried.inputTokens;
        const outputTokens = result.outputTokens + carried.outputTokens;
        const outcome: Outcome = {
          answer: result.value?.answer ?? "",
          ok: result.value !== undefined,
          calls: result.calls + carried.calls,
          tokens: inputTokens + outputTokens,
          inputTokens,
          outputTokens,
          ms: result.ms + carried.ms,
        };
        if (result.error !== undefined) outcome.error = result.error;
        if (result.value?.persona) outcome.persona = result.value.persona;
        carried = none;
        await record(user, query, outcome);
      }
    },
    () => options.stopAfter !== undefined && ran >= options.stopAfter,
  );

  const records = queries.map((q) => cached.get(keyOf(q.id))).filter((r): r is QueryRecord => r !== undefined);
  // A failed query is scored as an invalid answer (empty string), as LaMP scores any invalid output.
  const metrics = scoreTask(
    task,
    records.map((r) => (r.ok ? r.answer : "")),
    records.map((r) => r.gold),
  );
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
    spent: {
      ...spent,
      tokens: spent.inputTokens + spent.outputTokens,
      cost: costOf(options.modelId, spent, prices) ?? null,
    },
    dataFingerprint: dataFingerprint(runKey.data),
    ...(options.run.files ? { dataFiles: options.run.files } : {}),
    writtenAt: new Date().toISOString(),
    failures: records.filter((r) => !r.ok).length,
    skipped,
    ...(options.population ? { population: options.population } : {}),
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
  await writeFile(
    join(outDir, "summaries", summaryName(summary)),
    `${JSON.stringify({ ...summary, personas }, null, 2)}\n`,
  );
}
