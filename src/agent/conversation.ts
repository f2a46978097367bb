/**
 * One `ask` turn as a unit: it either completes, leaving its checkpoints, its interaction record
 * and the thread in the user's thread registry, or it fails and leaves none of them (a new
 * thread is deleted; a continued thread is rolled back to the checkpoint it started from). The
 * turn is one run of the user (store/lifecycle.ts): a `forget` while it runs wins. Turns of one
 * thread run one at a time (withThreadLock): a second waits for the first to end, so both
 * are kept and a rollback only ever removes its own turn.
 */
import { randomUUID } from "node:crypto";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import { HumanMessage, type BaseMessage } from "@langchain/core/messages";
import { UserError } from "../errors/errors.js";
import { unknownUserError } from "../memory/ingest.js";
import { guardCheckpointer, userThreadId, type ThreadDeleter } from "../users/forget.js";
import { asUserRun, putUserItems } from "../store/lifecycle.js";
import type { CheckpointMaintenance } from "../store/open.js";
import type { Services } from "../services/services.js";
import type { ToolCallRecord } from "./state.js";
import { userNamespace } from "../users/users.js";

export interface AskResult {
  answer: string;
  personaVersion: number;
  toolCalls: ToolCallRecord[];
  /** The conversation's name, to continue it (`--thread`). */
  thread: string;
  /** The thread's messages after this turn (tool failures are read from them). */
  messages: BaseMessage[];
}

type Checkpointer = BaseCheckpointSaver & ThreadDeleter;
/** The persona_agent graph compiled with the given checkpointer (src/ does not import graphs/). */
export type CompileAgent = (checkpointer: Checkpointer) => {
  invoke(
    input: { messages: HumanMessage[] },
    config: { configurable: Record<string, unknown>; durability: "exit" },
  ): Promise<{ answer: string; personaVersion: number; toolCalls: ToolCallRecord[]; messages: BaseMessage[] }>;
};

export async function askWithThread(
  services: Services,
  persistence: { checkpointer: Checkpointer } & Pick<CheckpointMaintenance, "rollbackThread" | "withThreadLock">,
  compile: CompileAgent,
  query: string,
  options: { thread?: string; newThread?: boolean } = {},
): Promise<AskResult> {
  const thread = options.thread ?? randomUUID();
  const { store, personas, config } = services;
  const userId = config.userId;
  return asUserRun(store, userId, async () => {
    // An unknown user is refused before anything is written (the graph would refuse it too).
    if (!(await personas.current(userId))) {
      throw await unknownUserError(
        services.memory,
        userId,
        "ingest a history first (persona-agent ingest --user ... --file ...)",
      );
    }
    const threadId = userThreadId(userId, thread);
    return persistence.withThreadLock(threadId, async () => {
      const { checkpointer } = persistence;
      const startedAt = (await checkpointer.getTuple({ configurable: { thread_id: threadId } }))?.checkpoint.id;
      // A mistyped --thread would silently start a new conversation: refuse it unless asked to.
      if (
        options.thread !== undefined &&
        !options.newThread &&
        !startedAt &&
        !(await store.get(userNamespace(userId, "threads"), threadId))
      ) {
        throw new UserError(
          `unknown thread "${options.thread}" of user "${userId}": omit --thread for a new conversation, or add --new-thread to start one under this id`,
        );
      }
      try {
        const graph = compile(guardCheckpointer(checkpointer, store, userId));
        // Checkpointed once, when the turn ends: a turn is kept whole or rolled back whole (above),
        // so its intermediate steps' checkpoints (one disk sync each) would never be read.
        const result = await graph.invoke(
          { messages: [new HumanMessage(query)] },
          { configurable: { ...config, thread_id: threadId }, durability: "exit" },
        );
        // Registered once the turn succeeded; forget also finds threads in the checkpointer itself.
        await putUserItems(store, userId, [
          {
            namespace: userNamespace(userId, "threads"),
            key: threadId,
            value: { thread, createdAt: new Date().toISOString() },
          },
        ]);
        return {
          answer: result.answer,
          personaVersion: result.personaVersion,
          toolCalls: result.toolCalls,
          thread,
          messages: result.messages,
        };
      } catch (error) {
        await (startedAt ? persistence.rollbackThread(threadId, startedAt) : checkpointer.deleteThread(threadId)).catch(
          () => undefined,
        );
        throw error;
      }
    });
  });
}
