import { InMemoryStore } from "@langchain/langgraph";
import { EpisodicMemory } from "../../src/memory/episodic.js";
import { formatMemories, initializeTools, MEMORY_TOOL, WIKIPEDIA_TOOL } from "../../src/tools/index.js";
import { setPrompt } from "../../src/prompts/prompts.js";
import { PROMPT_SETS, type PromptSet } from "../../src/configuration/settings.js";
import { startWikipediaServer } from "../support/wikipedia-server.js";
import { ALICE_HISTORY, BOB_HISTORY, CountingEmbeddings } from "../../testing/fixtures.js";
import { createServer } from "node:http";

describe("agent tools", () => {
  const store = new InMemoryStore();
  const memory = new EpisodicMemory(store, new CountingEmbeddings(), {
    embeddingsId: "local:universal-sentence-encoder",
  });

  beforeAll(async () => {
    await memory.add("alice", ALICE_HISTORY);
    await memory.add("bob", BOB_HISTORY);
  });

  const toolsFor = (
    userId: string,
    wikipediaBaseUrl = "http://127.0.0.1:9/",
    timeoutMs = 5_000,
    promptSet: PromptSet = "paper",
  ) =>
    Object.fromEntries(
      initializeTools({ userId, memory, k: 2, wikipediaBaseUrl, timeoutMs, promptSet }).map((t) => [t.name, t]),
    );

  test.each(PROMPT_SETS)("use the %s set's descriptions from prompts/", (set) => {
    const tools = toolsFor("alice", undefined, undefined, set);
    expect(tools[WIKIPEDIA_TOOL]!.description).toBe(setPrompt(set, "tools/wikipedia_search"));
    expect(tools[MEMORY_TOOL]!.description).toBe(setPrompt(set, "tools/memory_retrieval"));
  });

  test("memory retrieval returns k of the bound user's memories, whatever the arguments say", async () => {
    const tool = toolsFor("bob")[MEMORY_TOOL]!;
    const message = await tool.invoke({
      id: "1",
      name: MEMORY_TOOL,
      type: "tool_call",
      args: { query: "robots and simulations", userId: "alice" },
    });
    expect(message.artifact).toHaveLength(2);
    expect(message.artifact.every((m: { response: string }) => m.response === "romance")).toBe(true);
    expect(message.content).toContain("User's response: romance");
  });

  test("an entry added without a timestamp shows no date (the time it was stored is not when it happened)", async () => {
    await memory.add("carol", [
      { query: "Tag this movie: a heist in Rome", response: "comedy" },
      { query: "Tag this movie: a duel at dawn", response: "action", timestamp: "2019-05-02T00:00:00Z" },
    ]);
    const [undated, dated] = ["heist", "duel"].map((word) =>
      memory.list("carol").then((all) => all.find((e) => e.query.includes(word))!),
    );
    expect((await undated)!.undated).toBe(true);
    expect((await dated)!).not.toHaveProperty("undated");
    const text = formatMemories([
      { ...(await undated)!, similarity: 1 },
      { ...(await dated)!, similarity: 0.5 },
    ]);
    expect(text).toBe(
      "[1] Query: Tag this movie: a heist in Rome\n    User's response: comedy\n[2] (2019-05-02) Query: Tag this movie: a duel at dawn\n    User's response: action",
    );
  });

  test("without the memory tool (the w/o Memory ablation) the agent has Wikipedia alone", () => {
    const tools = initializeTools({
      userId: "alice",
      memory,
      k: 2,
      wikipediaBaseUrl: "http://127.0.0.1:9/",
      timeoutMs: 5_000,
      promptSet: "paper",
      memoryTool: false,
    });
    expect(tools.map((t) => t.name)).toEqual([WIKIPEDIA_TOOL]);
  });

  test("an empty query is answered with guidance, not an exception", async () => {
    expect(await toolsFor("alice")[MEMORY_TOOL]!.invoke({ query: "  " })).toBe(
      "Memory retrieval needs a non-empty query.",
    );
    expect(await toolsFor("alice")[WIKIPEDIA_TOOL]!.invoke({ query: "" })).toBe(
      "Wikipedia search needs a non-empty query.",
    );
  });

  test("wikipedia search returns page summaries from the configured endpoint", async () => {
    const wiki = await startWikipediaServer({ Dune: "Dune is a 1965 science fiction novel." });
    try {
      expect(await toolsFor("alice", wiki.url)[WIKIPEDIA_TOOL]!.invoke({ query: "dune" })).toBe(
        "Page: Dune\nSummary: Dune is a 1965 science fiction novel.",
      );
    } finally {
      await wiki.close();
    }
  });

  test("an unreachable or hung Wikipedia becomes an error message for the agent", async () => {
    expect(await toolsFor("alice", "http://127.0.0.1:9/")[WIKIPEDIA_TOOL]!.invoke({ query: "dune" })).toMatch(
      /^Wikipedia search failed \(.+\)\. Answer without it\.$/,
    );
    const hung = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    const { port } = hung.address() as { port: number };
    try {
      const started = Date.now();
      const result = await toolsFor("alice", `http://127.0.0.1:${port}/`, 300)[WIKIPEDIA_TOOL]!.invoke({
        query: "dune",
      });
      expect(result).toBe("Wikipedia search failed (no answer in time). Answer without it.");
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      hung.closeAllConnections();
      hung.close();
    }
  });

  test("formatMemories numbers memories with their date and says so when none match", () => {
    expect(formatMemories([])).toBe("No past interactions of this user match the query.");
    const text = formatMemories([
      { id: "a", seq: 0, query: "q", response: "r", timestamp: "2024-05-06T00:00:00Z", metadata: {}, similarity: 0.9 },
    ]);
    expect(text).toBe("[1] (2024-05-06) Query: q\n    User's response: r");
  });
});
