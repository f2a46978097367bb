/**
 * Per-run configuration of the graphs. A run sets it in LangGraph's run context (`context`, what
 * an API caller sets, described by the published context schema below) or in `configurable`
 * (this project's own callers, which also set what no API caller may: the model, the index
 * folder, `record`, `excludeIds`). Anything not set falls back to the process settings
 * (environment / `.env`).
 */
import { join } from "node:path";
import { z } from "zod";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { META_EXTRAS_DESCRIPTION_PREFIX, withLangGraph } from "@langchain/langgraph/zod";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import {
  parseNumber,
  parsePromptSet,
  PROMPT_SETS,
  RUN_LIMITS,
  settingsFromEnv,
  type PromptSet,
  type Settings,
} from "./settings.js";
import { validateUserId } from "../users/users.js";
import { InputError } from "../errors/errors.js";

export interface Configuration {
  /** Whose persona and memory this run uses. Required. */
  userId: string;
  /** `provider:name`, or a LangChain chat model object when called from code. */
  model: string | BaseChatModel;
  embeddings: string;
  /** Memories returned by one retrieval (the paper's K). */
  k: number;
  /** Agent turns that may call tools before it must answer. */
  maxToolSteps: number;
  temperature: number;
  timeoutMs: number;
  maxRetries: number;
  wikipediaBaseUrl: string;
  /** Where FAISS indexes are persisted; unset on hosts without a writable disk. */
  indexDir: string | undefined;
  /** Record the run in the user's interaction log (off for evaluation; alignment replays never reach the record step). */
  record: boolean;
  /** Episodic entry ids retrieval must skip (alignment simulations exclude the entry they replay). */
  excludeIds: string[];
  /** Offer the agent the memory retrieval tool (off in the evaluation's w/o Memory ablation, alignment replays included). */
  memoryTool: boolean;
  /** Prompt set (`paper` or `tuned`) of persona initialization, tool descriptions and alignment. */
  promptSet: PromptSet;
}

/** Every key of a Configuration (services compare them to tell runs apart). */
export const CONFIGURATION_KEYS = [
  "userId",
  "model",
  "embeddings",
  "k",
  "maxToolSteps",
  "temperature",
  "timeoutMs",
  "maxRetries",
  "wikipediaBaseUrl",
  "indexDir",
  "record",
  "excludeIds",
  "memoryTool",
  "promptSet",
] as const satisfies readonly (keyof Configuration)[];

/**
 * A field of a published input or context schema: its JSON Schema, for callers and Studio. The
 * graphs check the value themselves, with errors that name the field as the caller gave it (and,
 * on the command line, the flag); LangGraph's own check of the schema lets any value through.
 */
export function documented(description: string, jsonSchema: Record<string, unknown>) {
  return withLangGraph(z.any().describe(description), { jsonSchemaExtra: jsonSchema });
}

const runLimited = (name: keyof typeof RUN_LIMITS, description: string) => {
  const { min, max, integer } = RUN_LIMITS[name];
  return documented(description, { type: integer ? "integer" : "number", minimum: min, maximum: max });
};

/** What an API caller may set for the agent, besides the user (the published context schema's fields). */
export const AGENT_CONTEXT = {
  k: runLimited("k", "Memories returned by one retrieval (the paper's K). Default: the server's PERSONA_AGENT_K (4)."),
  maxToolSteps: runLimited(
    "maxToolSteps",
    "Tool-calling turns before the agent must answer. Default: the server's PERSONA_AGENT_MAX_TOOL_STEPS (4).",
  ),
  temperature: runLimited(
    "temperature",
    "Sampling temperature of every model call. Default: the server's PERSONA_AGENT_TEMPERATURE (0.1, the paper's).",
  ),
  memoryTool: documented(
    "Offer the agent the memory retrieval tool (false: the w/o Memory ablation, alignment replays included). Default: true.",
    { type: "boolean" },
  ),
  promptSet: documented(
    "Prompt set of persona initialization, tool descriptions and alignment: paper (the paper's Appendices A-C, the default) or tuned.",
    {
      type: "string",
      enum: PROMPT_SETS,
    },
  ),
};

/**
 * A graph's context schema as the server publishes it: the user and `fields`, and nothing an API
 * caller may not set. `userId` is required and the schema says so; a run may give it in
 * `context` or, as older callers do, in `configurable`: ensureConfiguration looks in both and
 * refuses a run with neither. (A description that starts with LangGraph's extras prefix becomes
 * JSON Schema keywords when the server publishes the schema: here `required` and the text.)
 */
export function apiContextSchema<T extends z.ZodRawShape>(description: string, fields: T) {
  const userId = documented(
    "Whose persona and memory the run uses. Required (here, or in config.configurable). On a server with auth it is the caller's own id.",
    {
      type: "string",
      minLength: 1,
      maxLength: 128,
    },
  );
  return z
    .object({ userId, ...fields })
    .describe(`${META_EXTRAS_DESCRIPTION_PREFIX}${JSON.stringify({ required: ["userId"], description })}`);
}

/**
 * What a run sets: its `context` and its `configurable` together. A key set to different values
 * in the two is refused rather than one of them silently winning.
 */
export function givenConfiguration(config?: LangGraphRunnableConfig): Record<string, unknown> {
  const configurable: Record<string, unknown> = config?.configurable ?? {};
  const context: Record<string, unknown> = config?.context ?? {};
  for (const [key, value] of Object.entries(context)) {
    const other = configurable[key];
    if (value !== undefined && other !== undefined && other !== value) {
      throw new InputError(
        key,
        (input) =>
          `${input} is ${JSON.stringify(value)} in the run's context but ${JSON.stringify(other)} in config.configurable: set it once`,
      );
    }
  }
  return { ...configurable, ...context };
}

export function ensureConfiguration(config?: LangGraphRunnableConfig): Configuration {
  const given = givenConfiguration(config) as Partial<Configuration>;
  if (given.userId === undefined || given.userId === null) {
    throw new InputError(
      "userId",
      (input) =>
        `${input} is required: give it in the run's context ({"context": {"userId": "..."}}) or in config.configurable`,
    );
  }
  return configurationFrom(settingsFromEnv(), given);
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
  if (typeof value !== "boolean")
    throw new InputError(name, (input) => `${input} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/** A number the run sets, held to RUN_LIMITS (an API caller's JSON may carry anything). */
function runNumber(given: Partial<Configuration>, settings: Settings, name: keyof typeof RUN_LIMITS): number {
  const value: unknown = given[name];
  if (value === undefined) return settings[name];
  if (typeof value !== "number")
    throw new InputError(name, (input) => `${input} must be a number, got ${JSON.stringify(value)}`);
  return parseNumber(String(value), name, RUN_LIMITS[name]);
}
