/**
 * The persona_agent graph on Bedrock (the paper's provider) past its tool budget: the scripted
 * Bedrock server rejects toolUse/toolResult blocks sent without a toolConfig, as Bedrock does
 * (HTTP 400 ValidationException), so the last, tool-less turn must not carry them.
 */
import { InMemoryStore } from "@langchain/langgraph";
import { HumanMessage } from "@langchain/core/messages";
import { builder } from "../../graphs/persona_agent.js";
import { EpisodicMemory } from "../../src/memory/episodic.js";
import { SemanticMemory } from "../../src/memory/semantic.js";
import { PersonaStore } from "../../src/persona/persona.js";
import { ingestHistory } from "../../src/memory/ingest.js";
import { startBedrockServer, type BedrockTestServer } from "../support/bedrock-server.js";
import { respondWith, toolCall, toolResults } from "../../testing/scripted-chat.js";
import { ScriptedChatModel } from "../../testing/scripted-model.js";
import { ALICE_HISTORY, CountingEmbeddings } from "../../testing/fixtures.js";
import { isolateEnv, PROVIDER_ENV, useFakeAwsCredentials } from "../models/helpers.js";

isolateEnv(PROVIDER_ENV);
beforeEach(() => useFakeAwsCredentials());

const MODEL = "bedrock:anthropic.claude-3-5-sonnet-20240620-v1:0";
const EMB = "local:universal-sentence-encoder";
const hasToolBlocks = (messages: { content?: object[] }[]) =>
  messages.some((m) => (m.content ?? []).some((c) => "toolUse" in c || "toolResult" in c));

let server: BedrockTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

test("past maxToolSteps the agent answers on Bedrock: the tool-less last turn carries no toolUse/toolResult blocks", async () => {
  // A model that calls the memory tool whenever it is offered one, and answers otherwise.
  server = await startBedrockServer(
    respondWith((req) =>
      req.toolConfig ? toolCall("memory_retrieval", { query: `more ${toolResults(req).length}` }) : "sci-fi",
    ),
  );
  process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = server.url;
  const store = new InMemoryStore();
  const memory = new EpisodicMemory(store, new CountingEmbeddings(), { embeddingsId: EMB });
  const parts = { memory, semantic: new SemanticMemory(store), personas: new PersonaStore(store) };
  await ingestHistory(
    { ...parts, chatModel: async () => new ScriptedChatModel(() => "ALICE-PROFILE") },
    "alice",
    ALICE_HISTORY,
    { task: "lamp-2m" },
  );

  const result = await builder.compile({ store }).invoke(
    { messages: [new HumanMessage("Tag this movie: a time loop on a space station")] },
    {
      configurable: {
        userId: "alice",
        model: MODEL,
        embeddings: EMB,
        indexDir: undefined,
        maxToolSteps: 2,
        maxRetries: 0,
        record: false,
      },
    },
  );

  expect(server.failures).toEqual([]);
  expect(result.answer).toBe("sci-fi");
  expect(result.toolCalls).toHaveLength(2);
  expect(server.requests.map((r) => Boolean(r.toolConfig))).toEqual([true, true, false]);
  const last = server.requests.at(-1)!;
  expect(hasToolBlocks(last.messages)).toBe(false);
  // What the tools returned still reaches the model, as plain text.
  const text = JSON.stringify(last.messages);
  expect(text).toContain("memory_retrieval");
  expect(text).toContain("User's response: sci-fi");
});
