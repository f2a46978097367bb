/** Runs the real `persona-agent` executable in a child process. */
import { execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/persona-agent.js", import.meta.url));

/** What every run of the executable gets. */
const BASE_ENV = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  AWS_EC2_METADATA_DISABLED: "true",
};

export interface CliResult {
  code: number;
  stdout: string;
  /** stderr without the progress lines, which are in `progress`. */
  stderr: string;
  /** The progress lines an alignment prints on stderr off a terminal, in order. */
  progress: string[];
}

const PROGRESS_LINE = /^persona-agent: alignment iteration \d+\/\d+: .+ \d+\/\d+$/;

/** Asynchronous on purpose: test servers in this process must keep answering meanwhile. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  input?: string,
  cwd?: string,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...BASE_ENV, ...env }, timeout: 120_000, cwd },
      (error, stdout, stderr) => {
        const lines = stderr.split(/(?<=\n)/);
        const progress = lines.filter((line) => PROGRESS_LINE.test(line.trimEnd()));
        resolve({
          code: error ? ((error as { code?: number }).code ?? 1) : 0,
          stdout,
          stderr: lines.filter((line) => !PROGRESS_LINE.test(line.trimEnd())).join(""),
          progress: progress.map((line) => line.trimEnd()),
        });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Starts the executable without waiting, for tests that kill it midway. */
export function spawnCli(args: string[], env: Record<string, string | undefined>) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...BASE_ENV, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, exited };
}

/**
 * The environment of a CLI run against a scripted OpenAI-compatible server: its model and
 * embeddings, a data dir, an unreachable Wikipedia, no retries — overridable per suite.
 */
export function scriptedEnv(
  serverUrl: string,
  dataDir: string,
  overrides: Record<string, string | undefined> = {},
): Record<string, string> {
  const env: Record<string, string | undefined> = {
    OPENAI_BASE_URL: serverUrl,
    OPENAI_API_KEY: "test-key",
    PERSONA_AGENT_MODEL: "openai:x",
    PERSONA_AGENT_EMBEDDINGS: "openai:emb",
    PERSONA_AGENT_DATA_DIR: dataDir,
    PERSONA_AGENT_WIKIPEDIA_URL: "http://127.0.0.1:9/w/api.php",
    PERSONA_AGENT_MAX_RETRIES: "0",
    ...overrides,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** The flags naming a LaMP task and its two files, as `eval` and `data convert` take them. */
export function lampFlags(task: string, files: { questions: string; outputs: string }): string[] {
  return ["--task", task, "--questions", files.questions, "--outputs", files.outputs];
}
