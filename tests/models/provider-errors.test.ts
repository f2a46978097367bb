/** describeProviderError on failures produced by the real clients (built by the production factories). */
import { UserError } from "../../src/errors/errors.js";
import { createChatModel, describeProviderError } from "../../src/models/chat.js";
import { startBedrockServer } from "../support/bedrock-server.js";
import { startOpenAIServer } from "../../testing/openai-server.js";
import type { ScriptedReply } from "../../testing/scripted-chat.js";
import { closedPortUrl, isolateEnv, PROVIDER_ENV, useFakeAwsCredentials } from "./helpers.js";

isolateEnv(PROVIDER_ENV);

const options = { temperature: 0.1, timeoutMs: 3000, maxRetries: 0 };

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** The error a real model call rejects with (the test fails if it resolves). */
async function failure(spec: string): Promise<unknown> {
  const model = await createChatModel(spec, options);
  return model.invoke("hi").then(
    (res) => {
      throw new Error(`expected a failure, got ${JSON.stringify(res.content)}`);
    },
    (e: unknown) => e,
  );
}

async function openAIFailure(reply: ScriptedReply): Promise<unknown> {
  const server = await startOpenAIServer([reply]);
  close = server.close;
  process.env.OPENAI_BASE_URL = server.url;
  return failure("openai:gpt-4o-mini");
}

async function bedrockFailure(reply: ScriptedReply): Promise<unknown> {
  const server = await startBedrockServer([reply]);
  close = server.close;
  useFakeAwsCredentials();
  process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = server.url;
  return failure("bedrock:anthropic.claude-3-haiku-20240307-v1:0");
}

const oneLine = (message: string | undefined) => {
  expect(message).toBeDefined();
  expect(message).not.toContain("\n");
  return message;
};

describe("connection refused (a freshly closed port on 127.0.0.1)", () => {
  test("OpenAI: names the URL it could not reach and the variable that sets it", async () => {
    process.env.OPENAI_BASE_URL = `${await closedPortUrl()}/v1`;
    expect(oneLine(describeProviderError(await failure("openai:gpt-4o-mini")))).toBe(
      `cannot reach the model provider at ${process.env.OPENAI_BASE_URL} (ECONNREFUSED); check OPENAI_BASE_URL and your network`,
    );
  });

  test("Bedrock: names the endpoint it could not reach and the variable that sets it", async () => {
    useFakeAwsCredentials();
    process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = await closedPortUrl();
    expect(oneLine(describeProviderError(await failure("bedrock:anthropic.claude-3-haiku-20240307-v1:0")))).toBe(
      `cannot reach the model provider at ${process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME} (ECONNREFUSED); check AWS_ENDPOINT_URL_BEDROCK_RUNTIME and your network`,
    );
  });
});

describe("OpenAI HTTP errors", () => {
  const body = (message: string) => ({ error: { message, type: "test", param: null, code: null } });

  test("401 -> rejected credentials", async () => {
    const error = await openAIFailure({ status: 401, body: body("Incorrect API key provided") });
    expect(oneLine(describeProviderError(error))).toBe(
      "the model provider rejected the credentials: 401 Incorrect API key provided",
    );
  });

  test("403 -> denied access", async () => {
    const error = await openAIFailure({ status: 403, body: body("Project does not have access") });
    expect(describeProviderError(error)).toMatch(
      /^the model provider denied access .*: 403 Project does not have access$/,
    );
  });

  test("404 -> unknown model", async () => {
    const error = await openAIFailure({ status: 404, body: body("The model `gpt-4o-mini` does not exist") });
    expect(oneLine(describeProviderError(error))).toBe(
      "the model provider does not know this model: 404 The model `gpt-4o-mini` does not exist",
    );
  });

  test("429 -> rate limited", async () => {
    const error = await openAIFailure({ status: 429, body: body("Rate limit reached") });
    expect(oneLine(describeProviderError(error))).toBe(
      "the model provider is rate-limiting requests (retries exhausted): 429 Rate limit reached",
    );
  });
});

describe("Bedrock HTTP errors", () => {
  test("403 UnrecognizedClientException -> rejected credentials", async () => {
    const error = await bedrockFailure({
      status: 403,
      body: { message: "The security token included in the request is invalid." },
      headers: { "x-amzn-errortype": "UnrecognizedClientException" },
    });
    expect(error).toMatchObject({ name: "UnrecognizedClientException" });
    expect(oneLine(describeProviderError(error))).toBe(
      "the model provider rejected the credentials: The security token included in the request is invalid.",
    );
  });

  test("403 AccessDeniedException -> denied access", async () => {
    const error = await bedrockFailure({ status: 403, body: { message: "You don't have access to the model" } });
    expect(error).toMatchObject({ name: "AccessDeniedException" });
    expect(describeProviderError(error)).toMatch(
      /^the model provider denied access .*: You don't have access to the model$/,
    );
  });

  test("404 ResourceNotFoundException -> unknown model", async () => {
    const error = await bedrockFailure({ status: 404, body: { message: "Model not found" } });
    expect(oneLine(describeProviderError(error))).toBe("the model provider does not know this model: Model not found");
  });

  test("429 ThrottlingException -> rate limited", async () => {
    const error = await bedrockFailure({ status: 429, body: { message: "Too many requests" } });
    expect(oneLine(describeProviderError(error))).toBe(
      "the model provider is rate-limiting requests (retries exhausted): Too many requests",
    );
  });
});

test("the OpenAI timeout shape seen outside Jest (LangChain-wrapped APIConnectionTimeoutError) maps to 'timed out'", () => {
  const wrapped = Object.assign(new Error("Request timed out."), { name: "TimeoutError" });
  expect(describeProviderError(wrapped)).toBe(
    "the model call timed out (Request timed out.); raise PERSONA_AGENT_TIMEOUT_MS or check the provider",
  );
});

test("a connect-level ETIMEDOUT is 'cannot reach', not a request timeout", () => {
  const error = Object.assign(new Error("connect ETIMEDOUT 10.0.0.1:443"), { code: "ETIMEDOUT" });
  expect(describeProviderError(error)).toBe(
    "cannot reach the model provider (ETIMEDOUT); check OPENAI_BASE_URL / AWS_REGION and your network",
  );
});

test.each([
  ["a plain Error", new Error("boom")],
  ["a TypeError", new TypeError("Cannot read properties of undefined (reading 'x')")],
  ["a UserError", new UserError("unknown user")],
  ["a 400 validation error", Object.assign(new Error("bad request"), { status: 400 })],
  ["a string", "failed"],
  ["null", null],
  ["undefined", undefined],
])("unrelated errors give undefined: %s", (_, error) => {
  expect(describeProviderError(error)).toBeUndefined();
});
