import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { UserError } from "../errors.js";

/**
 * One Bedrock runtime client with bounded attempts and timeouts. LangChain's Bedrock classes
 * ignore `clientOptions.endpoint` in places and retry for minutes by default, so we build
 * the client ourselves. The SDK still honours AWS_ENDPOINT_URL_BEDROCK_RUNTIME and the
 * usual credential chain.
 */
export function createBedrockClient({ timeoutMs, maxRetries }: { timeoutMs: number; maxRetries: number }) {
  const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
  if (!region) throw new UserError("AWS_REGION is not set: Bedrock models need a region (e.g. AWS_REGION=us-east-1)");
  return new BedrockRuntimeClient({
    region,
    maxAttempts: maxRetries + 1,
    requestHandler: new NodeHttpHandler({ connectionTimeout: Math.min(timeoutMs, 10_000), requestTimeout: timeoutMs }),
  });
}
