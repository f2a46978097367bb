/**
 * alignment (Algorithm 1 of PersonaAgent): load_persona -> select_batch (line 13, every iteration)
 * -> simulate (Send, one per interaction, with the current persona) -> feedback (Send, LLM_grad,
 * one per interaction) -> update (LLM_update, all feedback at once) -> [validate] -> checkpoint
 * (new persona version) -> select_batch again for E iterations, or END.
 */
import { EventEmitter, setMaxListeners } from "node:events";
import { END, START, StateGraph } from "@langchain/langgraph";
import { maxAlignmentAbortListeners, maxAlignmentRecursionLimit } from "../src/alignment/configuration.js";
import { AlignmentContext, AlignmentInput, AlignmentOutput, AlignmentState } from "../src/alignment/state.js";
import { servedOutput } from "./served-output.js";
import {
  checkpointNode,
  feedbackNode,
  loadPersona,
  nextIteration,
  routeAfterUpdate,
  selectBatch,
  simulateEach,
  simulateNode,
  updateNode,
  validateNode,
  type AgentStepsRunnable,
} from "../src/alignment/nodes.js";
import { graph as agentStepsGraph } from "./agent_steps.js";

const agentSteps = agentStepsGraph as unknown as AgentStepsRunnable;

// LangGraph makes the signals the parallel steps share inside each run, after any caller's code
// and before any node's, so their own limits cannot be raised: the default every signal takes
// when it is made can (Node's is 10, past which it prints MaxListenersExceededWarning). Raised
// once, never lowered, to what the operator's largest batch needs (configuration.ts).
if (EventEmitter.defaultMaxListeners < maxAlignmentAbortListeners()) setMaxListeners(maxAlignmentAbortListeners());

export const builder = new StateGraph({ stateSchema: AlignmentState, input: AlignmentInput, output: AlignmentOutput, context: AlignmentContext })
  .addNode("load_persona", loadPersona)
  .addNode("select_batch", selectBatch)
  .addNode("simulate", simulateNode(agentSteps), { ends: ["feedback"] })
  .addNode("feedback", feedbackNode)
  .addNode("update", updateNode)
  .addNode("validate", validateNode(agentSteps))
  .addNode("checkpoint", checkpointNode)
  .addEdge(START, "load_persona")
  .addEdge("load_persona", "select_batch")
  .addConditionalEdges("select_batch", simulateEach, ["simulate"])
  .addEdge("feedback", "update")
  .addConditionalEdges("update", routeAfterUpdate, ["validate", "checkpoint"])
  .addEdge("validate", "checkpoint")
  .addConditionalEdges("checkpoint", nextIteration, ["select_batch", END]);

// Enough steps for the largest run the operator's bounds allow (callers may not set their own).
export const graph = builder.compile().withConfig({ recursionLimit: maxAlignmentRecursionLimit(), ...servedOutput(AlignmentOutput) });
graph.name = "alignment";
