import { Annotation, MessagesAnnotation } from "@langchain/langgraph";
import { z } from "zod";
import type { RetrievedMemory } from "../memory/episodic.js";
import type { AlignmentSummary } from "../alignment/run.js";
import { AlignmentSummarySchema } from "../alignment/state.js";
import { ALIGN_EVERY_CONTEXT, ALIGNMENT_CONTEXT } from "../alignment/configuration.js";
import { AGENT_CONTEXT, apiContextSchema, documented } from "../configuration/configuration.js";

export interface ToolCallRecord {
  name: string;
  args: Record<string, unknown>;
}

const append = <T>(left: T[], right: T[] | T) => left.concat(right);

export const PersonaAgentState = Annotation.Root({
  ...MessagesAnnotation.spec,
  /** The system prompt of this run; loaded from the store unless the caller sets one. */
  persona: Annotation<string>(),
  /** The user's true response to this turn's query: recorded as feedback, and alignment runs when due. */
  truth: Annotation<string | null | undefined>(),
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
  /** The user's generation when this turn started (store/lifecycle.ts): a forget since then refuses the record. */
  userGeneration: Annotation<number | undefined>(),
});

export type PersonaAgentStateType = typeof PersonaAgentState.State;
export type PersonaAgentUpdate = typeof PersonaAgentState.Update;

// What the server publishes (and checks) as persona_agent's input, output and context. The state
// above holds more (the loaded persona, the user's generation): the served graph streams only
// the output's keys (graphs/persona_agent.ts).

/** Marked as a conversation, so Studio shows it as one. */
const messages = (description: string) =>
  documented(description, { type: "array", items: { type: "object" }, langgraph_type: "messages" });

/** What a caller gives: the conversation (its last user message is the query), optionally a persona and the true response. */
export const PersonaAgentInput = z.object({
  messages: messages(
    'The conversation, e.g. [{"role": "user", "content": "..."}]; its last user message is the query. On a thread, only the new turn.',
  ),
  persona: z
    .string()
    .optional()
    .describe("A system prompt for this run instead of the user's stored persona (personaVersion is then 0)."),
  truth: z
    .string()
    .nullable()
    .optional()
    .describe(
      "The user's true response to this query: recorded as feedback; every alignEvery feedbacks the persona is aligned (Algorithm 1).",
    ),
});

/** What a caller gets back. */
export const PersonaAgentOutput = z.object({
  messages: messages("The conversation with this turn's tool calls and answer."),
  answer: z.string().describe("The agent's final answer."),
  personaVersion: z
    .number()
    .describe("Version of the user's persona the agent ran with (0 when the input gave a persona)."),
  toolCalls: z
    .array(z.object({ name: z.string(), args: z.record(z.unknown()) }))
    .describe("Every tool call the agent made this turn, in order (wikipedia_search, memory_retrieval)."),
  retrieved: z
    .array(
      z
        .object({
          id: z.string(),
          query: z.string(),
          response: z.string(),
          timestamp: z.string(),
          similarity: z.number(),
        })
        .passthrough(),
    )
    .describe("The user's own memories the retrieval tool returned this turn."),
  sinceAlignment: z
    .number()
    .nullable()
    .describe("With truth: feedbacks recorded since the last alignment, this one included; null otherwise."),
  alignment: AlignmentSummarySchema.nullable().describe(
    "With truth, when it made alignment due: what the alignment did; null otherwise.",
  ),
});

export const PersonaAgentContext = apiContextSchema(
  "persona_agent: the user, retrieval and tool settings; with truth, when and how the persona is aligned.",
  {
    ...AGENT_CONTEXT,
    ...ALIGN_EVERY_CONTEXT,
    ...ALIGNMENT_CONTEXT,
  },
);
