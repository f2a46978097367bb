/**
 * Replies of the scripted provider shared by the CLI and server tests (tests/cli/cli.test.ts,
 * tests/platform/studio.int.test.ts): a profile that names its user, and an agent turn that calls
 * both tools, then answers from what they returned.
 */
import type { RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, type ScriptedReply } from "../../testing/scripted-chat.js";

/** A profile summary naming its user: ALICE (her history has the wormhole film) or BOB. */
export function profileNamingUser(req: RecordedChatRequest): ScriptedReply {
  return {
    content: lastUserText(req).includes("wormhole") ? "Profile: a sci-fi fan (ALICE)" : "Profile: a romance fan (BOB)",
  };
}

/**
 * An agent turn: memory retrieval and a Wikipedia search first (on every turn of a thread), then
 * "sci-fi" when a tool result of the conversation mentions it, else "romance".
 */
export function agentTurn(req: RecordedChatRequest): ScriptedReply {
  if (req.messages.at(-1)?.role !== "tool") {
    return {
      toolCalls: [
        { name: "memory_retrieval", args: { query: lastUserText(req) } },
        { name: "wikipedia_search", args: { query: "film genre" } },
      ],
    };
  }
  const results = req.messages
    .filter((m: { role: string }) => m.role === "tool")
    .map((m: { content: string }) => m.content)
    .join("\n");
  return { content: results.includes("sci-fi") ? "sci-fi" : "romance" };
}
