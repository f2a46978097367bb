/** Per-run configuration of the alignment graph: the agent's configuration plus Algorithm 1's knobs. */
import { Annotation, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { ConfigurationAnnotation, ensureConfiguration, type Configuration } from "../configuration.js";
import { UserError } from "../errors.js";

import { DEFAULT_BATCH_SIZE, DEFAULT_ITERATIONS } from "./defaults.js";

export { DEFAULT_BATCH_SIZE, DEFAULT_ITERATIONS } from "./defaults.js";

export const AlignmentConfigurationAnnotation = Annotation.Root({
  ...ConfigurationAnnotation.spec,
  /** The paper's n: latest interactions re-run per iteration. */
  batchSize: Annotation<number>(),
  /** The paper's E: rounds of simulate -> feedback -> update. */
  iterations: Annotation<number>(),
  /** Keep a new persona only if it scores at least as well as the old one on held-out interactions. */
  validate: Annotation<boolean>(),
  /** Held-out interactions for the validation gate (default: the batch size). */
  validationSize: Annotation<number>(),
});

export type AlignmentConfiguration = Configuration & { batchSize: number; iterations: number; validate: boolean; validationSize: number };

function positiveInt(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) throw new UserError(`${name} must be an integer >= 1, got ${JSON.stringify(value)}`);
  return value;
}

export function ensureAlignmentConfiguration(config?: LangGraphRunnableConfig): AlignmentConfiguration {
  const given = (config?.configurable ?? {}) as Partial<AlignmentConfiguration>;
  const batchSize = positiveInt(given.batchSize, "batchSize", DEFAULT_BATCH_SIZE);
  return {
    ...ensureConfiguration(config),
    batchSize,
    iterations: positiveInt(given.iterations, "iterations", DEFAULT_ITERATIONS),
    validate: given.validate ?? false,
    validationSize: positiveInt(given.validationSize, "validationSize", batchSize),
  };
}
