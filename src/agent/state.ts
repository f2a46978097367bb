import { Annotation, MessagesAnnotation } from "@langchain/langgraph";
import type { RetrievedMemory } from "../memory/episodic.js";

export interface ToolCallRecord {
  name: string;
  args: Record<string, unknown>;
}

const append = <T>(left: T[], right: T[] | T) => left.concat(right);

export const PersonaAgentState = Annotation.Root({
  ...MessagesAnnotation.spec,
  userId: Annotation<string>(),
  /** The system prompt of this run; loaded from the store unless the caller sets one. */
  persona: Annotation<string>(),
  /** Version of the stored persona in use (0 when the caller supplied the persona). */
  personaVersion: Annotation<number>(),
  /** Memories the retrieval tool returned during this run. */
  retrieved: Annotation<RetrievedMemory[]>({ reducer: append, default: () => [] }),
  /** Every tool call the agent made, in order. */
  toolCalls: Annotation<ToolCallRecord[]>({ reducer: append, default: () => [] }),
  /** The user's generation when this turn started (store/lifecycle.ts): a forget since then refuses the record. */
  userGeneration: Annotation<number | undefined>(),
  /** The agent's final answer. */
  answer: Annotation<string>(),
});

export type PersonaAgentStateType = typeof PersonaAgentState.State;
export type PersonaAgentUpdate = typeof PersonaAgentState.Update;
