/**
 * alignment (Algorithm 1 of PersonaAgent): load_persona -> select_batch (line 13, every iteration)
 * -> simulate (Send, one per interaction, with the current persona) -> gradient (Send, LLM_grad,
 * one per simulation) -> update (LLM_update, all gradients at once) -> [validate] ->
 * close_iteration -> select_batch again for E iterations -> save_persona (every kept iteration's
 * persona as a new version, all at once: a run that fails saves nothing) -> END.
 */
import { EventEmitter, setMaxListeners } from "node:events";
import { END, START, StateGraph } from "@langchain/langgraph";
import { maxAlignmentAbortListeners, maxAlignmentRecursionLimit } from "../src/alignment/configuration.js";
import { AlignmentContext, AlignmentInput, AlignmentOutput, AlignmentState } from "../src/alignment/state.js";
import { servedOutput } from "./served-output.js";
import {
  closeIteration,
  gradeEach,
  gradientNode,
  nextIteration,
  routeAfterUpdate,
  savePersona,
  selectBatch,
  simulateEach,
  simulateNode,
  startAlignment,
  updateNode,
  validateNode,
} from "../src/alignment/nodes.js";
import { graph as agentSteps } from "./agent_steps.js";

// LangGraph makes the signals the parallel steps share inside each run, after any caller's code
// and before any node's, so their own limits cannot be raised: the default every signal takes
// when it is made can (Node's is 10, past which it prints MaxListenersExceededWarning). Raised
// once, never lowered, to what the operator's largest batch needs (configuration.ts).
if (EventEmitter.defaultMaxListeners < maxAlignmentAbortListeners()) setMaxListeners(maxAlignmentAbortListeners());

export const builder = new StateGraph({
  stateSchema: AlignmentState,
  input: AlignmentInput,
  output: AlignmentOutput,
  context: AlignmentContext,
})
  .addNode("load_persona", startAlignment)
  .addNode("select_batch", selectBatch)
  .addNode("simulate", simulateNode(agentSteps))
  .addNode("gradient", gradientNode)
  .addNode("update", updateNode)
  .addNode("validate", validateNode(agentSteps))
  .addNode("close_iteration", closeIteration)
  .addNode("save_persona", savePersona)
  .addEdge(START, "load_persona")
  .addEdge("load_persona", "select_batch")
  // map-reduce: the batch fans out to simulate, each simulation to its own LLM_grad, and update gathers them
  .addConditionalEdges("select_batch", simulateEach, ["simulate"])
  .addConditionalEdges("simulate", gradeEach, ["gradient"])
  .addEdge("gradient", "update")
  .addConditionalEdges("update", routeAfterUpdate, ["validate", "close_iteration"])
  .addEdge("validate", "close_iteration")
  .addConditionalEdges("close_iteration", nextIteration, ["select_batch", "save_persona"])
  .addEdge("save_persona", END);

// Enough steps for the largest run the operator's bounds allow (callers may not set their own).
export const graph = builder
  .compile()
  .withConfig({ recursionLimit: maxAlignmentRecursionLimit(), ...servedOutput(AlignmentOutput) });
graph.name = "alignment";
