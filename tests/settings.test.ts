/** settingsFromEnv: defaults, each PERSONA_AGENT_* variable, bad numbers, and `.env` loading. */
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../src/errors/errors.js";
import {
  DEFAULT_SETTINGS,
  loadEnvFile,
  localModelSettings,
  parseNumber,
  settingsFromEnv,
  validateSettings,
} from "../src/configuration/settings.js";
import { isolateEnv, SETTINGS_ENV } from "./models/helpers.js";

const DOTENV_ONLY = "PERSONA_AGENT_TEST_FROM_DOTENV"; // set only by the .env files below
isolateEnv([
  ...SETTINGS_ENV,
  DOTENV_ONLY,
  "PERSONA_AGENT_LOCAL_THREADS",
  "PERSONA_AGENT_LOCAL_MAX_TOKENS",
  "PERSONA_AGENT_LOCAL_GPU",
  "PERSONA_AGENT_MODEL_CACHE",
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
]);

// Every test runs in a fresh empty directory, so `./.env` is whatever the test writes there.
const originalCwd = process.cwd();
let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "persona-agent-settings-")));
  process.chdir(dir);
});
afterEach(() => {
  process.chdir(originalCwd);
  rmSync(dir, { recursive: true, force: true });
});

test("defaults, with the data dir resolved against the working directory", () => {
  expect(settingsFromEnv()).toEqual({ ...DEFAULT_SETTINGS, dataDir: join(dir, ".persona-agent") });
  expect(DEFAULT_SETTINGS).toMatchObject({
    model: "local:hf:Qwen/Qwen2.5-1.5B-Instruct-GGUF/qwen2.5-1.5b-instruct-q4_k_m.gguf",
    embeddings: "local:universal-sentence-encoder",
    temperature: 0.1,
    timeoutMs: 60_000,
    maxRetries: 3,
    k: 4,
    maxToolSteps: 4,
    promptSet: "paper",
  });
});

test("each PERSONA_AGENT_* variable sets its setting", () => {
  Object.assign(process.env, {
    PERSONA_AGENT_MODEL: "bedrock:anthropic.claude-3-5-sonnet-20240620-v1:0",
    PERSONA_AGENT_EMBEDDINGS: "openai:text-embedding-3-small",
    PERSONA_AGENT_DATA_DIR: "state/here",
    PERSONA_AGENT_TEMPERATURE: "0",
    PERSONA_AGENT_TIMEOUT_MS: "1500",
    PERSONA_AGENT_MAX_RETRIES: "0",
    PERSONA_AGENT_K: "7",
    PERSONA_AGENT_MAX_TOOL_STEPS: "0",
    PERSONA_AGENT_WIKIPEDIA_URL: "http://127.0.0.1:9999/w/api.php",
    PERSONA_AGENT_PROMPTS: "tuned",
    PERSONA_AGENT_MAX_ITERATIONS: "4",
    PERSONA_AGENT_MAX_BATCH: "8",
    PERSONA_AGENT_MAX_CACHED_INDEXES: "16",
    PERSONA_AGENT_MAX_CACHED_VECTORS: "2000000",
  });
  expect(settingsFromEnv()).toEqual({
    model: "bedrock:anthropic.claude-3-5-sonnet-20240620-v1:0",
    embeddings: "openai:text-embedding-3-small",
    dataDir: join(dir, "state/here"),
    temperature: 0,
    timeoutMs: 1500,
    maxRetries: 0,
    k: 7,
    maxToolSteps: 0,
    wikipediaBaseUrl: "http://127.0.0.1:9999/w/api.php",
    promptSet: "tuned",
    maxIterations: 4,
    maxBatchSize: 8,
    maxCachedIndexes: 16,
    maxCachedVectors: 2_000_000,
  });
});

test("an absolute data dir is kept; fractional temperatures and padded numbers parse", () => {
  process.env.PERSONA_AGENT_DATA_DIR = "/var/lib/persona-agent";
  process.env.PERSONA_AGENT_TEMPERATURE = "0.7";
  process.env.PERSONA_AGENT_K = " 12 ";
  expect(settingsFromEnv()).toMatchObject({ dataDir: "/var/lib/persona-agent", temperature: 0.7, k: 12 });
});

test("empty or blank variables fall back to the defaults", () => {
  for (const name of SETTINGS_ENV) process.env[name] = name.endsWith("_K") || name.includes("_MS") ? "  " : "";
  expect(settingsFromEnv()).toEqual({ ...DEFAULT_SETTINGS, dataDir: join(dir, ".persona-agent") });
});

test.each([
  ["PERSONA_AGENT_TEMPERATURE", "hot", 'PERSONA_AGENT_TEMPERATURE must be a number from 0 to 2, got "hot"'],
  ["PERSONA_AGENT_TEMPERATURE", "-0.1", 'PERSONA_AGENT_TEMPERATURE must be a number from 0 to 2, got "-0.1"'],
  ["PERSONA_AGENT_TEMPERATURE", "Infinity", 'PERSONA_AGENT_TEMPERATURE must be a number from 0 to 2, got "Infinity"'],
  ["PERSONA_AGENT_TIMEOUT_MS", "0", 'PERSONA_AGENT_TIMEOUT_MS must be an integer from 1 to 600000, got "0"'],
  ["PERSONA_AGENT_TIMEOUT_MS", "1.5", 'PERSONA_AGENT_TIMEOUT_MS must be an integer from 1 to 600000, got "1.5"'],
  ["PERSONA_AGENT_TIMEOUT_MS", "60s", 'PERSONA_AGENT_TIMEOUT_MS must be an integer from 1 to 600000, got "60s"'],
  ["PERSONA_AGENT_MAX_RETRIES", "-1", 'PERSONA_AGENT_MAX_RETRIES must be an integer from 0 to 10, got "-1"'],
  ["PERSONA_AGENT_MAX_RETRIES", "three", 'PERSONA_AGENT_MAX_RETRIES must be an integer from 0 to 10, got "three"'],
  ["PERSONA_AGENT_K", "0", 'PERSONA_AGENT_K must be an integer from 1 to 64, got "0"'],
  ["PERSONA_AGENT_K", "2.5", 'PERSONA_AGENT_K must be an integer from 1 to 64, got "2.5"'],
  ["PERSONA_AGENT_MAX_TOOL_STEPS", "-2", 'PERSONA_AGENT_MAX_TOOL_STEPS must be an integer from 0 to 16, got "-2"'],
  ["PERSONA_AGENT_MAX_TOOL_STEPS", "NaN", 'PERSONA_AGENT_MAX_TOOL_STEPS must be an integer from 0 to 16, got "NaN"'],
  ["PERSONA_AGENT_K", "65", 'PERSONA_AGENT_K must be an integer from 1 to 64, got "65"'],
  ["PERSONA_AGENT_MAX_TOOL_STEPS", "17", 'PERSONA_AGENT_MAX_TOOL_STEPS must be an integer from 0 to 16, got "17"'],
  ["PERSONA_AGENT_TEMPERATURE", "2.5", 'PERSONA_AGENT_TEMPERATURE must be a number from 0 to 2, got "2.5"'],
  ["PERSONA_AGENT_MAX_CACHED_INDEXES", "0", 'PERSONA_AGENT_MAX_CACHED_INDEXES must be an integer >= 1, got "0"'],
  ["PERSONA_AGENT_MAX_CACHED_VECTORS", "lots", 'PERSONA_AGENT_MAX_CACHED_VECTORS must be an integer >= 1, got "lots"'],
  ["PERSONA_AGENT_PROMPTS", "paper-v2", 'PERSONA_AGENT_PROMPTS must be one of paper, tuned, got "paper-v2"'],
])("%s=%j is a UserError naming the variable", (name, value, message) => {
  process.env[name] = value;
  expect(() => settingsFromEnv()).toThrow(UserError);
  expect(() => settingsFromEnv()).toThrow(message);
});

test("parseNumber, as used for command options", () => {
  expect(parseNumber("3", "--k", { min: 1, integer: true })).toBe(3);
  expect(parseNumber("0.25", "--temperature", { min: 0, integer: false })).toBe(0.25);
  expect(() => parseNumber("", "--k", { min: 1, integer: true })).toThrow('--k must be an integer >= 1, got ""');
  expect(() => parseNumber("abc", "--temperature", { min: 0, integer: false })).toThrow(UserError);
});

describe(".env loading", () => {
  test("settingsFromEnv reads ./.env; variables already in the environment win", () => {
    writeFileSync(
      join(dir, ".env"),
      [
        "# a comment",
        "PERSONA_AGENT_MODEL=bedrock:amazon.nova-lite-v1:0",
        "PERSONA_AGENT_K=9",
        `${DOTENV_ONLY}=yes`,
        "",
      ].join("\n"),
    );
    process.env.PERSONA_AGENT_K = "5";

    const settings = settingsFromEnv();
    expect(settings.model).toBe("bedrock:amazon.nova-lite-v1:0");
    expect(settings.k).toBe(5);
    expect(process.env[DOTENV_ONLY]).toBe("yes");
  });

  test("a variable set to empty in the environment also wins over .env (as with node --env-file)", () => {
    writeFileSync(join(dir, ".env"), "PERSONA_AGENT_MODEL=bedrock:amazon.nova-lite-v1:0\nPERSONA_AGENT_K=9\n");
    process.env.PERSONA_AGENT_MODEL = "";
    const settings = settingsFromEnv();
    expect(settings.model).toBe(DEFAULT_SETTINGS.model);
    expect(settings.k).toBe(9);
  });

  test("./.env is read once: later edits to the same file are not picked up", () => {
    const file = join(dir, ".env");
    writeFileSync(file, `PERSONA_AGENT_MAX_TOOL_STEPS=2\n`);
    expect(settingsFromEnv().maxToolSteps).toBe(2);

    writeFileSync(file, `PERSONA_AGENT_MAX_TOOL_STEPS=2\nPERSONA_AGENT_TIMEOUT_MS=1234\n`);
    delete process.env.PERSONA_AGENT_MAX_TOOL_STEPS;
    const again = settingsFromEnv();
    expect(again.timeoutMs).toBe(DEFAULT_SETTINGS.timeoutMs);
    expect(again.maxToolSteps).toBe(DEFAULT_SETTINGS.maxToolSteps);
  });

  test("a bad number in .env is a UserError naming the variable", () => {
    writeFileSync(join(dir, ".env"), "PERSONA_AGENT_TEMPERATURE=warm\n");
    expect(() => settingsFromEnv()).toThrow(
      new UserError('PERSONA_AGENT_TEMPERATURE must be a number from 0 to 2, got "warm"'),
    );
  });

  test("no .env is fine, and loadEnvFile(path) loads an explicit file once", () => {
    expect(() => loadEnvFile()).not.toThrow();
    expect(() => loadEnvFile(join(dir, "missing.env"))).not.toThrow();

    const file = join(dir, "custom.env");
    writeFileSync(file, `${DOTENV_ONLY}=custom\n`);
    loadEnvFile(file);
    expect(process.env[DOTENV_ONLY]).toBe("custom");

    delete process.env[DOTENV_ONLY];
    loadEnvFile(file);
    expect(process.env[DOTENV_ONLY]).toBeUndefined();
  });
});

describe("settings.ts is the only reader of the environment", () => {
  test("no other module under src/ or graphs/ reads process.env", () => {
    const root = fileURLToPath(new URL("..", import.meta.url));
    const readers = ["src", "graphs", "apps"]
      .flatMap((dir) => readdirSync(join(root, dir), { recursive: true, withFileTypes: true }))
      .filter((f) => f.isFile() && f.name.endsWith(".ts"))
      .map((f) => join(f.parentPath, f.name))
      .filter((path) => readFileSync(path, "utf8").includes("process.env"))
      .map((path) => relative(root, path));
    expect(readers).toEqual(["src/configuration/settings.ts"]);
  });

  test("local model settings: positive integers or the engine's default, GPU only when asked", () => {
    process.env.PERSONA_AGENT_LOCAL_THREADS = "3";
    process.env.PERSONA_AGENT_LOCAL_MAX_TOKENS = "-5";
    process.env.PERSONA_AGENT_LOCAL_GPU = "auto";
    process.env.PERSONA_AGENT_MODEL_CACHE = "models-here";
    expect(localModelSettings()).toEqual({
      cacheDir: join(realpathSync(dir), "models-here"),
      threads: 3,
      maxTokens: undefined,
      gpu: "auto",
    });
  });
});

describe("validateSettings", () => {
  const valid = { ...DEFAULT_SETTINGS, dataDir: "/tmp/x" };
  test("the defaults pass; credentials are checked only when asked", () => {
    expect(validateSettings(valid)).toBe(valid);
    const openai = { ...valid, model: "openai:gpt-4o-mini" };
    expect(() => validateSettings(openai)).toThrow(/OPENAI_API_KEY is not set/);
    expect(validateSettings(openai, { credentials: false })).toBe(openai);
    process.env.OPENAI_BASE_URL = "http://127.0.0.1:1/v1";
    expect(validateSettings(openai)).toBe(openai);
  });

  test.each([
    [{ model: "gpt-4o" }, /invalid model "gpt-4o"/],
    [{ embeddings: "local:minilm" }, /unknown local embeddings "minilm"/],
    [{ embeddings: "cohere:x" }, /invalid embeddings "cohere:x"/],
    [{ databaseUrl: "sqlite:///x.db" }, /must be postgres:\/\//],
    [{ databaseUrl: "not a url" }, /must be postgres:\/\//],
  ])("%j is refused as a usage error", (change, message) => {
    const error = (() => {
      try {
        validateSettings({ ...valid, ...change }, { credentials: false });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    expect((error as UserError).message).toMatch(message);
  });
});
