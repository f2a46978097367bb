/**
 * ingest: one node that adds a user's history (what `persona-agent ingest --file` reads from
 * JSONL) to episodic memory, builds the semantic profile and creates the first persona. It lets
 * Studio and Platform clients create users without the CLI; the user is the run's `userId`
 * (context or configurable), as in the other graphs.
 */
import { END, START, StateGraph } from "@langchain/langgraph";
import { IngestContext, IngestInput, IngestOutput, IngestState, ingestNode } from "../src/memory/ingest-node.js";
import { servedOutput } from "./served-output.js";

export const builder = new StateGraph({
  state: IngestState,
  input: IngestInput,
  output: IngestOutput,
  context: IngestContext,
})
  .addNode("ingest", ingestNode)
  .addEdge(START, "ingest")
  .addEdge("ingest", END);

export const graph = builder.compile().withConfig(servedOutput(IngestOutput));
graph.name = "ingest";
