/**
 * createChatModel("bedrock:...") from the spec string, against the scripted Bedrock server. The
 * production client (createBedrockClient) finds the server through the AWS SDK's standard
 * AWS_ENDPOINT_URL_BEDROCK_RUNTIME / AWS_ENDPOINT_URL variables over plain http.
 */
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { UserError } from "../../src/errors/errors.js";
import { createChatModel, describeProviderError } from "../../src/models/chat.js";
import { startBedrockServer, type BedrockTestServer } from "../support/bedrock-server.js";
import { lastUserText, respondWith, systemText, toolCall, toolResults } from "../../testing/scripted-chat.js";
import { hangingResponder, isolateEnv, PROVIDER_ENV, useFakeAwsCredentials } from "./helpers.js";

isolateEnv(PROVIDER_ENV);
beforeEach(() => useFakeAwsCredentials());

const MODEL_ID = "anthropic.claude-3-5-sonnet-20240620-v1:0";
const SPEC = `bedrock:${MODEL_ID}`;
const options = { temperature: 0.1, timeoutMs: 5000, maxRetries: 0 };

const weather = tool(async ({ city }) => `Sunny in ${city}`, {
  name: "get_weather",
  description: "Current weather for a city",
  schema: z.object({ city: z.string() }),
});

const releases: (() => void)[] = [];
let server: BedrockTestServer | undefined;
afterEach(async () => {
  releases.splice(0).forEach((release) => release());
  await server?.close();
  server = undefined;
});

async function serve(
  script: Parameters<typeof startBedrockServer>[0],
  endpointVar = "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
): Promise<BedrockTestServer> {
  server = await startBedrockServer(script);
  process.env[endpointVar] = server.url;
  return server;
}

test("plain answer via AWS_ENDPOINT_URL_BEDROCK_RUNTIME; the model id (with colons) and temperature arrive", async () => {
  const s = await serve([{ content: "Bonjour!" }]);
  const model = await createChatModel(SPEC, options);
  const res = await model.invoke([new SystemMessage("Answer in French."), new HumanMessage("Hello")]);

  expect(res.content).toBe("Bonjour!");
  expect(s.requests).toHaveLength(1);
  const req = s.requests[0]!;
  expect(req.modelId).toBe(MODEL_ID);
  expect(req.stream).toBe(false);
  expect(req.body.inferenceConfig).toMatchObject({ temperature: 0.1 });
  expect(systemText(req)).toBe("Answer in French.");
  expect(lastUserText(req)).toBe("Hello");
});

test("the generic AWS_ENDPOINT_URL works too, and AWS_DEFAULT_REGION stands in for AWS_REGION", async () => {
  const s = await serve([{ content: "generic endpoint" }], "AWS_ENDPOINT_URL");
  delete process.env.AWS_REGION;
  process.env.AWS_DEFAULT_REGION = "eu-west-3";
  const res = await (await createChatModel(SPEC, options)).invoke("hi");
  expect(res.content).toBe("generic endpoint");
  expect(s.requests).toHaveLength(1);
});

test("bindTools round trip: toolUse parsed, toolResult sent back, final answer", async () => {
  const s = await serve(
    respondWith((req) =>
      toolResults(req).length === 0
        ? toolCall("get_weather", { city: "Lyon" }, "tooluse_1")
        : `Done: ${toolResults(req)[0]!.content}`,
    ),
  );
  const model = (await createChatModel(SPEC, options)).bindTools!([weather]);
  const question = new HumanMessage("Weather in Lyon?");

  const first = await model.invoke([question]);
  expect(first.tool_calls).toEqual([
    { name: "get_weather", args: { city: "Lyon" }, id: "tooluse_1", type: "tool_call" },
  ]);
  expect(s.requests[0]!.toolConfig.tools[0].toolSpec).toMatchObject({ name: "get_weather" });

  const toolMsg = await weather.invoke(first.tool_calls![0]!);
  const second = await model.invoke([question, first, toolMsg]);
  expect(second.content).toBe("Done: Sunny in Lyon");
  expect(s.requests[1]!.messages[2]).toMatchObject({
    role: "user",
    content: [{ toolResult: { toolUseId: "tooluse_1", content: [{ text: "Sunny in Lyon" }] } }],
  });
});

test("a missing region is a UserError", async () => {
  delete process.env.AWS_REGION;
  const attempt = createChatModel(SPEC, options);
  await expect(attempt).rejects.toBeInstanceOf(UserError);
  await expect(attempt).rejects.toThrow(
    "AWS_REGION is not set: Bedrock models need a region (e.g. AWS_REGION=us-east-1)",
  );
});

test("maxRetries bounds SDK attempts: two 500s with maxRetries=1 is exactly 2 requests", async () => {
  const s = await serve([
    { status: 500 },
    { status: 500, body: { message: "still broken" } },
    { content: "a third attempt would have succeeded" },
  ]);
  const error = await (await createChatModel(SPEC, { ...options, maxRetries: 1 })).invoke("hi").then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ name: "InternalServerException", message: "still broken" });
  expect(s.requests).toHaveLength(2);
  expect(describeProviderError(error)).toBe(
    "the model provider failed with HTTP 500 (retries exhausted): still broken",
  );
});

test("maxRetries=1 recovers from one 500", async () => {
  const s = await serve([{ status: 500 }, { content: "recovered" }]);
  expect((await (await createChatModel(SPEC, { ...options, maxRetries: 1 })).invoke("hi")).content).toBe("recovered");
  expect(s.requests).toHaveLength(2);
});

test("timeoutMs bounds a hung server (the handler throws instead of only warning)", async () => {
  const hung = hangingResponder();
  releases.push(hung.release);
  const s = await serve(hung.responder);
  const model = await createChatModel(SPEC, { ...options, timeoutMs: 300 });
  const started = Date.now();
  const error = await model.invoke("hi").then(
    () => undefined,
    (e: unknown) => e,
  );
  const elapsed = Date.now() - started;
  expect(error).toMatchObject({ name: "TimeoutError" });
  expect(elapsed).toBeGreaterThanOrEqual(250);
  expect(elapsed).toBeLessThan(300 + 1000);
  expect(s.requests).toHaveLength(1);
  expect(describeProviderError(error)).toBe(
    "the model call timed out (a request has exceeded the configured 300 ms requestTimeout.); raise PERSONA_AGENT_TIMEOUT_MS or check the provider",
  );
});
