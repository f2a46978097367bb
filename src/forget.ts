import type { BaseStore } from "@langchain/langgraph";
import type { EpisodicMemory } from "./memory/episodic.js";
import { hasPrefix, listAll } from "./store/list.js";
import { userNamespace } from "./users.js";

/** What forget needs of a checkpointer: every saver LangGraph ships has it. */
export interface ThreadDeleter {
  deleteThread(threadId: string): Promise<void>;
}

/**
 * Deletes every record of a user: the user's conversation threads in the checkpointer (their
 * ids are registered under the user's namespace), all store namespaces under the user's
 * prefix, and the derived FAISS index. Works on any BaseStore. Returns how many store items
 * were deleted.
 */
export async function forgetUser(store: BaseStore, memory: EpisodicMemory, userId: string, checkpointer?: ThreadDeleter): Promise<number> {
  if (checkpointer) {
    for (const thread of await listAll(store, userNamespace(userId, "threads"))) await checkpointer.deleteThread(thread.key);
  }
  let deleted = 0;
  const prefix = userNamespace(userId);
  const namespaces = (await store.listNamespaces({ prefix, limit: 10_000 })).filter((ns) => hasPrefix(ns, prefix));
  for (const namespace of namespaces) {
    const items = await listAll(store, namespace);
    if (items.length === 0) continue;
    await store.batch(items.map((item) => ({ namespace, key: item.key, value: null })));
    deleted += items.length;
  }
  await memory.dropIndex(userId);
  return deleted;
}
