/**
 * Scripting helpers shared by the fake OpenAI and Bedrock servers: the reply vocabulary,
 * turning a reply list or a function into a responder, and reading texts out of
 * recorded requests (OpenAI-format and Bedrock Converse-format messages alike).
 */

/** One scripted answer from a fake model server. */
export type ScriptedReply =
  | { content: string }
  | { toolCalls: { name: string; args: Record<string, unknown>; id?: string }[]; content?: string }
  | { status: number; body?: unknown; headers?: Record<string, string>; stall?: boolean } // error responses, e.g. 429 with retry-after; `stall`: send the headers and the first half of the body, then nothing
  | { reset: true } // the connection is dropped before any answer (a connection reset)
  | { delayMs: number; then: ScriptedReply }; // latency

/** Computes the reply to one recorded request. */
export type ResponderOf<Req> = (req: Req) => ScriptedReply | Promise<ScriptedReply>;

/** Thrown by a responder when it has no reply; the servers turn it into a loud 500. */
export class ScriptExhaustedError extends Error {}

/** A reply list is consumed in order; a function is used as is. */
export function toResponder<Req>(script: ResponderOf<Req> | ScriptedReply[]): ResponderOf<Req> {
  if (typeof script === "function") return script;
  const queue = [...script];
  let served = 0;
  return (req) => {
    const next = queue.shift();
    if (next === undefined) {
      throw new ScriptExhaustedError(
        `script exhausted: request #${served + 1} arrived but only ${served} replies were scripted ` +
          `(last user text: ${JSON.stringify(lastUserText(req as ChatLike))})`,
      );
    }
    served++;
    return next;
  };
}

/** Unwraps `{ delayMs, then }` layers, sleeping for each. */
export async function settle(reply: ScriptedReply): Promise<Exclude<ScriptedReply, { delayMs: number }>> {
  while ("delayMs" in reply) {
    const { delayMs, then } = reply;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    reply = then;
  }
  return reply;
}

/**
 * Builds a responder from a function of the request; a returned string is a plain answer.
 * e.g. `respondWith((req) => lastUserText(req).includes("weather") ? toolCall("get_weather", { city: "Paris" }) : "ok")`
 */
export function respondWith<Req>(
  fn: (req: Req) => string | ScriptedReply | Promise<string | ScriptedReply>,
): ResponderOf<Req> {
  return async (req) => {
    const out = await fn(req);
    return typeof out === "string" ? { content: out } : out;
  };
}

/** Shorthand for a reply with a single tool call. */
export function toolCall(name: string, args: Record<string, unknown>, id?: string): ScriptedReply {
  return { toolCalls: [{ name, args, ...(id === undefined ? {} : { id }) }] };
}

// ---- reading recorded requests -------------------------------------------------------------

/** The parts of a recorded request these helpers read (OpenAI: system messages; Bedrock: `system`). */
export interface ChatLike {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the protocols' JSON as recorded
  messages: any[];
  system?: unknown;
}

/** Text of a message content: a string, or an array of parts (`{type:"text",text}` or Bedrock `{text}`). */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part) => (typeof part === "string" ? part : typeof part?.text === "string" ? part.text : ""))
    .join("");
}

/** Text of the last user message that carries text (Bedrock tool results are user messages too). */
export function lastUserText(req: ChatLike): string {
  for (let i = req.messages.length - 1; i >= 0; i--) {
    const m = req.messages[i];
    if (m?.role === "user" && textOf(m.content) !== "") return textOf(m.content);
  }
  return "";
}

/** Joined system text: OpenAI `system`/`developer` messages, or the Bedrock `system` blocks. */
export function systemText(req: ChatLike): string {
  const fromMessages = req.messages
    .filter((m) => m?.role === "system" || m?.role === "developer")
    .map((m) => textOf(m.content));
  const fromBlocks = Array.isArray(req.system) ? [textOf(req.system)] : [];
  return [...fromMessages, ...fromBlocks].filter((t) => t !== "").join("\n");
}

/** Tool results sent back to the model: OpenAI `role:"tool"` messages or Bedrock `toolResult` blocks. */
export function toolResults(req: ChatLike): { toolCallId: string; content: string }[] {
  const out: { toolCallId: string; content: string }[] = [];
  for (const m of req.messages) {
    if (m?.role === "tool") out.push({ toolCallId: m.tool_call_id, content: textOf(m.content) });
    if (Array.isArray(m?.content)) {
      for (const block of m.content) {
        const r = block?.toolResult;
        if (r)
          out.push({
            toolCallId: r.toolUseId,
            content:
              r.content?.map((c: { text?: string; json?: unknown }) => c.text ?? JSON.stringify(c.json)).join("") ?? "",
          });
      }
    }
  }
  return out;
}
