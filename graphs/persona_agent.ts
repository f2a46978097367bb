/**
 * persona_agent: load_persona -> agent <-> tools -> record -> END.
 * The persona is the system prompt of every agent call; tools are bound to the run's user.
 */
import { END, START, StateGraph } from "@langchain/langgraph";
import { ConfigurationAnnotation } from "../src/configuration.js";
import { PersonaAgentState } from "../src/agent/state.js";
import { callAgent, loadPersona, recordInteraction, routeAfterAgent, runTools } from "../src/agent/nodes.js";

export const builder = new StateGraph(PersonaAgentState, ConfigurationAnnotation)
  .addNode("load_persona", loadPersona)
  .addNode("agent", callAgent)
  .addNode("tools", runTools)
  .addNode("record", recordInteraction)
  .addEdge(START, "load_persona")
  .addEdge("load_persona", "agent")
  .addConditionalEdges("agent", routeAfterAgent, ["tools", "record"])
  .addEdge("tools", "agent")
  .addEdge("record", END);

export const graph = builder.compile();
graph.name = "persona_agent";
