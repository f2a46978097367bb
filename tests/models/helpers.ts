/**
 * Helpers for the model and settings tests: every environment variable the factories or
 * the SDKs read is saved, cleared before each test and restored after it.
 */
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PROVIDER_ENV = [
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "OPENAI_ORG_ID",
  "OPENAI_PROJECT_ID",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
  "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_PROFILE",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_EC2_METADATA_DISABLED",
  "AWS_BEARER_TOKEN_BEDROCK",
  "BEDROCK_AWS_ACCESS_KEY_ID",
  "BEDROCK_AWS_SECRET_ACCESS_KEY",
  "BEDROCK_AWS_SESSION_TOKEN",
] as const;

export const SETTINGS_ENV = [
  "PERSONA_AGENT_MODEL",
  "PERSONA_AGENT_EMBEDDINGS",
  "PERSONA_AGENT_DATA_DIR",
  "PERSONA_AGENT_TEMPERATURE",
  "PERSONA_AGENT_TIMEOUT_MS",
  "PERSONA_AGENT_MAX_RETRIES",
  "PERSONA_AGENT_K",
  "PERSONA_AGENT_MAX_TOOL_STEPS",
  "PERSONA_AGENT_PROMPTS",
  "PERSONA_AGENT_WIKIPEDIA_URL",
  "PERSONA_AGENT_MAX_ITERATIONS",
  "PERSONA_AGENT_MAX_BATCH",
  "PERSONA_AGENT_MAX_CACHED_INDEXES",
  "PERSONA_AGENT_MAX_CACHED_VECTORS",
] as const;

/** Registers beforeEach/afterEach hooks that clear `names` (plus any `extra` set later) and restore them. */
export function isolateEnv(names: readonly string[]): void {
  let saved = new Map<string, string | undefined>();
  beforeEach(() => {
    saved = new Map(names.map((name) => [name, process.env[name]]));
    for (const name of names) delete process.env[name];
  });
  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}

/** Static AWS credentials and no shared config files, IMDS or profiles: nothing leaks in from the host. */
export function useFakeAwsCredentials(region = "us-east-1"): void {
  process.env.AWS_REGION = region;
  process.env.AWS_ACCESS_KEY_ID = "test";
  process.env.AWS_SECRET_ACCESS_KEY = "test";
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  const none = join(tmpdir(), "persona-agent-tests-no-aws-config");
  process.env.AWS_CONFIG_FILE = none;
  process.env.AWS_SHARED_CREDENTIALS_FILE = none;
}

/** `http://127.0.0.1:PORT` of a port that was just listened on and closed: connections are refused. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/**
 * A responder that never answers until `release()` (call it in afterEach): a hung server
 * without a timer that outlives the test.
 */
export function hangingResponder(): { responder: () => Promise<{ content: string }>; release: () => void } {
  const waiting: (() => void)[] = [];
  return {
    responder: () => new Promise((resolve) => waiting.push(() => resolve({ content: "too late" }))),
    release: () => waiting.splice(0).forEach((answer) => answer()),
  };
}
