import { Annotation, MessagesAnnotation } from "@langchain/langgraph";
import type { RetrievedMemory } from "../memory/episodic.js";
import type { AlignmentSummary } from "../alignment/run.js";

export interface ToolCallRecord {
  name: string;
  args: Record<string, unknown>;
}

const append = <T>(left: T[], right: T[] | T) => left.concat(right);

/** What a caller gives: the conversation (its last human message is the query), optionally a persona and the true response. */
export const PersonaAgentInput = Annotation.Root({
  ...MessagesAnnotation.spec,
  /** The system prompt of this run; loaded from the store unless the caller sets one. */
  persona: Annotation<string>(),
  /** The user's true response to this turn's query: recorded as feedback, and alignment runs when due. */
  truth: Annotation<string | null | undefined>(),
});

/** What a caller gets back. */
export const PersonaAgentOutput = Annotation.Root({
  ...MessagesAnnotation.spec,
  /** The agent's final answer. */
  answer: Annotation<string>(),
  /** Version of the stored persona in use (0 when the caller supplied the persona). */
  personaVersion: Annotation<number>(),
  /** Every tool call the agent made this turn, in order. */
  toolCalls: Annotation<ToolCallRecord[]>({ reducer: append, default: () => [] }),
  /** Memories the retrieval tool returned this turn. */
  retrieved: Annotation<RetrievedMemory[]>({ reducer: append, default: () => [] }),
  /** With `truth`: feedbacks since the last alignment (after this one). */
  sinceAlignment: Annotation<number | null>(),
  /** With `truth`, when it made alignment due: what the alignment subgraph did. */
  alignment: Annotation<AlignmentSummary | null>(),
});

export const PersonaAgentState = Annotation.Root({
  ...PersonaAgentInput.spec,
  ...PersonaAgentOutput.spec,
  /** The user's generation when this turn started (store/lifecycle.ts): a forget since then refuses the record. */
  userGeneration: Annotation<number | undefined>(),
});

export type PersonaAgentStateType = typeof PersonaAgentState.State;
export type PersonaAgentUpdate = typeof PersonaAgentState.Update;
