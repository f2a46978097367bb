/**
 * The graphs as LangGraph Studio / Platform serve them: the real `langgraphjs dev` server on a
 * copy of this project (testing/langgraph-dev.ts), the real ChatOpenAI against the
 * scripted OpenAI-compatible server in this process, and the SDK Client, as an API caller uses
 * them. The server runs with the custom auth of apps/server/auth.ts, as a deployment would: every
 * request carries a bearer token, and the second half checks that one user cannot reach
 * another's data. api-no-auth.int.test.ts covers the server with auth off (local development).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@langchain/langgraph-sdk";
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, systemText, type ScriptedReply } from "../../testing/scripted-chat.js";
import { scriptedServerEnv, startDevServer, STARTUP_LIMIT_MS, type DevServer } from "../../testing/langgraph-dev.js";
import { ALICE_HISTORY, BOB_HISTORY, tempDir } from "../../testing/fixtures.js";
import { userNamespace } from "../../src/users/users.js";
import { parseAlignmentPrompt } from "../../testing/alignment-prompts.js";
import { agentTurn, profileNamingUser } from "../support/scripted-agent.js";

const started = Date.now();

/** What each graph's runs return (docs/DEPLOY.md): nothing of the run's internal state. */
const OUTPUT_KEYS = {
  persona_agent: ["alignment", "answer", "messages", "personaVersion", "retrieved", "sinceAlignment", "toolCalls"],
  alignment: ["alignment"],
  ingest: ["added", "personaCreated", "personaVersion", "profileUpdated", "skipped"],
  forget: ["deleted"],
};
/** Keys no API caller may set: the operator's settings and the graphs' internals. */
const NOT_FOR_CALLERS = [
  "model",
  "embeddings",
  "indexDir",
  "wikipediaBaseUrl",
  "timeoutMs",
  "maxRetries",
  "record",
  "excludeIds",
];

const role = (req: RecordedChatRequest) =>
  req.tools ? "agent" : (parseAlignmentPrompt(lastUserText(req))?.step ?? "summary");

/** Summaries name their user; agent turns call memory + Wikipedia, then answer from the memories. */
function scriptedProvider(req: RecordedChatRequest): ScriptedReply {
  switch (role(req)) {
    case "summary":
      return profileNamingUser(req);
    case "grad":
      return { content: "GRAD: prefer the user's own tags" };
    case "update":
      return { content: `ALIGNED persona for ${systemText(req).includes("BOB") ? "bob" : "alice"}` };
    default:
      return agentTurn(req);
  }
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
  let server: DevServer;
  let url: string;
  let dataDir: string;
  const tokens = {
    alice: randomBytes(32).toString("hex"),
    bob: randomBytes(32).toString("hex"),
    carol: randomBytes(32).toString("hex"),
  };
  const clientFor = (token?: string) =>
    new Client({ apiUrl: url, defaultHeaders: token ? { authorization: `Bearer ${token}` } : {} });
  let alice: Client;
  let bob: Client;
  let aliceThread: string;

  beforeAll(async () => {
    openai = await startOpenAIServer(scriptedProvider);
    dataDir = join(tempDir(), "data");
    mkdirSync(dataDir);
    server = await startDevServer({
      ...(await scriptedServerEnv(openai.url, dataDir)),
      PERSONA_AGENT_API_TOKENS: JSON.stringify({
        [tokens.alice]: "alice",
        [tokens.bob]: "bob",
        [tokens.carol]: "carol",
      }),
    });
    url = server.url;
    alice = clientFor(tokens.alice);
    bob = clientFor(tokens.bob);
  }, STARTUP_LIMIT_MS + 10_000);

  afterAll(async () => {
    await server?.stop();
    await openai?.close();
    console.log(`studio.int.test: ${((Date.now() - started) / 1000).toFixed(1)} s (server start included)`);
  });

  test("every caller lists the graphs' assistants; their published schemas hold what a caller may set, userId required", async () => {
    const listed = await alice.assistants.search({ limit: 100 });
    expect(listed.map((a) => a.graph_id).sort()).toEqual(["alignment", "forget", "ingest", "persona_agent"]);
    expect((await bob.assistants.search({ limit: 100 })).map((a) => a.assistant_id).sort()).toEqual(
      listed.map((a) => a.assistant_id).sort(),
    );
    for (const assistant of listed) {
      const graph = assistant.graph_id as keyof typeof OUTPUT_KEYS;
      const schemas = await alice.assistants.getSchemas(assistant.assistant_id);
      const context = schemas.context_schema as { required: string[]; properties: Record<string, unknown> };
      expect([graph, context.required]).toEqual([graph, ["userId"]]);
      expect([graph, Object.keys(context.properties).filter((key) => NOT_FOR_CALLERS.includes(key))]).toEqual([
        graph,
        [],
      ]);
      expect([graph, Object.keys((schemas.output_schema as { properties: object }).properties).sort()]).toEqual([
        graph,
        OUTPUT_KEYS[graph],
      ]);
    }
    const agent = await alice.assistants.getSchemas(listed.find((a) => a.graph_id === "persona_agent")!.assistant_id);
    expect(Object.keys((agent.input_schema as { properties: object }).properties).sort()).toEqual([
      "messages",
      "persona",
      "truth",
    ]);
    expect(Object.keys((agent.context_schema as { properties: object }).properties).sort()).toEqual([
      "alignEvery",
      "batchSize",
      "iterations",
      "k",
      "maxToolSteps",
      "memoryTool",
      "promptSet",
      "temperature",
      "userId",
      "validate",
      "validationSize",
    ]);
    // Assistants are the operator's: a caller's settings go in its runs' context.
    expect(await statusOf(alice.assistants.create({ graphId: "persona_agent" }))).toBe(403);
  });

  test("ingest creates a user through the platform; the run returns the result, not its input", async () => {
    const thread = await alice.threads.create();
    aliceThread = thread.thread_id;
    const out = await alice.runs.wait(aliceThread, "ingest", {
      input: { entries: ALICE_HISTORY, task: "lamp-2m" },
      context: { userId: "alice" },
    });
    expect(out).toEqual({ added: 4, skipped: 0, profileUpdated: true, personaVersion: 1, personaCreated: true });
    // Bob names no user: the server pins the run to the token's user.
    expect(await bob.runs.wait(null, "ingest", { input: { entries: BOB_HISTORY } })).toMatchObject({
      added: 3,
      personaCreated: true,
    });
  });

  test("a malformed entry is refused before anything is stored", async () => {
    const bad = [{ query: "Tag this movie: a new one", response: "drama" }, { query: "no response" }];
    await expect(bob.runs.wait(null, "ingest", { input: { entries: bad } })).rejects.toThrow(
      /UserError.*entries\[1\]: .*response.* is missing/,
    );
    expect((await bob.store.searchItems(userNamespace("bob", "episodic"), { limit: 50 })).items).toHaveLength(3);
  });

  test("persona_agent answers with tool calls (runs.wait and runs.stream)", async () => {
    const question = "Tag this movie: a colony ship drifts past Jupiter";
    const state = (await alice.runs.wait(aliceThread, "persona_agent", {
      input: { messages: [{ role: "user", content: question }] },
      config: { configurable: { userId: "alice" } },
    })) as { answer: string; personaVersion: number; toolCalls: { name: string; args: object }[] };
    expect(Object.keys(state).filter((key) => !OUTPUT_KEYS.persona_agent.includes(key))).toEqual([]); // no persona, no userGeneration
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
    expect(nodes).toEqual(["load_persona", "agent_steps", "record"]);
    expect(last.answer).toBe("romance");
  });

  test("alignment writes a new persona version into the platform's store; the run returns its summary", async () => {
    const out = (await alice.runs.wait(null, "alignment", { input: {}, context: { batchSize: 2 } })) as {
      alignment: { fromVersion: number; toVersion: number; iterations: { feedback: unknown[] }[] };
    };
    expect(Object.keys(out)).toEqual(["alignment"]);
    expect(out.alignment).toMatchObject({ user: "alice", fromVersion: 1, toVersion: 2 });
    expect(out.alignment.iterations[0]!.feedback).toHaveLength(2);

    // As docs/DEPLOY.md reads the store: the meta item says which version is current, the persona items hold the text.
    const head = await alice.store.getItem(userNamespace("alice", "meta"), "persona");
    expect(head?.value).toEqual({ version: 2 });
    expect((await alice.store.getItem(userNamespace("alice", "persona"), "v00000002"))?.value).toMatchObject({
      version: 2,
      persona: "ALIGNED persona for alice",
      origin: "aligned",
    });
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
    const feedback = (truth: string) => ({
      input: { messages: [{ role: "user", content: question }], truth },
      context: { alignEvery: 1, batchSize: 2 },
    });
    await expect(alice.runs.wait(null, "persona_agent", feedback("  "))).rejects.toThrow(
      /the true response \(truth\) is empty/,
    );
    const out = (await alice.runs.wait(null, "persona_agent", feedback("sci-fi"))) as {
      answer: string;
      sinceAlignment: number;
      alignment: { fromVersion: number; toVersion: number };
    };
    expect(out).toMatchObject({ answer: "sci-fi", sinceAlignment: 1, alignment: { fromVersion: 2, toVersion: 3 } });
    expect((await alice.store.getItem(userNamespace("alice", "meta"), "persona"))?.value).toEqual({ version: 3 });
    const memories = (await alice.store.searchItems(userNamespace("alice", "episodic"), { limit: 50 })).items;
    expect(memories.map((i) => [i.value.query, i.value.response])).toContainEqual([question, "sci-fi"]);
  });

  test("errors speak of the API's inputs, never of CLI commands or flags", async () => {
    const carol = clientFor(tokens.carol); // never ingested
    const unknown = carol.runs.wait(null, "persona_agent", { input: { messages: [{ role: "user", content: "hi" }] } });
    await expect(unknown).rejects.toThrow(
      /UnknownUserError.*unknown user \\?"carol\\?": no persona yet \(run the ingest graph with the user's history first\)/,
    );
    const tooBig = alice.runs.wait(null, "alignment", { input: {}, context: { batchSize: 100 } });
    await expect(tooBig).rejects.toThrow(
      /batchSize must be at most 32 \(the operator's PERSONA_AGENT_MAX_BATCH\), got 100/,
    );
    const errors = await Promise.all([unknown, tooBig].map((run) => run.catch((e: Error) => e.message)));
    for (const message of errors) expect(message).not.toMatch(/persona-agent |--[a-z]/);
  });

  test("Studio's drawing of persona_agent expands (xray) into the alignment subgraph's nodes", async () => {
    const [assistant] = await alice.assistants.search({ graphId: "persona_agent" });
    const drawn = await alice.assistants.getGraph(assistant!.assistant_id, { xray: true });
    const ids = drawn.nodes.map((n) => String(n.id));
    expect(ids).toEqual(
      expect.arrayContaining([
        "load_persona",
        "agent_steps:agent",
        "agent_steps:tools",
        "record",
        "record_truth",
        "align:select_batch",
        "align:simulate",
        "align:gradient",
        "align:update",
        "align:close_iteration",
        "align:save_persona",
      ]),
    );
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
      expect(
        await statusOf(alice.store.putItem(userNamespace("bob", "persona"), "v00000099", { persona: "pwned" })),
      ).toBe(403);
      expect(await statusOf(alice.store.deleteItem(userNamespace("bob", "meta"), "persona"))).toBe(403);
      expect((await bob.store.getItem(userNamespace("bob", "meta"), "persona"))?.value).toEqual({ version: 1 });
    });

    test("a user can use its own namespaces", async () => {
      await alice.store.putItem([...userNamespace("alice"), "notes"], "n1", { text: "mine" });
      expect((await alice.store.getItem([...userNamespace("alice"), "notes"], "n1"))?.value).toEqual({ text: "mine" });
      expect(
        (await alice.store.listNamespaces({ prefix: [...userNamespace("alice"), "notes"] })).namespaces.length,
      ).toBeGreaterThan(0);
      // The user label alone is refused: PostgresStore would match it as a string prefix ("alice" reaching "alice2").
      expect(await statusOf(alice.store.listNamespaces({ prefix: userNamespace("alice") }))).toBe(403);
    });

    test("a user cannot run graphs as another user or with operator-only settings", async () => {
      const asBob = {
        input: { messages: [{ role: "user", content: "hi" }] },
        config: { configurable: { userId: "bob" } },
      };
      expect(await statusOf(alice.runs.wait(null, "persona_agent", asBob))).toBe(403);
      expect(
        await statusOf(alice.runs.wait(null, "alignment", { input: {}, config: { configurable: { userId: "bob" } } })),
      ).toBe(403);
      for (const configurable of [
        { indexDir: "/tmp" },
        { wikipediaBaseUrl: "http://169.254.169.254/" },
        { model: "local:/etc/passwd" },
      ]) {
        expect(await statusOf(alice.runs.wait(null, "persona_agent", { input: {}, config: { configurable } }))).toBe(
          403,
        );
      }
      // Nothing ran as Bob: his persona is still v1.
      expect((await bob.store.getItem(userNamespace("bob", "meta"), "persona"))?.value).toEqual({ version: 1 });
    });

    test("threads and their runs are visible to their owner only", async () => {
      expect(await statusOf(bob.threads.get(aliceThread))).toBe(404);
      expect(await statusOf(bob.threads.getState(aliceThread))).toBe(404);
      expect(await statusOf(bob.runs.list(aliceThread))).toBe(404);
      expect(
        await statusOf(
          bob.runs.wait(aliceThread, "persona_agent", { input: { messages: [{ role: "user", content: "hi" }] } }),
        ),
      ).toBe(404);
      expect((await bob.threads.search({ limit: 100 })).map((t) => t.thread_id)).not.toContain(aliceThread);
      expect((await alice.threads.search({ limit: 100 })).map((t) => t.thread_id)).toContain(aliceThread);
      expect(await statusOf(bob.threads.update(aliceThread, { metadata: { owner: "bob" } }))).toBe(404);
      expect(await statusOf(bob.threads.delete(aliceThread))).toBe(404);
    });
  });
});
