import { Annotation } from "@langchain/langgraph";
import { z } from "zod";
import type { EpisodicEntry } from "../memory/episodic.js";
import type { ToolCallRecord } from "../agent/state.js";
import { apiContextSchema, AGENT_CONTEXT } from "../configuration/configuration.js";
import { ALIGNMENT_CONTEXT } from "./configuration.js";
import type { AlignmentSummary } from "./run.js";
import type { PersonaDraft } from "../persona/persona.js";

/** The agent's answer to one stored interaction, replayed with the candidate persona. */
export interface Simulation {
  entryId: string;
  answer: string;
  toolCalls: ToolCallRecord[];
}

/** LLM_grad's textual gradient for one interaction (the paper's feedback, as the API names it). */
export interface Gradient {
  entryId: string;
  query: string;
  expected: string;
  simulated: string;
  feedback: string;
}

/** Outcome of the validation gate: exact-match accuracy on held-out interactions. */
export interface Validation {
  kept: boolean;
  oldScore: number;
  newScore: number;
  heldOut: number;
}

export interface IterationRecord {
  /** The persona version this iteration ends with (unchanged when the gate rejected it); saved only when the whole run succeeds. */
  version: number;
  kept: boolean;
  feedback: Gradient[];
  validation?: Validation;
}

/**
 * Fan-in channels keyed by interaction id: parallel tasks each add their own key, and `null`
 * clears the map so one iteration's results never leak into the next.
 */
const byInteraction = <T>() =>
  Annotation<Record<string, T>, Record<string, T> | null>({
    reducer: (left, right) => (right === null ? {} : { ...left, ...right }),
    default: () => ({}),
  });

const ValidationSchema = z
  .object({ kept: z.boolean(), oldScore: z.number(), newScore: z.number(), heldOut: z.number() })
  .describe(
    "The validation gate: exact-match accuracy of the old and new persona on heldOut older interactions; kept = the new one stays.",
  );

/** An alignment run's summary as callers get it (AlignmentSummary), published in the graphs' output schemas. */
export const AlignmentSummarySchema: z.ZodType<AlignmentSummary> = z
  .object({
    user: z.string(),
    fromVersion: z.number().describe("The persona version the run started from."),
    toVersion: z.number().describe("The persona version current when it ended."),
    iterations: z.array(
      z.object({
        version: z
          .number()
          .describe(
            "The persona version this iteration ends with; the run saves every iteration's version at the end, or none if it fails.",
          ),
        kept: z
          .boolean()
          .describe("Whether this iteration's persona was kept (false: the validation gate refused it)."),
        feedback: z
          .array(
            z.object({
              entryId: z.string(),
              query: z.string(),
              expected: z.string(),
              simulated: z.string(),
              feedback: z.string(),
            }),
          )
          .describe(
            "LLM_grad's feedback per replayed interaction: the question, the user's true response (expected), the agent's answer with the persona (simulated).",
          ),
        validation: ValidationSchema.optional(),
      }),
    ),
    validated: ValidationSchema.optional(),
  })
  .describe("What the alignment did (Algorithm 1): the versions it went from and to, and each iteration's feedback.");

/** What the alignment graph's caller gets back: the run's summary. */
export const AlignmentOutput = z.object({ alignment: AlignmentSummarySchema });

/** A caller gives no input: the user and Algorithm 1's knobs are in the run's context. */
export const AlignmentInput = z.object({});

export const AlignmentContext = apiContextSchema(
  "alignment: the user, Algorithm 1's knobs (n = batchSize, E = iterations) and the agent's settings for the replays.",
  {
    ...AGENT_CONTEXT,
    ...ALIGNMENT_CONTEXT,
  },
);

export const AlignmentState = Annotation.Root({
  alignment: Annotation<AlignmentSummary | null>(),
  userId: Annotation<string>(),
  /** This iteration's n interactions (oldest first), obtained anew by every iteration (see batchFor). */
  batch: Annotation<EpisodicEntry[]>(),
  /** Interactions just before this iteration's batch, for the validation gate (empty unless validating). */
  heldOut: Annotation<EpisodicEntry[]>(),
  /** The persona the iteration works on, and the version it is (or will be, once saved). */
  persona: Annotation<string>(),
  version: Annotation<number>(),
  /** Feedbacks recorded when the run started; marked as aligned when it ends. */
  feedbackTotal: Annotation<number>(),
  /** The version the run started from: current until save_persona saves the run's versions. */
  fromVersion: Annotation<number>(),
  /** LLM_update's output, not yet kept. */
  candidate: Annotation<string>(),
  simulations: byInteraction<Simulation>(),
  gradients: byInteraction<Gradient>(),
  validation: Annotation<Validation | undefined>(),
  iterations: Annotation<IterationRecord[]>({ reducer: (left, right) => left.concat(right), default: () => [] }),
  /** The kept iterations' personas, oldest first, saved together when the whole run succeeded. */
  unsaved: Annotation<PersonaDraft[]>({ reducer: (left, right) => left.concat(right), default: () => [] }),
});

export type AlignmentStateType = typeof AlignmentState.State;
export type AlignmentUpdate = typeof AlignmentState.Update;

/** What `Send` hands one simulate / gradient task; `fromVersion` is the version that stays if it fails. */
export interface SimulateInput {
  entry: EpisodicEntry;
  persona: string;
  fromVersion: number;
}
export interface GradientInput extends SimulateInput {
  simulation: Simulation;
}
