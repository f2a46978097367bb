/** createChatModel("openai:...") from the spec string, against the scripted OpenAI server via OPENAI_BASE_URL. */
import { HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { UserError } from "../../src/errors/errors.js";
import { createChatModel, describeProviderError, openAIConnection } from "../../src/models/chat.js";
import { startOpenAIServer, type OpenAITestServer } from "../../testing/openai-server.js";
import { lastUserText, respondWith, systemText, toolCall, toolResults } from "../../testing/scripted-chat.js";
import { hangingResponder, isolateEnv, PROVIDER_ENV } from "./helpers.js";

isolateEnv(PROVIDER_ENV);

const weather = tool(async ({ city }) => `Sunny in ${city}`, {
  name: "get_weather",
  description: "Current weather for a city",
  schema: z.object({ city: z.string() }),
});

const options = { temperature: 0.1, timeoutMs: 5000, maxRetries: 0 };
const retryNow = { "retry-after": "0" };

const releases: (() => void)[] = [];
let server: OpenAITestServer | undefined;
afterEach(async () => {
  releases.splice(0).forEach((release) => release());
  await server?.close();
  server = undefined;
});

async function serve(script: Parameters<typeof startOpenAIServer>[0]): Promise<OpenAITestServer> {
  server = await startOpenAIServer(script);
  process.env.OPENAI_BASE_URL = server.url;
  return server;
}

test("plain answer; model name and temperature 0.1 arrive in the request body", async () => {
  const s = await serve([{ content: "Hello there!" }]);
  const model = await createChatModel("openai:test", options);
  const res = await model.invoke([new SystemMessage("Be terse."), new HumanMessage("Hi")]);

  expect(res.content).toBe("Hello there!");
  expect(s.requests).toHaveLength(1);
  const req = s.requests[0]!;
  expect(req.model).toBe("test");
  expect(req.body.temperature).toBe(0.1);
  expect(req.stream).toBe(false);
  expect(systemText(req)).toBe("Be terse.");
  expect(lastUserText(req)).toBe("Hi");
});

test("bindTools round trip: tool call parsed, ToolMessage sent back, final answer", async () => {
  const s = await serve(
    respondWith((req) =>
      toolResults(req).length === 0
        ? toolCall("get_weather", { city: "Paris" }, "call_1")
        : `It is ${toolResults(req)[0]!.content}.`,
    ),
  );
  const model = (await createChatModel("openai:test", options)).bindTools!([weather]);
  const question = new HumanMessage("Weather in Paris?");

  const first = await model.invoke([question]);
  expect(first.tool_calls).toEqual([{ name: "get_weather", args: { city: "Paris" }, id: "call_1", type: "tool_call" }]);
  expect(s.requests[0]!.tools?.[0]).toMatchObject({ type: "function", function: { name: "get_weather" } });

  const toolMsg = await weather.invoke(first.tool_calls![0]!);
  expect(toolMsg).toBeInstanceOf(ToolMessage);
  const second = await model.invoke([question, first, toolMsg]);
  expect(second.content).toBe("It is Sunny in Paris.");
  expect(second.tool_calls).toEqual([]);
  expect(s.requests[1]!.messages[2]).toMatchObject({ role: "tool", tool_call_id: "call_1", content: "Sunny in Paris" });
  expect(s.requests[1]!.body.temperature).toBe(0.1);
});

test("no key is needed when OPENAI_BASE_URL is set; an explicit key is still used", async () => {
  const s = await serve([{ content: "keyless" }]);
  expect(openAIConnection()).toEqual({ apiKey: "not-needed", baseURL: s.url });
  expect((await (await createChatModel("openai:test", options)).invoke("hi")).content).toBe("keyless");

  process.env.OPENAI_API_KEY = "sk-test";
  expect(openAIConnection()).toEqual({ apiKey: "sk-test", baseURL: s.url });
  delete process.env.OPENAI_BASE_URL;
  expect(openAIConnection()).toEqual({ apiKey: "sk-test", baseURL: undefined });
});

test("missing both OPENAI_API_KEY and OPENAI_BASE_URL is a UserError", async () => {
  const message = "OPENAI_API_KEY is not set (or set OPENAI_BASE_URL to an OpenAI-compatible server)";
  expect(() => openAIConnection()).toThrow(message);
  process.env.OPENAI_BASE_URL = ""; // empty counts as unset
  const attempt = createChatModel("openai:gpt-4o-mini", options);
  await expect(attempt).rejects.toBeInstanceOf(UserError);
  await expect(attempt).rejects.toThrow(message);
});

test("maxRetries bounds retries: a 500 then a 429 with maxRetries=1 is exactly 2 requests", async () => {
  const s = await serve([
    { status: 500, headers: retryNow },
    {
      status: 429,
      headers: retryNow,
      body: { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } },
    },
    { content: "a third attempt would have succeeded" },
  ]);
  const model = await createChatModel("openai:test", { ...options, maxRetries: 1 });
  const error = await model.invoke("hi").then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeDefined();
  expect(s.requests).toHaveLength(2);
  expect(describeProviderError(error)).toBe(
    "the model provider is rate-limiting requests (retries exhausted): 429 Rate limit reached",
  );
});

test("maxRetries=0 sends exactly one request", async () => {
  const s = await serve([{ status: 500, headers: retryNow }, { content: "a retry would have succeeded" }]);
  const model = await createChatModel("openai:test", options);
  await expect(model.invoke("hi")).rejects.toThrow(/500/);
  expect(s.requests).toHaveLength(1);
});

test("timeoutMs bounds a hung server, and the error maps to a one-line provider message", async () => {
  const hung = hangingResponder();
  releases.push(hung.release);
  const s = await serve(hung.responder);
  const model = await createChatModel("openai:test", { ...options, timeoutMs: 300 });
  const started = Date.now();
  const error = await model.invoke("hi").then(
    () => undefined,
    (e: unknown) => e,
  );
  const elapsed = Date.now() - started;
  expect(error).toBeDefined();
  expect(elapsed).toBeGreaterThanOrEqual(250);
  expect(elapsed).toBeLessThan(300 + 1000);
  expect(s.requests).toHaveLength(1);
  // In plain Node the OpenAI SDK reports an APIConnectionTimeoutError ("Request timed out.");
  // under Jest's VM realm its abort check misses and it reports "Connection error." instead.
  const message = describeProviderError(error);
  expect(message).toMatch(
    /^(the model call timed out \(.+\); raise PERSONA_AGENT_TIMEOUT_MS|cannot reach the model provider at http:\/\/127\.0\.0\.1:\d+\/v1 \(.+\); check OPENAI_BASE_URL)/,
  );
  expect(message).not.toContain("\n");
});
