/**
 * One deadline per provider request that covers the whole exchange, body included. The SDKs'
 * own timeouts end when the response headers arrive, so a provider that sends headers and then
 * stalls the body would hold a command forever; these wrappers end the body read once `timeoutMs`
 * has passed since the request started. Each retry is a new request with a new
 * deadline, as with the SDKs' timeouts. (The AWS SDK's handler is in aws.ts, so only Bedrock
 * runs load the AWS HTTP stack.)
 */

/** Named TimeoutError, as the SDKs name theirs, so retries and describeProviderError treat it alike. */
export function deadlineError(timeoutMs: number): Error {
  return Object.assign(new Error(`request timed out: no complete response within ${timeoutMs} ms`), {
    name: "TimeoutError",
    code: "ETIMEDOUT",
  });
}

/** A signal aborted after `timeoutMs`; the timer is unref'd, so it never keeps a CLI process alive. */
export function startDeadline(timeoutMs: number) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(deadlineError(timeoutMs)), timeoutMs);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/**
 * `fetch` (for the OpenAI SDK) whose requests, body read included, end within `timeoutMs`. The
 * SDK's own timeout (the same duration) ends the wait for the headers; what is left of the
 * deadline then bounds the body.
 */
export function fetchWithDeadline(timeoutMs: number, base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const started = Date.now();
    const bodyDeadline = new AbortController();
    const signal = init?.signal ? AbortSignal.any([init.signal, bodyDeadline.signal]) : bodyDeadline.signal;
    const response = await base(input, { ...init, signal });
    if (!response.body) return response;
    const deadline = startDeadline(Math.max(0, timeoutMs - (Date.now() - started)));
    deadline.signal.addEventListener("abort", () => bodyDeadline.abort(deadlineError(timeoutMs)), { once: true });
    // The abort errors the body stream with the deadline error; a body read to the end clears it.
    const body = response.body.pipeThrough(new TransformStream({ flush: () => deadline.clear() }));
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
