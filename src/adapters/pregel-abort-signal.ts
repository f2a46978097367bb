/**
 * LangGraph keeps a run's external abort signal in a private configurable key. Nested runs
 * (alignment's replays) register their per-step abort listeners on it, so n concurrent replays
 * trip Node's 10-listener warning; the listeners are removed after each step, so lifting the
 * limit only silences noise. tests/adapters/langgraph-internals.test.ts fails if LangGraph
 * moves the signal.
 */
import { setMaxListeners } from "node:events";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";

const ABORT_SIGNALS_KEY = "__pregel_abort_signals";

/** The top-level run's abort signal, if LangGraph passed one down. */
export function externalAbortSignal(config: LangGraphRunnableConfig): AbortSignal | undefined {
  return (config.configurable?.[ABORT_SIGNALS_KEY] as { externalAbortSignal?: AbortSignal } | undefined)?.externalAbortSignal;
}

/** Lets any number of nested runs listen on the run's abort signal and on the step's own (`config.signal`, one listener per nested run). */
export function allowNestedRunListeners(config: LangGraphRunnableConfig): void {
  for (const signal of [externalAbortSignal(config), config.signal]) if (signal) setMaxListeners(0, signal);
}
