/**
 * A profile that may be older than the memories it summarizes: an ingest stored memories and
 * failed at its profile step (exit 3), or is still summarizing. The persona and every answer rest
 * on the older profile until that ingest finishes (or is run again), so `persona` and `ask` say
 * so. Memories that feedback recorded do not count: the profile summarizes the history, and the
 * persona learns from feedback through alignment. Reads one record and loads no model.
 */
import type { BaseStore } from "@langchain/langgraph";
import { SemanticMemory } from "./semantic.js";

/** The warning for the user's stale profile (no "persona-agent: " prefix), or undefined when it is current. */
export async function staleProfileWarning(store: BaseStore, userId: string): Promise<string | undefined> {
  const since = await new SemanticMemory(store).unfinishedIngest(userId);
  if (since === undefined) return undefined;
  return `warning: an ingest of user "${userId}" started at ${since} has not finished: the profile, and the persona and answers that rest on it, may not reflect the memories it added (if it failed, run persona-agent ingest --user ... --file ... again)`;
}
