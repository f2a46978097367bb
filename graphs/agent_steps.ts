/**
 * agent_steps: agent <-> tools, the tool-calling loop, wired once. persona_agent runs it as its
 * subgraph node `agent_steps` between load_persona and record; alignment replays stored
 * interactions through it with a candidate persona (no persona loading, no record).
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

// No checkpoints of its own, even under a checkpointed parent: replays are throwaway runs
// (validation runs several in one task, which would collide on one checkpoint namespace), and a
// persona_agent turn is checkpointed by persona_agent.
export const graph = builder.compile({ checkpointer: false });
graph.name = "agent_steps";
