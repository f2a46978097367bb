import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { bedrockRegion } from "../settings.js";
import { DeadlineHttpHandler } from "./deadline.js";

export { bedrockRegion } from "../settings.js";

/**
 * One Bedrock runtime client with bounded attempts and timeouts. LangChain's Bedrock classes
 * ignore `clientOptions.endpoint` in places and retry for minutes by default, so we build
 * the client ourselves. The SDK still honours AWS_ENDPOINT_URL_BEDROCK_RUNTIME (and
 * AWS_ENDPOINT_URL) and the usual credential chain; plain http:// endpoints work.
 */
export function createBedrockClient({ timeoutMs, maxRetries }: { timeoutMs: number; maxRetries: number }) {
  const region = bedrockRegion();
  return new BedrockRuntimeClient({
    region,
    maxAttempts: maxRetries + 1,
    // Without throwOnRequestTimeout the handler only logs a warning and keeps waiting; the
    // deadline handler also bounds the body, which requestTimeout stops watching at the headers.
    requestHandler: new DeadlineHttpHandler(timeoutMs, { connectionTimeout: Math.min(timeoutMs, 10_000), requestTimeout: timeoutMs, throwOnRequestTimeout: true }),
  });
}
