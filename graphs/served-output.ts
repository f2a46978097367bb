/**
 * What the LangGraph server streams of a graph's runs, and so what `runs.wait` returns: the keys
 * of the graph's published output. Left to its default, LangGraph streams every channel of the
 * state, a run's internals included (the loaded persona, the user's generation, the ingested entries).
 */
import type { z } from "zod";

export function servedOutput(output: z.AnyZodObject): { outputKeys: string[] } {
  return { outputKeys: Object.keys(output.shape) };
}
