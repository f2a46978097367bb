/**
 * ChatLlamaCpp on the real llama.cpp engine, with a tiny random-weight model the test writes
 * itself. Random weights make the model's choices arbitrary: what must hold regardless is
 * that grammar-constrained output always parses into a bound tool with valid arguments.
 */
import { join } from "node:path";
import { AIMessage, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { toJsonSchema } from "@langchain/core/utils/json_schema";
import { ChatLlamaCpp, disposeLocalModels, toChatHistory } from "../../src/models/local/index.js";
import { tempDir } from "../../testing/fixtures.js";
import { writeTinyLlama } from "../../testing/tiny-gguf.js";

const search = tool(async () => "", {
  name: "memory_retrieval",
  description: "Search the user's memory.",
  schema: z.object({ query: z.string() }),
});
const rate = tool(async () => "", {
  name: "rate_movie",
  description: "Rate a movie.",
  schema: z.object({ stars: z.number().int(), tags: z.array(z.enum(["sci-fi", "romance"])), liked: z.boolean() }),
});
const TOOLS = [search, rate];

describe("ChatLlamaCpp (real llama.cpp, tiny random model)", () => {
  let modelPath: string;
  const model = (fields: Partial<ConstructorParameters<typeof ChatLlamaCpp>[0]> = {}) =>
    new ChatLlamaCpp({
      modelPath,
      threads: 1,
      maxTokens: 160,
      maxArgChars: 12,
      maxAnswerChars: 12,
      temperature: 1,
      ...fields,
    });

  beforeAll(() => {
    modelPath = writeTinyLlama(join(tempDir(), "tiny.gguf"));
  });
  afterAll(() => disposeLocalModels());

  test("every grammar-constrained reply is a bound tool call with schema-valid arguments, or an answer", async () => {
    const kinds = new Set<string>();
    for (let seed = 0; seed < 12; seed++) {
      const reply = await model({ seed })
        .bindTools(TOOLS)
        .invoke([new SystemMessage("persona"), new HumanMessage(`question ${seed}`)]);
      expect(reply.invalid_tool_calls ?? []).toEqual([]);
      for (const call of reply.tool_calls ?? []) {
        const bound = TOOLS.find((t) => t.name === call.name);
        expect(bound).toBeDefined();
        expect(bound!.schema.safeParse(call.args).success).toBe(true);
        expect(call.id).toMatch(/^call_/);
        kinds.add(call.name);
      }
      if ((reply.tool_calls ?? []).length === 0) {
        expect(typeof reply.content).toBe("string");
        kinds.add("answer");
      }
    }
    // Not a proof of variety, but a model stuck on one branch would hide grammar bugs.
    expect(kinds.size).toBeGreaterThan(1);
  });

  test("a forced tool choice always calls that tool", async () => {
    for (let seed = 0; seed < 4; seed++) {
      const reply = await model({ seed }).bindTools(TOOLS, { tool_choice: "rate_movie" }).invoke("rate it");
      expect(reply.tool_calls?.map((c) => c.name)).toEqual(["rate_movie"]);
    }
  });

  test("a forced call to a schema-only tool (structured output) always parses", async () => {
    const schema = z.object({ label: z.enum(["sci-fi", "romance", "comedy"]), confidence: z.number() });
    const extract = {
      type: "function" as const,
      function: { name: "extract", description: "Tag the movie.", parameters: toJsonSchema(schema) },
    };
    for (let seed = 0; seed < 3; seed++) {
      const reply = await model({ seed }).bindTools([extract], { tool_choice: "extract" }).invoke("Tag this movie");
      expect(schema.safeParse(reply.tool_calls?.[0]?.args).success).toBe(true);
    }
  });

  test("without tools it generates plain text, bounded by maxTokens", async () => {
    const reply = await model({ maxTokens: 8 }).invoke([new HumanMessage("Summarize this user")]);
    expect(typeof reply.content).toBe("string");
    expect(reply.response_metadata.stopReason).toBeDefined();
  });

  test("the conversation keeps tool calls and results in the form the model emits them", () => {
    const history = toChatHistory(
      [
        new SystemMessage("persona"),
        new HumanMessage("q"),
        new AIMessage({ content: "", tool_calls: [{ id: "1", name: "memory_retrieval", args: { query: "x" } }] }),
        new ToolMessage({ content: "found", tool_call_id: "1", name: "memory_retrieval" }),
      ],
      "TOOLS",
    );
    expect(history).toEqual([
      { type: "system", text: "persona\n\nTOOLS" },
      { type: "user", text: "q" },
      { type: "model", response: ['{"tool":"memory_retrieval","arguments":{"query":"x"}}'] },
      { type: "user", text: "Result of memory_retrieval:\nfound" },
      { type: "model", response: [] },
    ]);
  });

  test("concurrent calls share one loaded model and queue on it", async () => {
    const a = model({ seed: 1 });
    const b = model({ seed: 2 });
    const replies = await Promise.all([
      a.bindTools(TOOLS).invoke("one"),
      b.bindTools(TOOLS).invoke("two"),
      a.invoke("three"),
    ]);
    expect(replies).toHaveLength(3);
    expect(await a.load()).toBe(await b.load());
  });
});
