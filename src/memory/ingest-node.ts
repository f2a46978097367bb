/**
 * The ingest graph's input, output and its one step (graphs/ingest.ts wires it): a user's
 * history given over the API, validated like the JSONL loader's lines, added to memory.
 */
import { Annotation, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { UserError } from "../errors.js";
import { servicesFor } from "../services.js";
import { asUserRun } from "../store/lifecycle.js";
import { validateHistoryEntry, type HistoryEntry } from "./history.js";
import { ingestHistory } from "./ingest.js";
import { parseProfileTask, type ProfileTask } from "./semantic.js";

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

export const IngestState = Annotation.Root({ ...IngestInput.spec, ...IngestOutput.spec });

/** Input arrives as untyped JSON over HTTP: check it all before anything is stored. */
export function validateEntries(entries: unknown): HistoryEntry[] {
  if (!Array.isArray(entries)) throw new UserError(`"entries" must be an array of {query, response} objects`);
  if (entries.length === 0) throw new UserError(`"entries" is empty: give at least one history entry`);
  return entries.map((entry, i) => validateHistoryEntry(entry, `entries[${i}]`));
}

export async function ingestNode(state: typeof IngestState.State, config: LangGraphRunnableConfig): Promise<typeof IngestOutput.Update> {
  const entries = validateEntries(state.entries);
  const task = parseProfileTask(state.task ?? "general");
  const services = servicesFor(config); // validates configurable.userId
  // One run of the user: a forget while it runs wins (src/store/lifecycle.ts).
  return asUserRun(services.store, services.config.userId, () => ingestHistory(services, services.config.userId, entries, { task }));
}

