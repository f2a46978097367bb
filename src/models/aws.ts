import type { Readable } from "node:stream";
import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler, type NodeHttpHandlerOptions } from "@smithy/node-http-handler";
import type { HttpHandlerOptions } from "@smithy/types";
import { bedrockRegion } from "../configuration/settings.js";
import { deadlineError, startDeadline } from "./deadline.js";

export { bedrockRegion } from "../configuration/settings.js";

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
    requestHandler: new DeadlineHttpHandler(timeoutMs, {
      connectionTimeout: Math.min(timeoutMs, 10_000),
      requestTimeout: timeoutMs,
      throwOnRequestTimeout: true,
    }),
  });
}

/**
 * The AWS SDK's Node handler with the same deadline: its requestTimeout (the same duration)
 * ends the wait for the headers, then the handler clears its timers and hands the body over, so
 * here the body stream is destroyed when what is left of the deadline has passed.
 */
class DeadlineHttpHandler extends NodeHttpHandler {
  constructor(
    private readonly timeoutMs: number,
    options: NodeHttpHandlerOptions,
  ) {
    super(options);
  }

  override async handle(request: Parameters<NodeHttpHandler["handle"]>[0], options: HttpHandlerOptions = {}) {
    const started = Date.now();
    const out = await super.handle(request, options);
    const body = out.response.body as Readable | undefined;
    if (body && typeof body.destroy === "function") {
      const deadline = startDeadline(Math.max(0, this.timeoutMs - (Date.now() - started)));
      const expire = () => body.destroy(deadlineError(this.timeoutMs));
      deadline.signal.addEventListener("abort", expire, { once: true });
      body.once("close", () => {
        deadline.clear();
        deadline.signal.removeEventListener("abort", expire);
      });
    }
    return out;
  }
}
