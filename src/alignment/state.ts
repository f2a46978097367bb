import { Annotation } from "@langchain/langgraph";
import type { EpisodicEntry } from "../memory/episodic.js";
import type { ToolCallRecord } from "../agent/state.js";
import type { AlignmentSummary } from "./run.js";

/** The agent's answer to one stored interaction, replayed with the candidate persona. */
export interface Simulation {
  entryId: string;
  answer: string;
  toolCalls: ToolCallRecord[];
}

/** LLM_grad's textual gradient for one interaction. */
export interface Feedback {
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
  /** The persona version current after this iteration (unchanged when the gate rejected it). */
  version: number;
  kept: boolean;
  feedback: Feedback[];
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

/** What a caller gets back: the run's summary (versions, each iteration's feedback, the gate's verdict). */
export const AlignmentOutput = Annotation.Root({
  alignment: Annotation<AlignmentSummary | null>(),
});

/** A caller gives nothing but the configuration (`configurable.userId` and Algorithm 1's knobs). */
export const AlignmentInput = Annotation.Root({});

export const AlignmentState = Annotation.Root({
  ...AlignmentOutput.spec,
  userId: Annotation<string>(),
  /** This iteration's n interactions (oldest first), obtained anew by every iteration (see batchFor). */
  batch: Annotation<EpisodicEntry[]>(),
  /** Interactions just before this iteration's batch, for the validation gate (empty unless validating). */
  heldOut: Annotation<EpisodicEntry[]>(),
  /** The current persona and its stored version. */
  persona: Annotation<string>(),
  version: Annotation<number>(),
  /** Feedbacks recorded when the run started; marked as aligned when it ends. */
  feedbackTotal: Annotation<number>(),
  /** The version the run started from. */
  fromVersion: Annotation<number>(),
  /** LLM_update's output, not yet checkpointed. */
  candidate: Annotation<string>(),
  feedbacks: byInteraction<Feedback>(),
  validation: Annotation<Validation | undefined>(),
  iterations: Annotation<IterationRecord[]>({ reducer: (left, right) => left.concat(right), default: () => [] }),
});

export type AlignmentStateType = typeof AlignmentState.State;
export type AlignmentUpdate = typeof AlignmentState.Update;

/** What `Send` hands one simulate / feedback task. */
export interface SimulateInput {
  entry: EpisodicEntry;
  persona: string;
  version: number;
}
export interface FeedbackInput extends SimulateInput {
  simulation: Simulation;
}
