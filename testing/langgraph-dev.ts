/**
 * The real `langgraphjs dev` server on a copy of this project (so edits to the working tree
 * cannot hot-reload it mid-test), on a free port, for the tests that drive the graphs through
 * @langchain/langgraph-sdk as API callers do.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir, unreachableUrl } from "./fixtures.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const STARTUP_LIMIT_MS = 60_000;

export interface DevServer {
  url: string;
  /** What the server printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Copies what the server loads; node_modules is linked, not copied. */
function projectCopy(): string {
  const dir = tempDir("persona-agent-studio-");
  for (const part of ["langgraph.json", "package.json", "tsconfig.json", "graphs", "src", "apps", "prompts"])
    cpSync(join(ROOT, part), join(dir, part), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

async function waitUntilReady(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_LIMIT_MS;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`langgraphjs dev exited with ${server.exitCode}:\n${log()}`);
    try {
      if ((await fetch(`${url}/info`)).ok) return; // /info answers without auth
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`langgraphjs dev not ready after ${STARTUP_LIMIT_MS / 1000} s:\n${log()}`);
}

/** The server's settings against the scripted OpenAI-compatible provider at `openaiUrl`: its model, a data dir, an unreachable Wikipedia, no retries. */
export async function scriptedServerEnv(openaiUrl: string, dataDir: string): Promise<Record<string, string>> {
  return {
    OPENAI_BASE_URL: openaiUrl,
    OPENAI_API_KEY: "test-key",
    PERSONA_AGENT_MODEL: "openai:test",
    PERSONA_AGENT_DATA_DIR: dataDir,
    PERSONA_AGENT_WIKIPEDIA_URL: await unreachableUrl("/w/api.php"),
    PERSONA_AGENT_MAX_RETRIES: "0",
  };
}

/** Starts `langgraphjs dev` with `env` (besides PATH and HOME, nothing of this process's environment). */
export async function startDevServer(env: Record<string, string>): Promise<DevServer> {
  const project = projectCopy();
  const url = await unreachableUrl(""); // a port just freed (never 2024, which is taken here)
  const server = spawn(
    process.execPath,
    [
      join(ROOT, "node_modules/@langchain/langgraph-cli/dist/cli/cli.mjs"),
      "dev",
      "--no-browser",
      "--host",
      "127.0.0.1",
      "--port",
      new URL(url).port,
      "--config",
      project,
    ],
    {
      cwd: project,
      detached: true, // own process group: the CLI, tsx watch and the API worker all die together
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        LANGGRAPH_CLI_NO_ANALYTICS: "1",
        LANGSMITH_TRACING: "false",
        AWS_EC2_METADATA_DISABLED: "true",
        ...env,
      },
    },
  );
  /** Signals the server's whole process group (the CLI, tsx watch and the API worker). */
  const signalServer = (signal: NodeJS.Signals) => {
    try {
      if (server.pid !== undefined) process.kill(-server.pid, signal);
    } catch {
      // already gone
    }
  };
  // Last resort if Jest exits without running afterAll.
  const onExit = () => signalServer("SIGKILL");
  process.once("exit", onExit);
  let output = "";
  server.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  server.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server.once("exit", r));
      signalServer("SIGTERM");
      const timer = setTimeout(() => signalServer("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    }
    signalServer("SIGKILL"); // any straggler of the group (no-op when all are gone)
    process.removeListener("exit", onExit);
    rmSync(project, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(url, server, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, output: () => output, stop };
}
