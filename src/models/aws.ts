import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { bedrockRegion } from "../settings.js";

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
    // Without throwOnRequestTimeout the handler only logs a warning and keeps waiting.
    requestHandler: new NodeHttpHandler({ connectionTimeout: Math.min(timeoutMs, 10_000), requestTimeout: timeoutMs, throwOnRequestTimeout: true }),
  });
}
