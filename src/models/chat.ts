/** `provider:model` -> LangChain chat model, with the paper's temperature and bounded retries. */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { UserError } from "../errors.js";
import { CHAT_PROVIDERS, parseModelSpec } from "./spec.js";

export interface ChatModelOptions {
  temperature: number;
  timeoutMs: number;
  maxRetries: number;
}

/** OpenAI-compatible servers (vLLM, Ollama, llama.cpp) need no key; api.openai.com does. */
export function openAIConnection(): { apiKey: string; baseURL?: string } {
  const baseURL = process.env.OPENAI_BASE_URL || undefined;
  const apiKey = process.env.OPENAI_API_KEY || (baseURL ? "not-needed" : undefined);
  if (!apiKey) {
    throw new UserError("OPENAI_API_KEY is not set (or set OPENAI_BASE_URL to an OpenAI-compatible server)");
  }
  return { apiKey, baseURL };
}

/** Provider SDKs are imported on first use: a run loads only the one it needs. */
export async function createChatModel(spec: string, options: ChatModelOptions): Promise<BaseChatModel> {
  const { provider, name } = parseModelSpec(spec, CHAT_PROVIDERS, "model");
  switch (provider) {
    case "openai": {
      const { apiKey, baseURL } = openAIConnection();
      const { ChatOpenAI } = await import("@langchain/openai");
      return new ChatOpenAI({
        model: name,
        temperature: options.temperature,
        maxRetries: options.maxRetries,
        timeout: options.timeoutMs,
        apiKey,
        configuration: { baseURL },
      });
    }
    case "bedrock": {
      const [{ ChatBedrockConverse }, { createBedrockClient }] = await Promise.all([import("@langchain/aws"), import("./aws.js")]);
      return new ChatBedrockConverse({
        model: name,
        temperature: options.temperature,
        client: createBedrockClient(options),
      });
    }
    default:
      throw new UserError(`unsupported model provider "${provider}"`);
  }
}

/**
 * Turns a provider failure into a one-line message a user can act on; returns undefined
 * for errors that are not about reaching or authenticating with a provider.
 */
export function describeProviderError(error: unknown): string | undefined {
  const e = error as { name?: string; message?: string; status?: number; code?: string; cause?: { code?: string; cause?: { code?: string } } };
  const code = e?.code ?? e?.cause?.code ?? e?.cause?.cause?.code;
  const name = e?.constructor?.name !== "Error" ? e?.constructor?.name : e?.name;
  const message = String(e?.message ?? "").split("\n")[0] ?? "";
  if (name === "APIConnectionError" || name === "APIConnectionTimeoutError" || /^fetch failed|^Connection error/.test(message) || ["ECONNREFUSED", "ENOTFOUND", "ECONNRESET", "ETIMEDOUT"].includes(code ?? "")) {
    return `cannot reach the model provider (${code ?? message}); check OPENAI_BASE_URL / AWS_REGION and your network`;
  }
  if (e?.status === 401 || name === "AuthenticationError" || name === "UnrecognizedClientException") {
    return `the model provider rejected the credentials: ${message}`;
  }
  if (e?.status === 404 || name === "NotFoundError" || name === "ResourceNotFoundException") {
    return `the model provider does not know this model: ${message}`;
  }
  if (e?.status === 429 || name === "RateLimitError" || name === "ThrottlingException") {
    return `the model provider is rate-limiting requests (retries exhausted): ${message}`;
  }
  if (name === "TimeoutError" || /timed? ?out/i.test(message)) {
    return `the model call timed out: ${message}`;
  }
  return undefined;
}
