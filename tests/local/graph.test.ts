/**
 * The persona_agent graph end to end on `local:<path>`: the real llama.cpp engine through the
 * provider factory, a real store, the real tools. A random-weight model decides arbitrarily;
 * the graph must still complete and every tool call it makes must be well formed.
 */
import { join } from "node:path";
import { InMemoryStore } from "@langchain/langgraph";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { builder } from "../../graphs/persona_agent.js";
import { EpisodicMemory } from "../../src/memory/episodic.js";
import { SemanticMemory } from "../../src/memory/semantic.js";
import { PersonaStore } from "../../src/persona/persona.js";
import { ingestHistory } from "../../src/memory/ingest.js";
import { createChatModel } from "../../src/models/chat.js";
import { disposeLocalModels } from "../../src/models/local/index.js";
import { initializeTools } from "../../src/tools/index.js";
import { startWikipediaServer, type WikipediaTestServer } from "../support/wikipedia-server.js";
import { ALICE_HISTORY, CountingEmbeddings, tempDir } from "../../testing/fixtures.js";
import { writeTinyLlama } from "../../testing/tiny-gguf.js";

const EMB = "local:universal-sentence-encoder";

describe("persona_agent graph on a local llama.cpp model", () => {
  let store: InMemoryStore;
  let memory: EpisodicMemory;
  let wiki: WikipediaTestServer;
  let spec: string;
  const toolCalls: string[] = [];
  const savedMaxTokens = process.env.PERSONA_AGENT_LOCAL_MAX_TOKENS;

  beforeAll(async () => {
    process.env.PERSONA_AGENT_LOCAL_MAX_TOKENS = "256"; // short generations keep the suite fast
    spec = `local:${writeTinyLlama(join(tempDir(), "tiny.gguf"))}`;
    wiki = await startWikipediaServer({ "Science fiction": "Science fiction is a genre of speculative fiction." });
    store = new InMemoryStore();
    memory = new EpisodicMemory(store, new CountingEmbeddings(), { embeddingsId: EMB });
    // The local model itself writes the profile (plain-text generation, no tools).
    const parts = { memory, semantic: new SemanticMemory(store), personas: new PersonaStore(store) };
    await ingestHistory(
      { ...parts, chatModel: () => createChatModel(spec, { temperature: 0.8, timeoutMs: 60_000, maxRetries: 0 }) },
      "alice",
      ALICE_HISTORY,
      {
        task: "lamp-2m",
      },
    );
  });

  afterAll(async () => {
    process.env.PERSONA_AGENT_LOCAL_MAX_TOKENS = savedMaxTokens;
    await wiki.close();
    await disposeLocalModels();
  });

  test.each([0.1, 1.0])("completes with well-formed tool calls only (temperature %s)", async (temperature) => {
    const graph = builder.compile({ store });
    const result = await graph.invoke(
      { messages: [new HumanMessage("Tag this movie: a crew wakes from cryosleep on a generation ship")] },
      {
        configurable: {
          userId: "alice",
          model: spec,
          temperature,
          embeddings: EMB,
          indexDir: undefined,
          wikipediaBaseUrl: wiki.url,
          maxToolSteps: 2,
          record: false,
        },
      },
    );

    const schemas = new Map(
      initializeTools({
        userId: "alice",
        memory,
        k: 4,
        wikipediaBaseUrl: wiki.url,
        timeoutMs: 1000,
        promptSet: "paper",
      }).map((t) => [t.name, t.schema]),
    );
    const replies = result.messages.filter((m: unknown): m is AIMessage => AIMessage.isInstance(m));
    expect(replies.length).toBeGreaterThanOrEqual(1);
    for (const reply of replies) {
      expect(reply.invalid_tool_calls ?? []).toEqual([]);
      for (const call of reply.tool_calls ?? []) {
        expect(schemas.has(call.name)).toBe(true);
        expect(
          (schemas.get(call.name) as { safeParse(v: unknown): { success: boolean } }).safeParse(call.args).success,
        ).toBe(true);
      }
    }
    toolCalls.push(...result.toolCalls.map((c: { name: string }) => c.name));
    expect(result.toolCalls.length).toBeLessThanOrEqual(2);
    expect(typeof result.answer).toBe("string");
    expect(result.personaVersion).toBe(1);
  });

  test("the runs above went through the tools node, not only straight to an answer", () => {
    expect(toolCalls.length).toBeGreaterThan(0);
  });
});
