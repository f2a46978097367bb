/**
 * forget: one node that deletes every record of the run's user (`userId`, which the auth
 * handler pins to the caller, so a caller can only forget itself) from the store the graph
 * runs on, and the user's FAISS index on this server. On LangGraph Platform the conversation
 * threads are the platform's: callers delete theirs through the threads API (see docs/DEPLOY.md).
 */
import { END, START, StateGraph } from "@langchain/langgraph";
import { ForgetContext, ForgetInput, ForgetOutput, forgetNode } from "../src/users/forget.js";

export const builder = new StateGraph({
  state: ForgetOutput,
  input: ForgetInput,
  output: ForgetOutput,
  context: ForgetContext,
})
  .addNode("forget", forgetNode)
  .addEdge(START, "forget")
  .addEdge("forget", END);

export const graph = builder.compile();
graph.name = "forget";
