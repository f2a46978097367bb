/**
 * Faults for the scripted OpenAI-compatible server (testing/openai-server.ts), as ScriptedReply values
 * its responder API already serves: a hung connection, raw (truncated or invalid) bodies, raw
 * completions whose tool-call arguments are not JSON, rate limits, server errors, and a body
 * that stalls after the headers.
 *
 *   startOpenAIServer(respondWith((req) => (faulty ? hang() : "ok")))
 */
import type { ScriptedReply } from "../../testing/scripted-chat.js";

/** Accepts the request and never answers (no timer: closing the server drops the socket). */
export function hang(): Promise<ScriptedReply> {
  return new Promise<ScriptedReply>(() => undefined);
}

/** HTTP 429 with a Retry-After header (seconds). */
export function rateLimited(retryAfterSeconds = 0): ScriptedReply {
  return {
    status: 429,
    headers: { "retry-after": String(retryAfterSeconds) },
    body: {
      error: { message: "Rate limit reached for requests", type: "requests", param: null, code: "rate_limit_exceeded" },
    },
  };
}

/** The connection is dropped before any answer: the client sees a connection reset. */
export function connectionReset(): ScriptedReply {
  return { reset: true };
}

/** HTTP 5xx with an OpenAI-style error body. */
export function serverError(status = 500): ScriptedReply {
  return {
    status,
    body: {
      error: {
        message: "The server had an error while processing your request.",
        type: "server_error",
        param: null,
        code: null,
      },
    },
  };
}

/** A 200 whose body is `text` sent as application/json: truncated or otherwise invalid JSON. */
export function rawJson(text: string): ScriptedReply {
  return { status: 200, body: text, headers: { "content-type": "application/json" } };
}

/** A chat completion cut off mid-body (the server ends the response early, the JSON is incomplete). */
export function truncatedCompletion(): ScriptedReply {
  const full = JSON.stringify(completion({ content: "this answer never arrives whole" }));
  return rawJson(full.slice(0, Math.floor(full.length / 2)));
}

/**
 * A complete, valid chat completion built by hand, so tool-call `arguments` can be any raw
 * string (the scripted server always JSON-encodes them) and tool names anything at all.
 */
let completions = 0;

export function completion(reply: {
  content?: string | null;
  toolCalls?: { name: string; arguments: string; id?: string }[];
}): object {
  const toolCalls = (reply.toolCalls ?? []).map((tc, i) => ({
    id: tc.id ?? `call_raw_${i}`,
    type: "function",
    function: { name: tc.name, arguments: tc.arguments },
  }));
  return {
    id: `chatcmpl-raw-${++completions}`, // unique, as real providers' are (the messages reducer merges by id)
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: "x",
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: reply.content ?? null,
          refusal: null,
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: toolCalls.length ? "tool_calls" : "stop",
      },
    ],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

/** A 200 completion with raw tool calls (e.g. `arguments: '{"query": "sci'`, not JSON). */
export function rawToolCalls(
  toolCalls: { name: string; arguments: string; id?: string }[],
  content: string | null = null,
): ScriptedReply {
  return { status: 200, body: completion({ content, toolCalls }) };
}

/**
 * A 200 whose headers and first half of a valid completion arrive at once, then nothing: the
 * request is "answered", so only a deadline that also covers the body can end it. `body`
 * defaults to an OpenAI chat completion; pass a Bedrock Converse body for the Bedrock server.
 */
export function stalledBody(body: object = completion({ content: "this answer never arrives whole" })): ScriptedReply {
  return { status: 200, body, stall: true };
}
