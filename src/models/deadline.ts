/**
 * One deadline per provider request that covers the whole exchange, body included. The SDKs'
 * own timeouts end when the response headers arrive, so a provider that sends headers and then
 * stalls the body would hold a command forever; these wrappers abort the request (and the body
 * read) once `timeoutMs` has passed since it started. Each retry is a new request with a new
 * deadline, as with the SDKs' timeouts.
 */
import type { Readable } from "node:stream";
import { NodeHttpHandler, type NodeHttpHandlerOptions } from "@smithy/node-http-handler";
import type { HttpHandlerOptions } from "@smithy/types";

/** Named TimeoutError, as the SDKs name theirs, so retries and describeProviderError treat it alike. */
export function deadlineError(timeoutMs: number): Error {
  return Object.assign(new Error(`request timed out: no complete response within ${timeoutMs} ms`), { name: "TimeoutError", code: "ETIMEDOUT" });
}

/** A timer that aborts `controller` with a deadline error; unref'd, so it never keeps a CLI process alive. */
function startDeadline(timeoutMs: number) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(deadlineError(timeoutMs)), timeoutMs);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/** `fetch` (for the OpenAI SDK) whose requests, body read included, end within `timeoutMs`. */
export function fetchWithDeadline(timeoutMs: number, base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const deadline = startDeadline(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal;
    let response: Response;
    try {
      response = await base(input, { ...init, signal });
    } catch (error) {
      deadline.clear();
      throw deadline.signal.aborted ? deadline.signal.reason : error;
    }
    if (!response.body) {
      deadline.clear();
      return response;
    }
    // The abort errors the body stream with the deadline error; a body read to the end clears it.
    const body = response.body.pipeThrough(new TransformStream({ flush: () => deadline.clear() }));
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/**
 * The AWS SDK's Node handler with the same deadline: its requestTimeout stops at the headers
 * (the response is handed over, its timers cleared), so the body stream is destroyed here when
 * the deadline passes.
 */
export class DeadlineHttpHandler extends NodeHttpHandler {
  constructor(
    private readonly timeoutMs: number,
    options: NodeHttpHandlerOptions,
  ) {
    super(options);
  }

  override async handle(request: Parameters<NodeHttpHandler["handle"]>[0], options: HttpHandlerOptions = {}) {
    const deadline = startDeadline(this.timeoutMs);
    const given = options.abortSignal as AbortSignal | undefined;
    const abortSignal = given ? AbortSignal.any([given, deadline.signal]) : deadline.signal;
    try {
      const out = await super.handle(request, { ...options, abortSignal });
      const body = out.response.body as Readable | undefined;
      if (!body || typeof body.destroy !== "function") {
        deadline.clear();
        return out;
      }
      const expire = () => body.destroy(deadline.signal.reason as Error);
      deadline.signal.addEventListener("abort", expire, { once: true });
      body.once("close", () => {
        deadline.clear();
        deadline.signal.removeEventListener("abort", expire);
      });
      return out;
    } catch (error) {
      deadline.clear();
      throw deadline.signal.aborted ? deadline.signal.reason : error;
    }
  }
}
