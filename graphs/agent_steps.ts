/**
 * agent_steps: agent <-> tools, the tool-calling loop on its own. persona_agent runs the same
 * nodes between load_persona and record; alignment replays stored interactions through this
 * graph with a candidate persona (no persona loading, no record, no checkpoints of its own).
 */
import { END, START, StateGraph } from "@langchain/langgraph";
import { PersonaAgentState } from "../src/agent/state.js";
import { callAgent, routeAfterAgent, runTools } from "../src/agent/nodes.js";

export const builder = new StateGraph(PersonaAgentState)
  .addNode("agent", callAgent)
  .addNode("tools", runTools)
  .addEdge(START, "agent")
  .addConditionalEdges("agent", routeAfterAgent, { tools: "tools", answered: END })
  .addEdge("tools", "agent");

// Replays are throwaway runs: no checkpoints of their own, even under a checkpointed parent
// (validation runs several in one task, which would collide on one checkpoint namespace).
export const graph = builder.compile({ checkpointer: false });
graph.name = "agent_steps";
