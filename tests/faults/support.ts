/** What the fault tests compare before and after a failure: persona versions, memory and interaction counts. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { EpisodicMemory } from "../../src/memory/episodic.js";
import { PersonaStore } from "../../src/persona/persona.js";
import { listAll } from "../../src/store/list.js";
import { openPersistence } from "../../src/store/open.js";
import { userNamespace } from "../../src/users/users.js";

export interface UserSnapshot {
  versions: number[];
  persona: string | undefined;
  memories: number;
  interactions: number;
}

/** Reads the user's durable state straight from the store (no CLI process may be running on SQLite writes meanwhile). */
export async function snapshot(
  user: string,
  backend: { dataDir: string; databaseUrl?: string },
): Promise<UserSnapshot> {
  const persistence = await openPersistence(backend);
  try {
    const { store } = persistence;
    const personas = new PersonaStore(store);
    const memory = new EpisodicMemory(store, async () => Promise.reject(new Error("no embedding needed")), {
      embeddingsId: "none",
    });
    const history = await personas.history(user);
    return {
      versions: history.map((v) => v.version),
      persona: history.at(-1)?.persona,
      memories: await memory.count(user),
      interactions: (await listAll(store, userNamespace(user, "interactions"))).length,
    };
  } finally {
    await persistence.close();
  }
}

export const toJsonl = (entries: object[]) => entries.map((e) => JSON.stringify(e)).join("\n") + "\n";

export function writeJsonl(dir: string, name: string, entries: object[]): string {
  const path = join(dir, name);
  writeFileSync(path, toJsonl(entries));
  return path;
}

import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, toolResults, type ScriptedReply } from "../../testing/scripted-chat.js";
import { runCli, scriptedEnv } from "../support/cli.js";
import { ALICE_HISTORY, tempDir } from "../../testing/fixtures.js";

export type Fault = (req: RecordedChatRequest) => ScriptedReply | Promise<ScriptedReply>;

/** A well-behaved model: profile/feedback/persona text without tools; with tools, one retrieval then an answer. */
export function healthy(req: RecordedChatRequest): ScriptedReply {
  if (!req.tools) return { content: "Profile: a sci-fi fan" };
  if (toolResults(req).length === 0)
    return { toolCalls: [{ name: "memory_retrieval", args: { query: lastUserText(req) } }] };
  return { content: "sci-fi" };
}

export interface FaultyCli {
  server: OpenAITestServer;
  env: Record<string, string>;
  dataDir: string;
  /** The fault to serve instead of the healthy reply (undefined: healthy). */
  setFault(fault: Fault | undefined): void;
}

/**
 * A fault-injecting server, the CLI's environment pointing at it (real ChatOpenAI through the
 * production factory, 500 ms timeout, one retry), and user alice ingested.
 */
export async function startFaultyCli(prefix: string): Promise<FaultyCli> {
  let fault: Fault | undefined;
  const server = await startOpenAIServer((req) => (fault ? fault(req) : healthy(req)));
  const dataDir = tempDir(prefix);
  const env = scriptedEnv(server.url, dataDir, { PERSONA_AGENT_TIMEOUT_MS: "500", PERSONA_AGENT_MAX_RETRIES: "1" });
  await ingestAlice(dataDir, env);
  return { server, env, dataDir, setFault: (f) => (fault = f) };
}

/** Ingests alice's history through the CLI (a test's set-up); throws with its stderr if it fails. */
export async function ingestAlice(dataDir: string, env: Record<string, string>): Promise<void> {
  const ingest = await runCli(
    ["ingest", "--user", "alice", "--file", writeJsonl(dataDir, "alice.jsonl", ALICE_HISTORY)],
    env,
  );
  if (ingest.code !== 0) throw new Error(`setup ingest failed: ${ingest.stderr}`);
}

/**
 * Registers a describe block's hooks around one faulty CLI setup (alice ingested, healthy
 * replies between tests) and returns its accessors, valid inside tests.
 */
export function useFaultyCli(prefix: string) {
  let cli: FaultyCli;
  beforeAll(async () => {
    cli = await startFaultyCli(prefix);
  });
  afterEach(() => cli.setFault(undefined));
  afterAll(() => cli.server.close());
  return {
    get env() {
      return cli.env;
    },
    get dataDir() {
      return cli.dataDir;
    },
    get server() {
      return cli.server;
    },
    /** Chat requests the server has received so far. */
    chat: () => cli.server.requests.length,
    /** Alice's persona, memory and interaction counts, read from the store. */
    state: () => snapshot("alice", { dataDir: cli.dataDir }),
    setFault: (fault: Fault | undefined) => cli.setFault(fault),
  };
}
