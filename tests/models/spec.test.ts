/** `provider:name` parsing, directly and through the production factories. */
import { UserError } from "../../src/errors/errors.js";
import { createChatModel } from "../../src/models/chat.js";
import { createEmbeddings } from "../../src/models/embeddings.js";
import { CHAT_PROVIDERS, EMBEDDING_PROVIDERS, parseModelSpec } from "../../src/models/spec.js";
import { isolateEnv, PROVIDER_ENV } from "./helpers.js";

isolateEnv(PROVIDER_ENV);

const options = { temperature: 0.1, timeoutMs: 1000, maxRetries: 0 };
const chatHint = "expected provider:name with provider one of openai, bedrock, local (e.g. openai:...)";
const embeddingsHint = "expected provider:name with provider one of local, openai, bedrock (e.g. local:...)";

test("valid specs split at the first colon; Bedrock ids keep theirs", () => {
  expect(parseModelSpec("openai:gpt-4o-mini", CHAT_PROVIDERS, "model")).toEqual({
    provider: "openai",
    name: "gpt-4o-mini",
  });
  expect(parseModelSpec("bedrock:anthropic.claude-3-5-sonnet-20240620-v1:0", CHAT_PROVIDERS, "model")).toEqual({
    provider: "bedrock",
    name: "anthropic.claude-3-5-sonnet-20240620-v1:0",
  });
  expect(parseModelSpec("bedrock:amazon.titan-embed-text-v2:0", EMBEDDING_PROVIDERS, "embeddings")).toEqual({
    provider: "bedrock",
    name: "amazon.titan-embed-text-v2:0",
  });
  expect(parseModelSpec("local:universal-sentence-encoder", EMBEDDING_PROVIDERS, "embeddings").provider).toBe("local");
  expect(parseModelSpec("openai: gpt-4o ", CHAT_PROVIDERS, "model").name).toBe("gpt-4o"); // the name is trimmed
  // local: chat models are GGUF paths or hf: URIs, which keep their own colons.
  expect(parseModelSpec("local:hf:Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M", CHAT_PROVIDERS, "model")).toEqual({
    provider: "local",
    name: "hf:Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M",
  });
});

test.each([
  ["gpt-4o-mini", "no provider"],
  [":gpt-4o-mini", "empty provider"],
  ["azure:gpt-4o", "unknown provider"],
  ["OpenAI:gpt-4o", "provider names are case-sensitive"],
  ["openai:", "empty name"],
  ["openai:   ", "blank name"],
  ["", "empty spec"],
])("invalid model spec %j (%s) is a UserError", (spec) => {
  const attempt = () => parseModelSpec(spec, CHAT_PROVIDERS, "model");
  expect(attempt).toThrow(UserError);
  expect(attempt).toThrow(`invalid model "${spec}": ${chatHint}`);
});

test("the factories reject bad specs with the same UserError, before touching any provider", async () => {
  await expect(createChatModel("gpt-4o-mini", options)).rejects.toThrow(
    new UserError(`invalid model "gpt-4o-mini": ${chatHint}`),
  );
  await expect(createChatModel("anthropic:claude", options)).rejects.toBeInstanceOf(UserError);
  await expect(createChatModel("bedrock:", options)).rejects.toThrow(`invalid model "bedrock:": ${chatHint}`);
  await expect(createEmbeddings("cohere:embed-v3", options)).rejects.toThrow(
    new UserError(`invalid embeddings "cohere:embed-v3": ${embeddingsHint}`),
  );
  await expect(createEmbeddings("universal-sentence-encoder", options)).rejects.toBeInstanceOf(UserError);
});
