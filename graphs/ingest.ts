/**
 * ingest: one node that adds a user's history (what `persona-agent ingest --file` reads from
 * JSONL) to episodic memory, builds the semantic profile and creates the first persona. It lets
 * Studio and Platform clients create users without the CLI; the user is `configurable.userId`,
 * as in the other graphs.
 */
import { END, START, StateGraph } from "@langchain/langgraph";
import { ConfigurationAnnotation } from "../src/configuration.js";
import { IngestInput, IngestOutput, IngestState, ingestNode } from "../src/memory/ingest-node.js";

export const builder = new StateGraph({ stateSchema: IngestState, input: IngestInput, output: IngestOutput }, ConfigurationAnnotation)
  .addNode("ingest", ingestNode)
  .addEdge(START, "ingest")
  .addEdge("ingest", END);

export const graph = builder.compile();
graph.name = "ingest";
