/**
 * persona_agent: load_persona -> agent_steps (agent <-> tools, graphs/agent_steps.ts, as a
 * subgraph) -> record -> END; given the user's true response (`truth`), record -> record_truth
 * -> (every `alignEvery` feedbacks) the alignment subgraph (node "align") -> END. The persona is
 * the system prompt of every agent call; tools are bound to the run's user.
 */
import { END, START, StateGraph } from "@langchain/langgraph";
import { maxAlignmentRecursionLimit } from "../src/alignment/configuration.js";
import { PersonaAgentContext, PersonaAgentInput, PersonaAgentOutput, PersonaAgentState } from "../src/agent/state.js";
import { recordInteraction, startTurn } from "../src/agent/nodes.js";
import { recordTruth, routeAfterRecord, routeAfterTruth } from "../src/alignment/feedback.js";
import { servedOutput } from "./served-output.js";
import { graph as agentSteps } from "./agent_steps.js";
import { graph as alignment } from "./alignment.js";

export const builder = new StateGraph({
  stateSchema: PersonaAgentState,
  input: PersonaAgentInput,
  output: PersonaAgentOutput,
  context: PersonaAgentContext,
})
  .addNode("load_persona", startTurn)
  .addNode("agent_steps", agentSteps)
  .addNode("record", recordInteraction)
  .addNode("record_truth", recordTruth)
  .addNode("align", alignment)
  .addEdge(START, "load_persona")
  .addEdge("load_persona", "agent_steps")
  .addEdge("agent_steps", "record")
  .addConditionalEdges("record", routeAfterRecord, ["record_truth", END])
  .addConditionalEdges("record_truth", routeAfterTruth, ["align", END])
  .addEdge("align", END);

// The alignment subgraph runs under this graph's recursion limit: enough for the largest
// alignment a feedback may trigger (callers may not set their own), never below LangGraph's 25.
export const graph = builder
  .compile()
  .withConfig({ recursionLimit: Math.max(25, maxAlignmentRecursionLimit()), ...servedOutput(PersonaAgentOutput) });
graph.name = "persona_agent";
