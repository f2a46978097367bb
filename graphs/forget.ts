/**
 * forget: one node that deletes every record of the run's user (`configurable.userId`, which the
 * auth handler pins to the caller, so a caller can only forget itself) from the store the graph
 * runs on, and the user's FAISS index on this server. On LangGraph Platform the conversation
 * threads are the platform's: callers delete theirs through the threads API (see docs/DEPLOY.md).
 */
import { Annotation, END, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { ConfigurationAnnotation } from "../src/configuration.js";
import { forgetUser } from "../src/forget.js";
import { servicesFor } from "../src/services.js";

export const ForgetOutput = Annotation.Root({
  /** How many store records were deleted. */
  deleted: Annotation<number>(),
});

async function forget(_state: unknown, config: LangGraphRunnableConfig): Promise<typeof ForgetOutput.Update> {
  const { store, memory, config: cfg } = servicesFor(config); // validates configurable.userId
  return { deleted: await forgetUser(store, memory, cfg.userId) };
}

export const builder = new StateGraph({ stateSchema: ForgetOutput, input: Annotation.Root({}), output: ForgetOutput }, ConfigurationAnnotation)
  .addNode("forget", forget)
  .addEdge(START, "forget")
  .addEdge("forget", END);

export const graph = builder.compile();
graph.name = "forget";
