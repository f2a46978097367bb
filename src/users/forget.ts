/**
 * `forget`: deletes every record of a user, and wins over the user's commands that started
 * before it (store/lifecycle.ts): under the user's write lock it starts the user's next
 * generation and deletes the user's store records, so no older run can write anything after.
 * Conversation threads are found in the checkpointer itself (every thread id of the user starts
 * with the user's file key), so a thread a racing `ask` created is found too; a checkpoint such
 * an `ask` writes after this deletes itself (guardCheckpointer). Then the derived FAISS index
 * goes, and the databases are compacted so the deleted text leaves the disk (see README).
 */
import type { BaseCheckpointSaver, BaseStore, LangGraphRunnableConfig } from "@langchain/langgraph";
import { z } from "zod";
import { apiContextSchema } from "../configuration/configuration.js";
import type { EpisodicMemory } from "../memory/episodic.js";
import { listAll, listNamespacesUnder } from "../store/list.js";
import { unwrapStore } from "../adapters/batched-store.js";
import { assertCurrent, forgetRecords, runGeneration, UserForgottenError, userGeneration } from "../store/lifecycle.js";
import { ServiceUnavailableError } from "../errors/errors.js";
import type { CheckpointMaintenance } from "../store/open.js";
import { userFileKey, userNamespace } from "./users.js";
import { servicesFor } from "../services/services.js";

/** What forget needs of a checkpointer: every saver LangGraph ships has it. */
export interface ThreadDeleter {
  deleteThread(threadId: string): Promise<void>;
}

/** The checkpointer thread id of a user's conversation: scoped to the user, so no one continues another's. */
export function userThreadId(userId: string, thread: string): string {
  return `${userThreadPrefix(userId)}${thread}`;
}

function userThreadPrefix(userId: string): string {
  return `${userFileKey(userId)}:`;
}

/**
 * Deletes every record of a user: store records, conversation threads (from the registry and,
 * given `maintenance`, from the checkpointer's own tables), the FAISS index and embedding cache;
 * then compacts the databases. Works on any BaseStore. Returns how many store items were deleted,
 * and what of the deleted text the databases could not take off disk yet (see compact).
 */
export async function forgetUser(
  store: BaseStore,
  memory: EpisodicMemory,
  userId: string,
  checkpointer?: ThreadDeleter,
  maintenance?: Partial<CheckpointMaintenance>,
): Promise<{ deleted: number; notCompacted?: string }> {
  const real = unwrapStore(store);
  const registered = (await listAll(real, userNamespace(userId, "threads"))).map((thread) => thread.key);
  const prefix = userNamespace(userId);
  // SQLite and PostgreSQL delete the whole subtree in one statement; other stores item by item.
  const deleted = await forgetRecords(real, userId, prefix, async () => {
    let count = 0;
    for (const namespace of await listNamespacesUnder(real, prefix)) {
      const items = await listAll(real, namespace);
      if (items.length === 0) continue;
      await real.batch(items.map((item) => ({ namespace, key: item.key, value: null })));
      count += items.length;
    }
    // Never report fewer deletions than there were: what a store failed to delete fails the forget.
    let left = 0;
    for (const namespace of await listNamespacesUnder(real, prefix)) left += (await listAll(real, namespace)).length;
    if (left > 0)
      throw new ServiceUnavailableError(
        `forget of user "${userId}" is incomplete: ${left} records remain in the store after deleting ${count}; run forget again`,
      );
    return count;
  });
  if (checkpointer) {
    const found = maintenance?.findThreads ? await maintenance.findThreads(userThreadPrefix(userId)) : [];
    for (const threadId of new Set([...registered, ...found])) await checkpointer.deleteThread(threadId);
  }
  await memory.dropIndex(userId);
  const notCompacted = await maintenance?.compact?.();
  return notCompacted ? { deleted, notCompacted } : { deleted };
}

/**
 * The checkpointer as one run of `userId` may use it: a checkpoint of a run older than the
 * user's last forget is refused before it is written, and one that raced the forget (checked
 * before, written after) is deleted again right after the write.
 */
export function guardCheckpointer<C extends BaseCheckpointSaver & ThreadDeleter>(
  checkpointer: C,
  store: BaseStore,
  userId: string,
): C {
  const generation = runGeneration(userId);
  if (generation === undefined) return checkpointer;
  const guarded = (write: (...args: unknown[]) => Promise<unknown>) =>
    async function (this: C, ...args: unknown[]) {
      await assertCurrent(store, userId, generation);
      const result = await write.apply(checkpointer, args);
      if ((await userGeneration(store, userId)) !== generation) {
        const threadId = (args[0] as { configurable?: { thread_id?: string } }).configurable?.thread_id;
        if (threadId) await checkpointer.deleteThread(threadId);
        throw new UserForgottenError(userId);
      }
      return result;
    };
  return new Proxy(checkpointer, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if ((property === "put" || property === "putWrites") && typeof value === "function")
        return guarded(value as (...args: unknown[]) => Promise<unknown>);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The forget graph's input (nothing), output and context (graphs/forget.ts). */
export const ForgetInput = z.object({});
export const ForgetOutput = z.object({
  deleted: z.number().describe("How many store records of the user were deleted."),
});
export const ForgetContext = apiContextSchema(
  "forget: the user to forget (on a server with auth, only the caller itself).",
  {},
);

/** The forget graph's one step: the run's user (validated) is forgotten on this server's store. */
export async function forgetNode(
  _state: unknown,
  config: LangGraphRunnableConfig,
): Promise<z.infer<typeof ForgetOutput>> {
  const { store, memory, config: cfg } = servicesFor(config);
  return { deleted: (await forgetUser(store, memory, cfg.userId)).deleted };
}
