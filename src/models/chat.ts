/** `provider:model` -> LangChain chat model, with the paper's temperature and bounded retries. */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { UserError } from "../errors/errors.js";
import { CHAT_PROVIDERS, parseModelSpec } from "./spec.js";
import { bedrockEndpoint, openAIConnection, openAIEndpoint } from "../configuration/settings.js";

export { openAIConnection } from "../configuration/settings.js";
import { fetchWithDeadline } from "./deadline.js";

export interface ChatModelOptions {
  temperature: number;
  timeoutMs: number;
  maxRetries: number;
}

/** Provider SDKs are imported on first use: a run loads only the one it needs. */
export async function createChatModel(spec: string, options: ChatModelOptions): Promise<BaseChatModel> {
  const { provider, name } = parseModelSpec(spec, CHAT_PROVIDERS, "model");
  switch (provider) {
    case "openai": {
      const { apiKey, baseURL } = openAIConnection();
      const { ChatOpenAI, ChatOpenAICompletions } = await import("@langchain/openai");
      /** A body that is not a chat completion (truncated or invalid JSON, no choices) gets a name of its own. */
      class CheckedCompletions extends ChatOpenAICompletions {
        override async _generate(...args: Parameters<InstanceType<typeof ChatOpenAICompletions>["_generate"]>) {
          try {
            return await super._generate(...args);
          } catch (error) {
            // By name: the error may come from another realm (undici's fetch under Jest).
            const name = (error as Error)?.name;
            throw name === "SyntaxError" || name === "TypeError"
              ? new InvalidProviderResponseError(error as Error)
              : error;
          }
        }
      }
      const fields = {
        model: name,
        temperature: options.temperature,
        maxRetries: options.maxRetries,
        timeout: options.timeoutMs,
        apiKey,
        // The SDK's timeout ends at the response headers; this deadline also covers the body.
        configuration: { baseURL, fetch: fetchWithDeadline(options.timeoutMs) },
      };
      // Passed as a field, so the copies bindTools/withConfig make keep it.
      return new ChatOpenAI({ ...fields, completions: new CheckedCompletions(fields) });
    }
    case "bedrock": {
      const [{ ChatBedrockConverse }, { bedrockRegion, createBedrockClient }] = await Promise.all([
        import("@langchain/aws"),
        import("./aws.js"),
      ]);
      const client = createBedrockClient(options);
      // ChatBedrockConverse insists on a region of its own (it reads only AWS_DEFAULT_REGION),
      // even when given a client: pass ours, so AWS_REGION alone is enough.
      return new ChatBedrockConverse({
        model: name,
        temperature: options.temperature,
        region: bedrockRegion(),
        client,
      });
    }
    case "local": {
      // In-process llama.cpp: the native binding loads only when a local model is asked for.
      const { createLocalChatModel } = await import("./local/index.js");
      return createLocalChatModel(name, options);
    }
    default:
      throw new UserError(`unsupported model provider "${provider}"`);
  }
}

/** The provider answered, but not with a usable completion (after the client's retries). */
export class InvalidProviderResponseError extends Error {
  constructor(cause: Error) {
    super(`the model provider sent an invalid response (${cause.message.split("\n")[0]})`, { cause });
    this.name = "InvalidProviderResponseError";
  }
}

const CONNECTION_CODES = ["ECONNREFUSED", "ENOTFOUND", "ECONNRESET", "ETIMEDOUT", "EAI_AGAIN"];

/** The innermost cause's words ("Connection error." <- "fetch failed" <- "bad port"): why a connection failed. */
function deepestMessage(error: unknown): string | undefined {
  let inner = (error as { cause?: unknown }).cause;
  let message: string | undefined;
  for (let depth = 0; inner instanceof Object && depth < 5; depth++, inner = (inner as { cause?: unknown }).cause) {
    const line = String((inner as { message?: unknown }).message ?? "").split("\n")[0]!;
    if (/[a-z]{3}/i.test(line)) message = line;
  }
  return message;
}

/**
 * Turns a provider failure (unreachable, timed out, credentials, unknown model, rate limit,
 * 5xx) into a one-line message a user can act on; returns undefined for any other error.
 */
export function describeProviderError(error: unknown): string | undefined {
  if (error === null || typeof error !== "object") return undefined;
  const e = error as {
    name?: string;
    message?: string;
    status?: number;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    cause?: { code?: string; cause?: { code?: string } };
  };
  // OpenAI errors carry their kind in the class name, AWS SDK errors in `name` (an
  // unmodelled AWS exception is a BedrockRuntimeServiceException named after the error type).
  const names = [e.constructor?.name, e.name];
  const is = (...kinds: string[]) => kinds.some((kind) => names.includes(kind));
  const status = e.status ?? e.$metadata?.httpStatusCode;
  const message = String(e.message ?? "").split("\n")[0] ?? "";
  // The AWS SDK wraps errors it cannot recognise as such ("AWS SDK error wrapper for Error: connect
  // ECONNREFUSED ...", e.g. from another realm), dropping `code`: fall back to the message.
  const code = e.code ?? e.cause?.code ?? e.cause?.cause?.code ?? CONNECTION_CODES.find((c) => message.includes(c));
  // Which SDK raised it says where the request went: AWS errors carry $metadata, OpenAI's are APIError classes.
  const bedrock = e.$metadata !== undefined || message.startsWith("AWS SDK error wrapper");
  const openai =
    !bedrock && (is("APIConnectionError", "APIConnectionTimeoutError") || /^Connection error/.test(message));
  // Before "cannot reach": a request timeout from the AWS SDK also has code ETIMEDOUT.
  if (is("TimeoutError", "APIConnectionTimeoutError") || /\btimed? out\b/i.test(message)) {
    const detail = message.replace(/^@smithy\/\S+ - \[\w+\] /, ""); // the AWS SDK's log-style prefix
    return `the model call timed out (${detail}); raise PERSONA_AGENT_TIMEOUT_MS or check the provider`;
  }
  if (
    is("APIConnectionError") ||
    /^fetch failed|^Connection error/.test(message) ||
    CONNECTION_CODES.includes(code ?? "")
  ) {
    const why = code ?? deepestMessage(error) ?? message;
    const endpoint = bedrock ? bedrockEndpoint() : openai ? openAIEndpoint() : undefined;
    if (!endpoint)
      return `cannot reach the model provider (${why}); check OPENAI_BASE_URL / AWS_REGION and your network`;
    return `cannot reach the model provider at ${endpoint.url} (${why}); check ${endpoint.setting} and your network`;
  }
  if (is("InvalidProviderResponseError"))
    return `${message}; check that OPENAI_BASE_URL points at an OpenAI-compatible server`;
  if (
    status === 401 ||
    is("AuthenticationError", "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException")
  ) {
    return `the model provider rejected the credentials: ${message}`;
  }
  if (status === 403 || is("PermissionDeniedError", "AccessDeniedException")) {
    return `the model provider denied access (check the credentials' permissions and model access): ${message}`;
  }
  if (status === 404 || is("NotFoundError", "ResourceNotFoundException")) {
    return `the model provider does not know this model: ${message}`;
  }
  if (status === 429 || is("RateLimitError", "ThrottlingException")) {
    return `the model provider is rate-limiting requests (retries exhausted): ${message}`;
  }
  if (
    (status !== undefined && status >= 500) ||
    is("InternalServerError", "InternalServerException", "ServiceUnavailableException")
  ) {
    return `the model provider failed${status ? ` with HTTP ${status}` : ""} (retries exhausted): ${message}`;
  }
  return undefined;
}
