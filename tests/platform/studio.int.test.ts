/**
 * The graphs as LangGraph Studio / Platform serve them: the real `langgraphjs dev` server on a
 * copy of this project (so edits to the working tree cannot hot-reload it mid-test), the real
 * ChatOpenAI against the scripted OpenAI-compatible server in this process, and the SDK Client.
 * The server runs with the custom auth of src/auth.ts, as a deployment would: every request
 * carries a bearer token, and the second half checks that one user cannot reach another's data.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@langchain/langgraph-sdk";
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, systemText, type ScriptedReply } from "../../testing/scripted-chat.js";
import { unreachableUrl } from "../support/cli.js";
import { ALICE_HISTORY, BOB_HISTORY, tempDir } from "../../testing/fixtures.js";
import { userNamespace } from "../../src/users.js";
import { parseAlignmentPrompt } from "../../testing/alignment-prompts.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const STARTUP_LIMIT_MS = 60_000;
const started = Date.now();

const role = (req: RecordedChatRequest) => (req.tools ? "agent" : (parseAlignmentPrompt(lastUserText(req))?.step ?? "summary"));

/** Summaries name their user; agent turns call memory + Wikipedia, then answer from the memories. */
function scriptedProvider(req: RecordedChatRequest): ScriptedReply {
  const user = lastUserText(req);
  switch (role(req)) {
    case "summary":
      return { content: user.includes("wormhole") ? "Profile: a sci-fi fan (ALICE)" : "Profile: a romance fan (BOB)" };
    case "grad":
      return { content: "GRAD: prefer the user's own tags" };
    case "update":
      return { content: `ALIGNED persona for ${systemText(req).includes("BOB") ? "bob" : "alice"}` };
    default: {
      if (req.messages.at(-1)?.role !== "tool") {
        return { toolCalls: [{ name: "memory_retrieval", args: { query: user } }, { name: "wikipedia_search", args: { query: "film genre" } }] };
      }
      const memories = req.messages.filter((m: { role: string }) => m.role === "tool").map((m: { content: string }) => m.content).join("\n");
      return { content: memories.includes("sci-fi") ? "sci-fi" : "romance" };
    }
  }
}

/** Copies what the server loads; node_modules is linked, not copied. */
function projectCopy(): string {
  const dir = tempDir("persona-agent-studio-");
  for (const part of ["langgraph.json", "package.json", "tsconfig.json", "graphs", "src", "prompts"]) cpSync(join(ROOT, part), join(dir, part), { recursive: true });
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

/** Every file under dir, relative. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

/** The HTTP status of a rejected SDK call. */
async function statusOf(call: Promise<unknown>): Promise<number | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}

describe("LangGraph dev server (Studio / Platform API)", () => {
  let openai: OpenAITestServer;
  let server: ChildProcess | undefined;
  let project: string;
  /** Signals the server's whole process group (the CLI, tsx watch and the API worker). */
  const signalServer = (signal: NodeJS.Signals) => {
    try {
      if (server?.pid !== undefined) process.kill(-server.pid, signal);
    } catch {
      // already gone
    }
  };
  // Last resort if Jest exits without running afterAll.
  const onExit = () => signalServer("SIGKILL");
  let output = "";
  let url: string;
  let dataDir: string;
  const tokens = { alice: randomBytes(32).toString("hex"), bob: randomBytes(32).toString("hex") };
  const clientFor = (token?: string) => new Client({ apiUrl: url, defaultHeaders: token ? { authorization: `Bearer ${token}` } : {} });
  let alice: Client;
  let bob: Client;
  let aliceThread: string;

  beforeAll(async () => {
    openai = await startOpenAIServer(scriptedProvider);
    project = projectCopy();
    dataDir = join(tempDir(), "data");
    mkdirSync(dataDir);
    url = await unreachableUrl(""); // a port just freed (never 2024, which is taken here)
    const port = new URL(url).port;
    server = spawn(process.execPath, [join(ROOT, "node_modules/@langchain/langgraph-cli/dist/cli/cli.mjs"), "dev", "--no-browser", "--host", "127.0.0.1", "--port", port, "--config", project], {
      cwd: project,
      detached: true, // own process group: the CLI, tsx watch and the API worker all die together
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        OPENAI_BASE_URL: openai.url,
        OPENAI_API_KEY: "test-key",
        PERSONA_AGENT_MODEL: "openai:test",
        PERSONA_AGENT_DATA_DIR: dataDir,
        PERSONA_AGENT_WIKIPEDIA_URL: await unreachableUrl("/w/api.php"),
        PERSONA_AGENT_MAX_RETRIES: "0",
        PERSONA_AGENT_API_TOKENS: JSON.stringify({ [tokens.alice]: "alice", [tokens.bob]: "bob" }),
        LANGGRAPH_CLI_NO_ANALYTICS: "1",
        LANGSMITH_TRACING: "false",
        AWS_EC2_METADATA_DISABLED: "true",
      },
    });
    process.once("exit", onExit);
    server.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    server.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    await waitUntilReady(url, server, () => output);
    alice = clientFor(tokens.alice);
    bob = clientFor(tokens.bob);
  }, STARTUP_LIMIT_MS + 10_000);

  afterAll(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server!.once("exit", r));
      signalServer("SIGTERM");
      const timer = setTimeout(() => signalServer("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    }
    signalServer("SIGKILL"); // any straggler of the group (no-op when all are gone)
    process.removeListener("exit", onExit);
    if (project) rmSync(project, { recursive: true, force: true });
    await openai?.close();
    console.log(`studio.int.test: ${((Date.now() - started) / 1000).toFixed(1)} s (server start included)`);
  });

  test("ingest creates a user through the platform", async () => {
    const thread = await alice.threads.create();
    aliceThread = thread.thread_id;
    const out = await alice.runs.wait(aliceThread, "ingest", {
      input: { entries: ALICE_HISTORY, task: "lamp-2m" },
      config: { configurable: { userId: "alice" } },
    });
    // runs.wait returns the thread's final state: the input and the result
    expect(out).toMatchObject({ added: 4, skipped: 0, profileUpdated: true, personaVersion: 1, personaCreated: true });
    // Bob names no user: the server pins the run to the token's user.
    expect(await bob.runs.wait(null, "ingest", { input: { entries: BOB_HISTORY } })).toMatchObject({ added: 3, personaCreated: true });
  });

  test("a malformed entry is refused before anything is stored", async () => {
    const bad = [{ query: "Tag this movie: a new one", response: "drama" }, { query: "no response" }];
    await expect(bob.runs.wait(null, "ingest", { input: { entries: bad } })).rejects.toThrow(/UserError.*entries\[1\]: .*response.* is missing/);
    expect((await bob.store.searchItems(userNamespace("bob", "episodic"), { limit: 50 })).items).toHaveLength(3);
  });

  test("persona_agent answers with tool calls (runs.wait and runs.stream)", async () => {
    const question = "Tag this movie: a colony ship drifts past Jupiter";
    const state = (await alice.runs.wait(aliceThread, "persona_agent", {
      input: { messages: [{ role: "user", content: question }] },
      config: { configurable: { userId: "alice" } },
    })) as { answer: string; personaVersion: number; toolCalls: { name: string; args: object }[] };
    expect(state.answer).toBe("sci-fi");
    expect(state.personaVersion).toBe(1);
    expect(state.toolCalls.map((c) => c.name)).toEqual(["memory_retrieval", "wikipedia_search"]);
    expect(state.toolCalls[0]!.args).toEqual({ query: question });

    const nodes: string[] = [];
    let last: { answer?: string } = {};
    for await (const chunk of bob.runs.stream(null, "persona_agent", {
      input: { messages: [{ role: "user", content: "Tag this movie: robots in love on a spaceship" }] },
      streamMode: ["updates", "values"],
    })) {
      if (chunk.event === "updates") nodes.push(...Object.keys(chunk.data as object));
      if (chunk.event === "values") last = chunk.data as { answer?: string };
    }
    expect(nodes).toEqual(["load_persona", "agent", "tools", "agent", "record"]);
    expect(last.answer).toBe("romance");
  });

  test("alignment writes a new persona version into the platform's store", async () => {
    const out = (await alice.runs.wait(null, "alignment", { input: {}, config: { configurable: { batchSize: 2 } } })) as { version: number };
    expect(out.version).toBe(2);

    const head = await alice.store.getItem(userNamespace("alice", "meta"), "persona");
    expect(head?.value).toEqual({ version: 2 });
    const versions = await alice.store.searchItems(userNamespace("alice", "persona"));
    expect(versions.items.map((i) => i.value.version).sort()).toEqual([1, 2]);
    expect(versions.items.find((i) => i.value.version === 2)?.value.persona).toBe("ALIGNED persona for alice");
    expect((await alice.store.searchItems(userNamespace("alice", "episodic"), { limit: 50 })).items).toHaveLength(4);

    // The graphs used the platform's store: nothing but derived FAISS index files in the data dir.
    const files = filesUnder(dataDir);
    expect(files.filter((f) => /\.(sqlite|sqlite3|db)(-wal|-shm)?$/.test(f))).toEqual([]);
    for (const file of files) expect(file).toMatch(/^indexes\//);
  });

  test("feedback through persona_agent: the true response is recorded and its alignment subgraph saves the next version", async () => {
    const question = "Tag this movie: a comet miner's last shift";
    const feedback = (truth: string) => ({ input: { messages: [{ role: "user", content: question }], truth }, config: { configurable: { alignEvery: 1, batchSize: 2 } } });
    await expect(alice.runs.wait(null, "persona_agent", feedback("  "))).rejects.toThrow(/the true response \(truth\) is empty/);
    const out = (await alice.runs.wait(null, "persona_agent", feedback("sci-fi"))) as { answer: string; sinceAlignment: number; alignment: { fromVersion: number; toVersion: number } };
    expect(out).toMatchObject({ answer: "sci-fi", sinceAlignment: 1, alignment: { fromVersion: 2, toVersion: 3 } });
    expect((await alice.store.getItem(userNamespace("alice", "meta"), "persona"))?.value).toEqual({ version: 3 });
    const memories = (await alice.store.searchItems(userNamespace("alice", "episodic"), { limit: 50 })).items;
    expect(memories.map((i) => [i.value.query, i.value.response])).toContainEqual([question, "sci-fi"]);
  });

  test("Studio's drawing of persona_agent expands (xray) into the alignment subgraph's nodes", async () => {
    // The graphs' default assistants are unlisted under auth (src/auth.ts): the caller draws its own.
    const assistant = await alice.assistants.create({ graphId: "persona_agent" });
    const drawn = await alice.assistants.getGraph(assistant.assistant_id, { xray: true });
    const ids = drawn.nodes.map((n) => String(n.id));
    expect(ids).toEqual(expect.arrayContaining(["load_persona", "agent", "tools", "record", "feedback", "align:select_batch", "align:simulate", "align:update", "align:checkpoint"]));
  });

  describe("auth", () => {
    test("no token, a wrong token, or Studio's unverified header: 401", async () => {
      expect(await statusOf(clientFor().threads.create())).toBe(401);
      expect(await statusOf(clientFor("x".repeat(64)).threads.create())).toBe(401);
      const studio = new Client({ apiUrl: url, defaultHeaders: { "x-auth-scheme": "langsmith" } });
      expect(await statusOf(studio.store.getItem(userNamespace("alice", "meta"), "persona"))).toBe(401);
    });

    test("a user cannot read or write another user's store namespaces", async () => {
      expect(await statusOf(alice.store.getItem(userNamespace("bob", "meta"), "persona"))).toBe(403);
      expect(await statusOf(alice.store.searchItems(userNamespace("bob", "persona")))).toBe(403);
      expect(await statusOf(alice.store.searchItems(["users"]))).toBe(403);
      expect(await statusOf(alice.store.listNamespaces())).toBe(403);
      expect(await statusOf(alice.store.putItem(userNamespace("bob", "persona"), "v00000099", { persona: "pwned" }))).toBe(403);
      expect(await statusOf(alice.store.deleteItem(userNamespace("bob", "meta"), "persona"))).toBe(403);
      expect((await bob.store.getItem(userNamespace("bob", "meta"), "persona"))?.value).toEqual({ version: 1 });
    });

    test("a user can use its own namespaces", async () => {
      await alice.store.putItem([...userNamespace("alice"), "notes"], "n1", { text: "mine" });
      expect((await alice.store.getItem([...userNamespace("alice"), "notes"], "n1"))?.value).toEqual({ text: "mine" });
      expect((await alice.store.listNamespaces({ prefix: [...userNamespace("alice"), "notes"] })).namespaces.length).toBeGreaterThan(0);
      // The user label alone is refused: PostgresStore would match it as a string prefix ("alice" reaching "alice2").
      expect(await statusOf(alice.store.listNamespaces({ prefix: userNamespace("alice") }))).toBe(403);
    });

    test("a user cannot run graphs as another user or with operator-only settings", async () => {
      const asBob = { input: { messages: [{ role: "user", content: "hi" }] }, config: { configurable: { userId: "bob" } } };
      expect(await statusOf(alice.runs.wait(null, "persona_agent", asBob))).toBe(403);
      expect(await statusOf(alice.runs.wait(null, "alignment", { input: {}, config: { configurable: { userId: "bob" } } }))).toBe(403);
      for (const configurable of [{ indexDir: "/tmp" }, { wikipediaBaseUrl: "http://169.254.169.254/" }, { model: "local:/etc/passwd" }]) {
        expect(await statusOf(alice.runs.wait(null, "persona_agent", { input: {}, config: { configurable } }))).toBe(403);
      }
      // Nothing ran as Bob: his persona is still v1.
      expect((await bob.store.getItem(userNamespace("bob", "meta"), "persona"))?.value).toEqual({ version: 1 });
    });

    test("threads and their runs are visible to their owner only", async () => {
      expect(await statusOf(bob.threads.get(aliceThread))).toBe(404);
      expect(await statusOf(bob.threads.getState(aliceThread))).toBe(404);
      expect(await statusOf(bob.runs.list(aliceThread))).toBe(404);
      expect(await statusOf(bob.runs.wait(aliceThread, "persona_agent", { input: { messages: [{ role: "user", content: "hi" }] } }))).toBe(404);
      expect((await bob.threads.search({ limit: 100 })).map((t) => t.thread_id)).not.toContain(aliceThread);
      expect((await alice.threads.search({ limit: 100 })).map((t) => t.thread_id)).toContain(aliceThread);
      expect(await statusOf(bob.threads.update(aliceThread, { metadata: { owner: "bob" } }))).toBe(404);
      expect(await statusOf(bob.threads.delete(aliceThread))).toBe(404);
    });
  });
});
