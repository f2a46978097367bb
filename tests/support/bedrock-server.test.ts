/** Drives the real ChatBedrockConverse / BedrockEmbeddings against the scripted Bedrock server. */
import { BedrockRuntimeClient, ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
import { BedrockEmbeddings, ChatBedrockConverse } from "@langchain/aws";
import { AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { z } from "zod";
import { startBedrockServer, TOOL_CONFIG_REQUIRED, type BedrockTestServer } from "./bedrock-server.js";
import { fakeEmbedding } from "../../testing/openai-server.js";
import { lastUserText, respondWith, systemText, toolCall, toolResults } from "../../testing/scripted-chat.js";

process.env.AWS_EC2_METADATA_DISABLED = "true";

const MODEL = "anthropic.claude-3-haiku-20240307-v1:0";
const credentials = { accessKeyId: "test", secretAccessKey: "test" };

const weather = tool(async ({ city }) => `Sunny in ${city}`, {
  name: "get_weather",
  description: "Current weather for a city",
  schema: z.object({ city: z.string() }),
});

function client(server: BedrockTestServer) {
  return new BedrockRuntimeClient({
    region: "us-east-1",
    endpoint: server.url,
    credentials,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler(),
  });
}
function chatModel(server: BedrockTestServer, streaming = false) {
  return new ChatBedrockConverse({ model: MODEL, region: "us-east-1", credentials, client: client(server), streaming });
}

let server: BedrockTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

test("Converse: plain answer, with the request recorded", async () => {
  server = await startBedrockServer([{ content: "Bonjour!" }]);
  const res = await chatModel(server).invoke([new SystemMessage("Answer in French."), new HumanMessage("Hello")]);

  expect(res.content).toBe("Bonjour!");
  expect(res.usage_metadata?.output_tokens).toBeGreaterThan(0);
  expect(server.requests).toHaveLength(1);
  const req = server.requests[0]!;
  expect(req.modelId).toBe(MODEL); // ":" arrives URL-encoded and is decoded
  expect(req.stream).toBe(false);
  expect(systemText(req)).toBe("Answer in French.");
  expect(lastUserText(req)).toBe("Hello");
});

test("Converse: tool call round trip", async () => {
  server = await startBedrockServer(
    respondWith((req) =>
      toolResults(req).length === 0
        ? toolCall("get_weather", { city: "Lyon" }, "tooluse_1")
        : `Done: ${toolResults(req)[0]!.content}`,
    ),
  );
  const model = chatModel(server).bindTools([weather]);
  const question = new HumanMessage("Weather in Lyon?");

  const first = await model.invoke([question]);
  expect(first.tool_calls).toEqual([
    { name: "get_weather", args: { city: "Lyon" }, id: "tooluse_1", type: "tool_call" },
  ]);
  expect(server.requests[0]!.toolConfig.tools[0].toolSpec).toMatchObject({
    name: "get_weather",
    inputSchema: { json: { type: "object", properties: { city: { type: "string" } } } },
  });

  const toolMsg = await weather.invoke(first.tool_calls![0]!);
  const second = await model.invoke([question, first, toolMsg]);
  expect(second.content).toBe("Done: Sunny in Lyon");

  const sent = server.requests[1]!.messages;
  expect(sent[1]).toMatchObject({
    role: "assistant",
    content: [{ toolUse: { toolUseId: "tooluse_1", name: "get_weather", input: { city: "Lyon" } } }],
  });
  expect(sent[2]).toMatchObject({
    role: "user",
    content: [{ toolResult: { toolUseId: "tooluse_1", content: [{ text: "Sunny in Lyon" }] } }],
  });
});

test("ConverseStream: text and tool calls over the AWS event stream", async () => {
  server = await startBedrockServer([
    { content: "one two three" },
    toolCall("get_weather", { city: "Nice" }, "tooluse_s"),
  ]);
  const model = chatModel(server, true);

  const pieces: string[] = [];
  let full: AIMessageChunk | undefined;
  for await (const chunk of await model.stream("count")) {
    if (typeof chunk.content === "string" && chunk.content !== "") pieces.push(chunk.content);
    full = full ? full.concat(chunk) : chunk;
  }
  expect(pieces.join("")).toBe("one two three");
  expect(pieces.length).toBeGreaterThan(1);
  expect(server.requests[0]!.stream).toBe(true);

  let toolFull: AIMessageChunk | undefined;
  for await (const chunk of await model.bindTools([weather]).stream("weather?"))
    toolFull = toolFull ? toolFull.concat(chunk) : chunk;
  expect(toolFull?.tool_calls).toEqual([
    { name: "get_weather", args: { city: "Nice" }, id: "tooluse_s", type: "tool_call" },
  ]);
});

test("scripted errors and an exhausted script surface as failures", async () => {
  server = await startBedrockServer([{ status: 429, body: { message: "Too many requests" } }]);
  const model = chatModel(server);
  await expect(model.invoke("hi")).rejects.toMatchObject({ name: "ThrottlingException", message: "Too many requests" });
  await expect(model.invoke("again")).rejects.toThrow(/script exhausted/);
  expect(server.requests).toHaveLength(2); // maxAttempts: 1, so no SDK retries
  expect(server.failures).toEqual([expect.stringContaining('last user text: "again"')]);
});

test("BedrockEmbeddings (Titan invoke): deterministic vectors of the right dims", async () => {
  server = await startBedrockServer([]);
  const embeddings = new BedrockEmbeddings({
    model: "amazon.titan-embed-text-v2:0",
    client: client(server),
    dimensions: 8,
  });

  const [a, b, a2] = await embeddings.embedDocuments(["alpha", "beta", "alpha"]);
  expect(a).toHaveLength(8);
  expect(a).toEqual(a2);
  expect(a).not.toEqual(b);
  expect(a).toEqual(fakeEmbedding("alpha", 8));
  expect(server.embeddingRequests[0]).toEqual({
    modelId: "amazon.titan-embed-text-v2:0",
    body: { inputText: "alpha", dimensions: 8 },
  });

  const defaults = new BedrockEmbeddings({ model: "amazon.titan-embed-text-v1", client: client(server) });
  expect(await defaults.embedQuery("alpha")).toEqual(fakeEmbedding("alpha", 16));
});

test("Converse: toolUse/toolResult blocks without a toolConfig are a 400 ValidationException, as on Bedrock", async () => {
  server = await startBedrockServer([{ content: "never sent" }]);
  const question = new HumanMessage("Weather in Lyon?");
  const call = new AIMessage({
    content: "",
    tool_calls: [{ id: "tooluse_1", name: "get_weather", args: { city: "Lyon" } }],
  });
  const result = new ToolMessage({ tool_call_id: "tooluse_1", content: "Sunny in Lyon" });
  // ChatBedrockConverse sends no toolConfig when no tools are bound.
  await expect(chatModel(server).invoke([question, call, result])).rejects.toMatchObject({
    name: "ValidationException",
    message: TOOL_CONFIG_REQUIRED,
  });
  const raw = await client(server)
    .send(
      new ConverseCommand({
        modelId: MODEL,
        messages: [{ role: "user", content: [{ toolResult: { toolUseId: "t", content: [{ text: "x" }] } }] }],
      }),
    )
    .catch((error: unknown) => error);
  expect(raw).toMatchObject({ name: "ValidationException", $metadata: { httpStatusCode: 400 } });
  // With the tools bound, the same history is accepted.
  expect((await chatModel(server).bindTools([weather]).invoke([question, call, result])).content).toBe("never sent");
});
