/**
 * persona_agent: load_persona -> agent <-> tools -> record -> END; given the user's true
 * response (`truth`), record -> feedback -> (every `alignEvery` feedbacks) the alignment
 * subgraph (node "align") -> END. The persona is the system prompt of every agent call; tools are bound to the
 * run's user.
 */
import { END, START, StateGraph } from "@langchain/langgraph";
import { maxAlignmentRecursionLimit } from "../src/alignment/configuration.js";
import { PersonaAgentContext, PersonaAgentInput, PersonaAgentOutput, PersonaAgentState } from "../src/agent/state.js";
import { callAgent, loadPersona, recordInteraction, routeAfterAgent, runTools } from "../src/agent/nodes.js";
import { recordTruth, routeAfterFeedback, routeAfterRecord } from "../src/alignment/feedback.js";
import { servedOutput } from "./served-output.js";
import { graph as alignment } from "./alignment.js";

export const builder = new StateGraph({ stateSchema: PersonaAgentState, input: PersonaAgentInput, output: PersonaAgentOutput, context: PersonaAgentContext })
  .addNode("load_persona", loadPersona)
  .addNode("agent", callAgent)
  .addNode("tools", runTools)
  .addNode("record", recordInteraction)
  .addNode("feedback", recordTruth)
  .addNode("align", alignment)
  .addEdge(START, "load_persona")
  .addEdge("load_persona", "agent")
  .addConditionalEdges("agent", routeAfterAgent, { tools: "tools", answered: "record" })
  .addEdge("tools", "agent")
  .addConditionalEdges("record", routeAfterRecord, ["feedback", END])
  .addConditionalEdges("feedback", routeAfterFeedback, ["align", END])
  .addEdge("align", END);

// The alignment subgraph runs under this graph's recursion limit: enough for the largest
// alignment a feedback may trigger (callers may not set their own), never below LangGraph's 25.
export const graph = builder.compile().withConfig({ recursionLimit: Math.max(25, maxAlignmentRecursionLimit()), ...servedOutput(PersonaAgentOutput) });
graph.name = "persona_agent";
