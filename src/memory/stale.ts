/**
 * A profile older than the memories it summarizes: an ingest stored memories and failed at its
 * profile step (exit 3), or is still summarizing. The persona and every answer rest on the older
 * profile until that ingest finishes (or is run again), so `persona` and `ask` say so. Reads two
 * records and loads no model.
 */
import type { BaseStore } from "@langchain/langgraph";
import { userNamespace } from "../users/users.js";
import { storedMemoryCount } from "./episodic.js";
import type { SemanticProfile } from "./semantic.js";

/** The warning for the user's stale profile (no "persona-agent: " prefix), or undefined when it is current. */
export async function staleProfileWarning(store: BaseStore, userId: string): Promise<string | undefined> {
  const [profile, count] = await Promise.all([
    store.get(userNamespace(userId, "profile"), "current"),
    storedMemoryCount(store, userId),
  ]);
  const basedOn = (profile?.value as SemanticProfile | undefined)?.basedOn;
  if (basedOn === undefined || basedOn === count) return undefined;
  return `warning: the profile of user "${userId}" summarizes ${basedOn} of its ${count} memories: the persona and answers do not reflect the newer ones until the ingest that added them finishes (if it failed, run persona-agent ingest --user ... --file ... again)`;
}
