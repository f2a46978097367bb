/** The tool calls of one `ask` turn as the CLI reports them, with each failure's message. */
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { wellFormedCalls } from "../../src/agent/tool-call-repair.js";

export interface ReportedToolCall {
  name: string;
  args: Record<string, unknown>;
  /** The tool's failure, as the model read it (absent when the call worked). */
  error?: string;
}

/**
 * The well-formed calls of the last turn (after the user's latest message), in order, each
 * with the error its ToolMessage reported. Malformed calls are left out, as in the graph's
 * `toolCalls` channel.
 */
export function turnToolCalls(messages: BaseMessage[]): ReportedToolCall[] {
  const turn = messages.slice(messages.findLastIndex((m) => HumanMessage.isInstance(m)) + 1);
  const errors = new Map(
    turn
      .filter((m): m is ToolMessage => ToolMessage.isInstance(m) && m.status === "error")
      .map((m) => [m.tool_call_id, m.text]),
  );
  return turn.flatMap((m) => {
    if (!AIMessage.isInstance(m)) return [];
    return wellFormedCalls(m).map((c) => {
      const error = c.id === undefined ? undefined : errors.get(c.id);
      return { name: c.name, args: c.args, ...(error !== undefined ? { error } : {}) };
    });
  });
}
