/**
 * An alignment run's progress, read from its graph's update stream (LangGraph emits one update
 * per finished task, so each of the n parallel simulations and LLM_grad calls reports on its own;
 * keys are the node names of graphs/alignment.ts).
 * Each step is reported when it starts (0 done) and as its tasks finish.
 */
export type AlignmentStep = "simulations" | "gradients" | "update" | "validation";

export interface AlignmentProgress {
  /** 1-based iteration, of `iterations` (the paper's E). */
  iteration: number;
  iterations: number;
  step: AlignmentStep;
  /** Tasks of the step finished so far, of `total`: the batch's n for simulations and gradients, 1 for the others. */
  done: number;
  total: number;
}

/** A listener for the alignment graph's updates (node name, its update) that reports each step to `report`. */
export function alignmentProgress(
  { iterations, validate }: { iterations: number; validate: boolean },
  report: (progress: AlignmentProgress) => void,
): (node: string, update: unknown) => void {
  let iteration = 0;
  let batch = 0;
  let simulated = 0;
  let graded = 0;
  const tell = (step: AlignmentStep, done: number, total = 1) => report({ iteration, iterations, step, done, total });
  return (node, update) => {
    switch (node) {
      case "select_batch":
        iteration += 1;
        batch = (update as { batch?: unknown[] } | null)?.batch?.length ?? 0;
        simulated = graded = 0;
        tell("simulations", 0, batch);
        break;
      case "simulate":
        tell("simulations", ++simulated, batch);
        if (simulated === batch) tell("gradients", 0, batch);
        break;
      case "gradient":
        tell("gradients", ++graded, batch);
        if (graded === batch) tell("update", 0);
        break;
      case "update":
        tell("update", 1);
        if (validate) tell("validation", 0);
        break;
      case "validate":
        tell("validation", 1);
        break;
    }
  };
}
