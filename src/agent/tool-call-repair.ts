/**
 * Malformed tool calls, in one place. A call whose arguments did not parse (ChatOpenAI keeps it
 * in `invalid_tool_calls`) is turned into an ordinary call with empty arguments, so the turn goes
 * to the tools node; there it is answered first with an error ToolMessage, and LangGraph's
 * ToolNode runs the rest: it skips every call that already has a ToolMessage reply
 * (@langchain/langgraph prebuilt/tool_node.js, checked by tests/adapters/langgraph-internals.test.ts).
 * The model can then try again within maxToolSteps.
 */
import { randomUUID } from "node:crypto";
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import type { ToolCall } from "@langchain/core/messages/tool";

/**
 * The model's reply with malformed calls made routable (their parse errors ride along in
 * `invalid_tool_calls`). Past the tool budget (`toolsAllowed` false) every call is dropped: the run must end.
 */
export function repairReply(reply: AIMessage, toolsAllowed: boolean): AIMessage {
  const invalid = reply.invalid_tool_calls ?? [];
  if (toolsAllowed && invalid.length === 0) return reply;
  if (!toolsAllowed && (reply.tool_calls?.length ?? 0) === 0 && invalid.length === 0) return reply;
  const named = invalid.map((c) => ({ ...c, id: c.id ?? `call_${randomUUID()}`, name: c.name ?? "unnamed_tool" }));
  const toolCalls = toolsAllowed
    ? [
        ...(reply.tool_calls ?? []),
        ...named.map((c) => ({ id: c.id, name: c.name, args: {}, type: "tool_call" as const })),
      ]
    : [];
  return new AIMessage({
    content: reply.content,
    id: reply.id,
    tool_calls: toolCalls,
    invalid_tool_calls: toolsAllowed ? named : [],
    response_metadata: reply.response_metadata,
    usage_metadata: reply.usage_metadata,
  });
}

/** The calls of a (repaired) reply whose arguments parsed: the ones a tool really runs. */
export function wellFormedCalls(reply: AIMessage): ToolCall[] {
  const malformed = new Set((reply.invalid_tool_calls ?? []).map((c) => c.id));
  return (reply.tool_calls ?? []).filter((c) => !malformed.has(c.id));
}

/** An error reply to each malformed call of a repaired reply, telling the model how to call again. */
export function malformedCallReplies(reply: AIMessage): ToolMessage[] {
  return (reply.invalid_tool_calls ?? []).map((c) => {
    const why =
      String(c.error ?? "")
        .split("\n")
        .find((l) => l.startsWith("Error:"))
        ?.slice(7) ?? "parse error";
    return new ToolMessage({
      tool_call_id: c.id!,
      name: c.name,
      status: "error",
      content: `Error: the arguments of this ${c.name} call are not valid JSON (${why}): ${String(c.args ?? "").slice(0, 200)}\nCall the tool again with a JSON object such as {"query": "..."}.`,
    });
  });
}
