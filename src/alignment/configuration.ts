/** Per-run configuration of the alignment graph: the agent's configuration plus Algorithm 1's knobs. */
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import {
  documented,
  ensureConfiguration,
  givenConfiguration,
  type Configuration,
} from "../configuration/configuration.js";
import { InputError } from "../errors/errors.js";
import { DEFAULT_SETTINGS, settingsFromEnv } from "../configuration/settings.js";

import { DEFAULT_ALIGN_EVERY, DEFAULT_BATCH_SIZE, DEFAULT_ITERATIONS } from "./defaults.js";

export { DEFAULT_ALIGN_EVERY, DEFAULT_BATCH_SIZE, DEFAULT_ITERATIONS } from "./defaults.js";

const positiveInt = (description: string) => documented(description, { type: "integer", minimum: 1 });

/** Algorithm 1's knobs an API caller may set (published in the alignment graph's context schema). */
export const ALIGNMENT_CONTEXT = {
  batchSize: positiveInt(
    `The paper's n: latest interactions re-run per iteration (default ${DEFAULT_BATCH_SIZE}; at most the server's PERSONA_AGENT_MAX_BATCH, 32 unless set).`,
  ),
  iterations: positiveInt(
    `The paper's E: rounds of simulate, feedback, update (default ${DEFAULT_ITERATIONS}; at most the server's PERSONA_AGENT_MAX_ITERATIONS, 10 unless set).`,
  ),
  validate: documented(
    "Keep a new persona only if it matches at least as many held-out true responses as the old one.",
    { type: "boolean" },
  ),
  validationSize: positiveInt(
    "Held-out interactions of the validation gate (default: batchSize; at most PERSONA_AGENT_MAX_BATCH).",
  ),
};

/** persona_agent with `truth` (feedback): when alignment runs. */
export const ALIGN_EVERY_CONTEXT = {
  alignEvery: positiveInt(
    `With truth: align once this many feedbacks came in since the last alignment (default ${DEFAULT_ALIGN_EVERY}).`,
  ),
};

export type AlignmentConfiguration = Configuration & {
  batchSize: number;
  iterations: number;
  validate: boolean;
  validationSize: number;
  alignEvery: number;
};

/** An integer in 1..max; `max` comes from the operator's settings (`setting` names it), never from the run. */
function boundedInt(value: unknown, name: string, fallback: number, max: number, setting: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1)
    throw new InputError(name, (input) => `${input} must be an integer >= 1, got ${JSON.stringify(value)}`);
  if (value > max)
    throw new InputError(name, (input) => `${input} must be at most ${max} (the operator's ${setting}), got ${value}`);
  return value;
}

function flag(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean")
    throw new InputError(name, (input) => `${input} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

export function ensureAlignmentConfiguration(config?: LangGraphRunnableConfig): AlignmentConfiguration {
  const given = givenConfiguration(config) as Partial<AlignmentConfiguration>;
  const { maxIterations, maxBatchSize } = settingsFromEnv();
  const batchSize = boundedInt(
    given.batchSize,
    "batchSize",
    Math.min(DEFAULT_BATCH_SIZE, maxBatchSize),
    maxBatchSize,
    "PERSONA_AGENT_MAX_BATCH",
  );
  return {
    ...ensureConfiguration(config),
    batchSize,
    iterations: boundedInt(
      given.iterations,
      "iterations",
      DEFAULT_ITERATIONS,
      maxIterations,
      "PERSONA_AGENT_MAX_ITERATIONS",
    ),
    validate: flag(given.validate, "validate"),
    validationSize: boundedInt(
      given.validationSize,
      "validationSize",
      batchSize,
      maxBatchSize,
      "PERSONA_AGENT_MAX_BATCH",
    ),
    // No operator bound: any count only delays the alignment.
    alignEvery: boundedInt(given.alignEvery, "alignEvery", DEFAULT_ALIGN_EVERY, Number.MAX_SAFE_INTEGER, "limit"),
  };
}

/**
 * Graph steps (LangGraph supersteps) one alignment run takes: load_persona, then per iteration
 * select_batch, simulate, gradient, update, [validate], close_iteration, then save_persona, plus
 * one spare step per iteration and a little slack. The n simulations and gradients of an iteration run in parallel
 * inside one superstep each, so n adds no steps; E does. Used as the run's recursion limit, so
 * every setting the bounds allow completes (LangGraph's default of 25 stopped E = 6).
 */
export function alignmentRecursionLimit(iterations: number, validate: boolean): number {
  const perIteration = 5 + (validate ? 1 : 0) + 1;
  return 3 + iterations * perIteration;
}

/** The operator's bounds, read when the graph module loads: a bad setting is reported by the run that reads it, in one line. */
function operatorBounds(): Pick<typeof DEFAULT_SETTINGS, "maxIterations" | "maxBatchSize"> {
  try {
    return settingsFromEnv();
  } catch {
    return DEFAULT_SETTINGS;
  }
}

/** The recursion limit for the largest run the operator allows (for servers, where the caller picks E). */
export function maxAlignmentRecursionLimit(): number {
  return alignmentRecursionLimit(operatorBounds().maxIterations, true);
}

/**
 * Abort listeners one signal holds in the largest run the operator allows. LangGraph hands
 * every task of a superstep the same abort signal, and every run nested in one the root run's
 * (langgraphjs#1494): an iteration's n replays and n LLM_grad calls, or validation's 2 × n
 * replays, hold about two listeners each on one signal at once, removed as each ends.
 */
export function maxAlignmentAbortListeners(): number {
  return 10 + 4 * operatorBounds().maxBatchSize;
}
