/** Drives the real ChatOpenAI / OpenAIEmbeddings against the scripted server. */
import { AIMessageChunk, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { ChatOpenAI, OpenAIEmbeddings } from "@langchain/openai";
import { z } from "zod";
import { fakeEmbedding, startOpenAIServer, type OpenAITestServer } from "../../testing/openai-server.js";
import { lastUserText, respondWith, systemText, toolCall, toolResults } from "../../testing/scripted-chat.js";

const weather = tool(async ({ city }) => `Sunny in ${city}`, {
  name: "get_weather",
  description: "Current weather for a city",
  schema: z.object({ city: z.string(), unit: z.enum(["C", "F"]).optional() }),
});

function chatModel(server: OpenAITestServer, fields: { maxRetries?: number; streaming?: boolean } = {}) {
  return new ChatOpenAI({
    model: "gpt-4o-mini",
    apiKey: "test",
    configuration: { baseURL: server.url },
    maxRetries: 0,
    ...fields,
  });
}

let server: OpenAITestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

test("plain answer, with the request recorded", async () => {
  server = await startOpenAIServer([{ content: "Hello there!" }]);
  const res = await chatModel(server).invoke([new SystemMessage("Be terse."), new HumanMessage("Hi")]);

  expect(res.content).toBe("Hello there!");
  expect(res.usage_metadata?.output_tokens).toBeGreaterThan(0);
  expect(server.requests).toHaveLength(1);
  const req = server.requests[0]!;
  expect(req.model).toBe("gpt-4o-mini");
  expect(req.stream).toBe(false);
  expect(systemText(req)).toBe("Be terse.");
  expect(lastUserText(req)).toBe("Hi");
});

test("bindTools: tool call parsed, then the tool result goes back and the final answer comes", async () => {
  server = await startOpenAIServer(
    respondWith((req) =>
      toolResults(req).length === 0
        ? toolCall("get_weather", { city: "Paris", unit: "C" }, "call_abc")
        : `The weather: ${toolResults(req)[0]!.content}`,
    ),
  );
  const model = chatModel(server).bindTools([weather]);
  const question = new HumanMessage("Weather in Paris?");

  const first = await model.invoke([question]);
  expect(first.tool_calls).toEqual([
    { name: "get_weather", args: { city: "Paris", unit: "C" }, id: "call_abc", type: "tool_call" },
  ]);
  // The tool definition reached the server as an OpenAI function with a JSON schema.
  const sentTool = server.requests[0]!.tools?.[0];
  expect(sentTool.function.name).toBe("get_weather");
  expect(sentTool.function.parameters.properties.city).toEqual({ type: "string" });

  const toolMsg = await weather.invoke(first.tool_calls![0]!);
  expect(toolMsg).toBeInstanceOf(ToolMessage);
  const second = await model.invoke([question, first, toolMsg]);
  expect(second.content).toBe("The weather: Sunny in Paris");
  expect(second.tool_calls).toEqual([]);

  const sent = server.requests[1]!.messages;
  expect(sent[1]).toMatchObject({
    role: "assistant",
    tool_calls: [{ id: "call_abc", function: { name: "get_weather" } }],
  });
  expect(sent[2]).toMatchObject({ role: "tool", tool_call_id: "call_abc", content: "Sunny in Paris" });
});

test("streaming text and tool calls over SSE", async () => {
  server = await startOpenAIServer([
    { content: "one two three" },
    { toolCalls: [{ name: "get_weather", args: { city: "Oslo" }, id: "call_s" }] },
  ]);
  const model = chatModel(server);

  const pieces: string[] = [];
  let full: AIMessageChunk | undefined;
  for await (const chunk of await model.stream("count")) {
    if (typeof chunk.content === "string" && chunk.content !== "") pieces.push(chunk.content);
    full = full ? full.concat(chunk) : chunk;
  }
  expect(pieces).toEqual(["one ", "two ", "three"]);
  expect(full?.content).toBe("one two three");
  expect(full?.usage_metadata?.total_tokens).toBeGreaterThan(0); // usage chunk from stream_options.include_usage
  expect(server.requests[0]!.stream).toBe(true);

  let toolFull: AIMessageChunk | undefined;
  for await (const chunk of await model.bindTools([weather]).stream("weather?"))
    toolFull = toolFull ? toolFull.concat(chunk) : chunk;
  expect(toolFull?.tool_calls).toEqual([
    { name: "get_weather", args: { city: "Oslo" }, id: "call_s", type: "tool_call" },
  ]);
});

test("429 with retry-after is retried once, then succeeds", async () => {
  server = await startOpenAIServer([
    {
      status: 429,
      headers: { "retry-after": "0" },
      body: { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } },
    },
    { delayMs: 20, then: { content: "after retry" } },
  ]);
  const res = await chatModel(server, { maxRetries: 1 }).invoke("hi");
  expect(res.content).toBe("after retry");
  expect(server.requests).toHaveLength(2);
});

test("429 without retries fails, and an exhausted script fails loudly", async () => {
  server = await startOpenAIServer([{ status: 429, headers: { "retry-after": "0" } }]);
  const model = chatModel(server);
  await expect(model.invoke("hi")).rejects.toThrow(/429/);
  await expect(model.invoke("again")).rejects.toThrow(/script exhausted/);
  expect(server.failures).toEqual([expect.stringContaining('last user text: "again"')]);
});

test("OpenAIEmbeddings: base64 by default, float when asked; deterministic vectors of the right dims", async () => {
  server = await startOpenAIServer([]);
  const embeddings = new OpenAIEmbeddings({
    model: "text-embedding-3-small",
    apiKey: "test",
    configuration: { baseURL: server.url },
    maxRetries: 0,
  });

  const [a, b, a2] = await embeddings.embedDocuments(["alpha", "beta", "alpha"]);
  expect(a).toHaveLength(16);
  expect(a).toEqual(a2);
  expect(a).not.toEqual(b);
  expect(a).toEqual(fakeEmbedding("alpha"));
  expect(server.embeddingRequests[0]).toMatchObject({ encoding_format: "base64", input: ["alpha", "beta", "alpha"] });

  const floats = new OpenAIEmbeddings({
    model: "text-embedding-3-small",
    apiKey: "test",
    configuration: { baseURL: server.url },
    encodingFormat: "float",
    dimensions: 8,
  });
  const q = await floats.embedQuery("alpha");
  expect(q).toEqual(fakeEmbedding("alpha", 8));
  expect(server.embeddingRequests[1]).toMatchObject({ encoding_format: "float", dimensions: 8 });
});

test("GET /v1/models and unknown routes", async () => {
  server = await startOpenAIServer([]);
  const models = (await (await fetch(`${server.url}/models`)).json()) as { data: { id: string }[] };
  expect(models.data.map((m) => m.id)).toContain("gpt-4o-mini");
  const missing = await fetch(`${server.url}/nope`, { method: "POST", body: "{}" });
  expect(missing.status).toBe(404);
  expect(server.requests).toHaveLength(0);
});
