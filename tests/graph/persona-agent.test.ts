import { InMemoryStore } from "@langchain/langgraph";
import { AIMessage, HumanMessage, SystemMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { builder } from "../../graphs/persona_agent.js";
import { EpisodicMemory } from "../../src/memory/episodic.js";
import { SemanticMemory } from "../../src/memory/semantic.js";
import { PersonaStore } from "../../src/persona/persona.js";
import { ingestHistory } from "../../src/memory/ingest.js";
import { UserError } from "../../src/errors/errors.js";
import { userNamespace } from "../../src/users/users.js";
import { ScriptedChatModel } from "../../testing/scripted-model.js";
import { startWikipediaServer, type WikipediaTestServer } from "../support/wikipedia-server.js";
import { ALICE_HISTORY, BOB_HISTORY, CountingEmbeddings } from "../../testing/fixtures.js";
import { MAX_TEXT_CHARS } from "../../src/memory/history.js";

const EMB = "local:universal-sentence-encoder";

/** First turn: call both tools; second turn: answer quoting what the tools returned. */
function toolUsingScript(messages: BaseMessage[]) {
  const toolResults = messages.filter((m): m is ToolMessage => ToolMessage.isInstance(m));
  if (toolResults.length === 0) {
    const question = messages.findLast((m) => HumanMessage.isInstance(m))!.text;
    return new AIMessage({
      content: "",
      tool_calls: [
        { id: "call_mem", name: "memory_retrieval", args: { query: question } },
        { id: "call_wiki", name: "wikipedia_search", args: { query: "science fiction" } },
      ],
    });
  }
  return `answer based on: ${toolResults.map((t) => t.text).join(" | ")}`;
}

describe("persona_agent graph", () => {
  let store: InMemoryStore;
  let wiki: WikipediaTestServer;
  let memory: EpisodicMemory;

  beforeAll(async () => {
    wiki = await startWikipediaServer({ "Science fiction": "Science fiction is a genre of speculative fiction." });
    store = new InMemoryStore();
    memory = new EpisodicMemory(store, new CountingEmbeddings(), { embeddingsId: EMB });
    const parts = { memory, semantic: new SemanticMemory(store), personas: new PersonaStore(store) };
    const summarizer = (profile: string) => async () => new ScriptedChatModel(() => profile);
    await ingestHistory({ ...parts, chatModel: summarizer("ALICE-PROFILE: loves sci-fi") }, "alice", ALICE_HISTORY, {
      task: "lamp-2m",
    });
    await ingestHistory({ ...parts, chatModel: summarizer("BOB-PROFILE: loves romance") }, "bob", BOB_HISTORY, {
      task: "lamp-2m",
    });
  });

  afterAll(() => wiki.close());

  function run(userId: string, query: string, model: ScriptedChatModel, extra: Record<string, unknown> = {}) {
    const graph = builder.compile({ store });
    return graph.invoke(
      { messages: [new HumanMessage(query)] },
      { configurable: { userId, model, embeddings: EMB, indexDir: undefined, wikipediaBaseUrl: wiki.url, ...extra } },
    );
  }

  test("answers with the user's persona as the system prompt of every model call, after using both tools", async () => {
    const model = new ScriptedChatModel(toolUsingScript);
    const result = await run("alice", "Tag this movie: a crew wakes from cryosleep on a generation ship", model);

    const persona = (await new PersonaStore(store).current("alice"))!;
    expect(persona.persona).toContain("ALICE-PROFILE: loves sci-fi");
    expect(model.calls).toHaveLength(2);
    for (const call of model.calls) {
      expect(call.messages[0]).toBeInstanceOf(SystemMessage);
      expect(call.messages[0]!.text).toBe(persona.persona);
      expect(call.tools).toEqual(["wikipedia_search", "memory_retrieval"]);
    }
    expect(result.personaVersion).toBe(1);
    expect(result.toolCalls.map((c: { name: string }) => c.name)).toEqual(["memory_retrieval", "wikipedia_search"]);
    expect(result.answer).toContain("Science fiction is a genre");
    expect(result.answer).toContain("User's response: sci-fi");
    expect(result.retrieved).toHaveLength(4);
    expect(wiki.queries).toContain("science fiction");
  });

  test("a run binds its tools to the model once for all its agent turns; every run binds its own user's", async () => {
    const model = new ScriptedChatModel(toolUsingScript);
    const bound: ScriptedChatModel[] = [];
    const bindTools = model.bindTools.bind(model);
    model.bindTools = (tools) => {
      const copy = bindTools(tools) as ScriptedChatModel;
      bound.push(copy);
      return copy;
    };
    await Promise.all([
      run("alice", "Tag this movie: a robot learns to love", model),
      run("bob", "Tag this movie: a robot learns to love", model),
    ]);
    expect(model.calls).toHaveLength(4); // two agent turns per run
    expect(bound).toHaveLength(2); // one binding per run, not one per turn
    const memoriesSeen = model.calls.flatMap((c) =>
      c.messages.filter((m) => ToolMessage.isInstance(m) && m.name === "memory_retrieval").map((m) => m.text),
    );
    expect(memoriesSeen).toHaveLength(2);
    const aliceTurn = model.calls.find(
      (c) => c.messages[0]!.text.includes("ALICE-PROFILE") && c.messages.some((m) => ToolMessage.isInstance(m)),
    )!;
    const bobTurn = model.calls.find(
      (c) => c.messages[0]!.text.includes("BOB-PROFILE") && c.messages.some((m) => ToolMessage.isInstance(m)),
    )!;
    const memoriesOf = (call: typeof aliceTurn) =>
      call.messages.find((m) => ToolMessage.isInstance(m) && m.name === "memory_retrieval")!.text;
    for (const e of ALICE_HISTORY) expect(memoriesOf(bobTurn)).not.toContain(e.query);
    for (const e of BOB_HISTORY) expect(memoriesOf(aliceTurn)).not.toContain(e.query);
  });

  test("one user's memories and persona never reach another user's run", async () => {
    const model = new ScriptedChatModel(toolUsingScript);
    // Bob's query is about Alice's favourite topic: retrieval must still see only Bob's entries.
    const result = await run("bob", "Tag this movie: a robot falls in love with another robot", model);
    const everything = model.calls.flatMap((c) => c.messages.map((m) => m.text)).join("\n");
    expect(everything).toContain("BOB-PROFILE");
    expect(everything).not.toContain("ALICE-PROFILE");
    for (const entry of ALICE_HISTORY) expect(everything).not.toContain(entry.query.slice(15));
    expect(result.retrieved.map((m: { response: string }) => m.response)).toEqual(["romance", "romance", "romance"]);
  });

  test("records the interaction in the user's own log, unless told not to", async () => {
    const before = (await store.search(userNamespace("alice", "interactions"), { limit: 100 })).length;
    await run("alice", "Tag this movie: aliens land in Hyde Park", new ScriptedChatModel(() => "sci-fi"));
    await run("alice", "Tag this movie: aliens land in Paris", new ScriptedChatModel(() => "sci-fi"), {
      record: false,
    });
    const log = await store.search(userNamespace("alice", "interactions"), { limit: 100 });
    expect(log).toHaveLength(before + 1);
    expect(log.map((i) => i.value.query)).toContain("Tag this movie: aliens land in Hyde Park");
    expect(log.map((i) => i.value.query)).not.toContain("Tag this movie: aliens land in Paris");
  });

  test("stops offering tools after maxToolSteps, so the agent always answers", async () => {
    // A model that would call tools forever.
    const model = new ScriptedChatModel((_m, { tools }) =>
      tools.length > 0
        ? new AIMessage({
            content: "",
            tool_calls: [{ id: `c${Math.random()}`, name: "memory_retrieval", args: { query: "x" } }],
          })
        : "final",
    );
    const result = await run("alice", "Tag this movie: a time loop", model, { maxToolSteps: 2 });
    expect(result.answer).toBe("final");
    expect(model.calls.map((c) => c.tools.length > 0)).toEqual([true, true, false]);
    // The tool-less call gets the tool calls and results as text: no provider sees tool blocks without tools.
    const last = model.calls.at(-1)!.messages;
    expect(
      last.some((m) => ToolMessage.isInstance(m) || (AIMessage.isInstance(m) && (m.tool_calls?.length ?? 0) > 0)),
    ).toBe(false);
    expect(last.map((m) => m.getType())).toEqual(["system", "human", "ai", "human", "ai", "human"]);
    expect(last[2]!.text).toBe('[called memory_retrieval {"query":"x"}]');
    expect(last[3]!.text).toMatch(/^\[memory_retrieval returned\]\n\[1\] /);
  });

  test("a failing tool becomes a message to the agent, not a crashed run", async () => {
    const model = new ScriptedChatModel(toolUsingScript);
    const result = await run("alice", "Tag this movie: a heist in dreams", model, {
      wikipediaBaseUrl: "http://127.0.0.1:9/w/api.php",
    });
    expect(result.answer).toContain("Wikipedia search failed");
  });

  test("unknown users and empty or huge queries are clear user errors", async () => {
    const model = new ScriptedChatModel(() => "never called");
    await expect(run("carol", "hello", model)).rejects.toThrow(
      new UserError('unknown user "carol": no persona yet (run the ingest graph with the user\'s history first)'),
    );
    await expect(run("alice", "   ", model)).rejects.toThrow("the query is empty");
    await expect(run("alice", "x".repeat(MAX_TEXT_CHARS + 1), model)).rejects.toThrow(/query is too long/);
    await expect(run("", "hello", model)).rejects.toThrow(/invalid user id/);
    expect(model.calls).toHaveLength(0);
  });
});
