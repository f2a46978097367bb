/**
 * ingest: one node that adds a user's history (what `persona-agent ingest --file` reads from
 * JSONL) to episodic memory, builds the semantic profile and creates the first persona. It lets
 * Studio and Platform clients create users without the CLI; the user is `configurable.userId`,
 * as in the other graphs.
 */
import { Annotation, END, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { ConfigurationAnnotation } from "../src/configuration.js";
import { UserError } from "../src/errors.js";
import { validateHistoryEntry, type HistoryEntry } from "../src/memory/history.js";
import { ingestHistory } from "../src/memory/ingest.js";
import { parseProfileTask, type ProfileTask } from "../src/memory/semantic.js";
import { servicesFor } from "../src/services.js";
import { asUserRun } from "../src/store/lifecycle.js";

export const IngestInput = Annotation.Root({
  /** `{query, response, timestamp?, metadata?}` objects, validated like the JSONL loader's lines. */
  entries: Annotation<HistoryEntry[]>(),
  /** Which profile summarization prompt to use (default "general"). */
  task: Annotation<ProfileTask | undefined>(),
});

export const IngestOutput = Annotation.Root({
  added: Annotation<number>(),
  skipped: Annotation<number>(),
  profileUpdated: Annotation<boolean>(),
  personaVersion: Annotation<number>(),
  personaCreated: Annotation<boolean>(),
});

const IngestState = Annotation.Root({ ...IngestInput.spec, ...IngestOutput.spec });

/** Input arrives as untyped JSON over HTTP: check it all before anything is stored. */
export function validateEntries(entries: unknown): HistoryEntry[] {
  if (!Array.isArray(entries)) throw new UserError(`"entries" must be an array of {query, response} objects`);
  if (entries.length === 0) throw new UserError(`"entries" is empty: give at least one history entry`);
  return entries.map((entry, i) => validateHistoryEntry(entry, `entries[${i}]`));
}

async function ingest(state: typeof IngestState.State, config: LangGraphRunnableConfig): Promise<typeof IngestOutput.Update> {
  const entries = validateEntries(state.entries);
  const task = parseProfileTask(state.task ?? "general");
  const services = servicesFor(config); // validates configurable.userId
  // One run of the user: a forget while it runs wins (src/store/lifecycle.ts).
  return asUserRun(services.store, services.config.userId, () => ingestHistory(services, services.config.userId, entries, { task }));
}

export const builder = new StateGraph({ stateSchema: IngestState, input: IngestInput, output: IngestOutput }, ConfigurationAnnotation)
  .addNode("ingest", ingest)
  .addEdge(START, "ingest")
  .addEdge("ingest", END);

export const graph = builder.compile();
graph.name = "ingest";
