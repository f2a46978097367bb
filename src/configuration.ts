/**
 * Per-run configuration of the graphs (LangGraph `configurable`). Anything not given per run
 * falls back to the process settings (environment / `.env`).
 */
import { join } from "node:path";
import { Annotation, type LangGraphRunnableConfig } from "@langchain/langgraph";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { parseNumber, parsePromptSet, RUN_LIMITS, settingsFromEnv, type PromptSet, type Settings } from "./settings.js";
import { validateUserId } from "./users.js";
import { UserError } from "./errors.js";

export const ConfigurationAnnotation = Annotation.Root({
  /** Whose persona and memory this run uses. Required. */
  userId: Annotation<string>(),
  /** `provider:name`, or a LangChain chat model object when called from code. */
  model: Annotation<string | BaseChatModel>(),
  embeddings: Annotation<string>(),
  /** Memories returned by one retrieval (the paper's K). */
  k: Annotation<number>(),
  /** Agent turns that may call tools before it must answer. */
  maxToolSteps: Annotation<number>(),
  temperature: Annotation<number>(),
  timeoutMs: Annotation<number>(),
  maxRetries: Annotation<number>(),
  wikipediaBaseUrl: Annotation<string>(),
  /** Where FAISS indexes are persisted; unset on hosts without a writable disk. */
  indexDir: Annotation<string | undefined>(),
  /** Record the run in the user's interaction log (off for evaluation; alignment replays never reach the record step). */
  record: Annotation<boolean>(),
  /** Episodic entry ids retrieval must skip (alignment simulations exclude the entry they replay). */
  excludeIds: Annotation<string[]>(),
  /** Offer the agent the memory retrieval tool (off in the evaluation's w/o Memory ablation, alignment replays included). */
  memoryTool: Annotation<boolean>(),
  /** Prompt set (`paper` or `tuned`) of persona initialization, tool descriptions and alignment. */
  promptSet: Annotation<PromptSet>(),
});

export type Configuration = typeof ConfigurationAnnotation.State;

export function ensureConfiguration(config?: LangGraphRunnableConfig): Configuration {
  return configurationFrom(settingsFromEnv(), (config?.configurable ?? {}) as Partial<Configuration>);
}

/** The one settings-to-configuration mapping: what a run does not set comes from `settings`. */
export function configurationFrom(settings: Settings, given: Partial<Configuration>): Configuration {
  return {
    userId: validateUserId(given.userId),
    model: given.model ?? settings.model,
    embeddings: given.embeddings ?? settings.embeddings,
    k: runNumber(given, settings, "k"),
    maxToolSteps: runNumber(given, settings, "maxToolSteps"),
    temperature: runNumber(given, settings, "temperature"),
    timeoutMs: runNumber(given, settings, "timeoutMs"),
    maxRetries: runNumber(given, settings, "maxRetries"),
    wikipediaBaseUrl: given.wikipediaBaseUrl ?? settings.wikipediaBaseUrl,
    indexDir: "indexDir" in given ? given.indexDir : join(settings.dataDir, "indexes"),
    record: given.record ?? true,
    excludeIds: given.excludeIds ?? [],
    memoryTool: runFlag(given, "memoryTool", true),
    promptSet: given.promptSet === undefined ? settings.promptSet : parsePromptSet(given.promptSet, "promptSet"),
  };
}

/** A yes/no the run sets; anything but a boolean is refused (an API caller's "false" string would read as true). */
function runFlag(given: Partial<Configuration>, name: "memoryTool", fallback: boolean): boolean {
  const value: unknown = given[name];
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new UserError(`${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/** A number the run sets, held to RUN_LIMITS (an API caller's JSON may carry anything). */
function runNumber(given: Partial<Configuration>, settings: Settings, name: keyof typeof RUN_LIMITS): number {
  const value: unknown = given[name];
  if (value === undefined) return settings[name];
  if (typeof value !== "number") throw new UserError(`${name} must be a number, got ${JSON.stringify(value)}`);
  return parseNumber(String(value), name, RUN_LIMITS[name]);
}
