/**
 * The ingest graph's input, output and its one step (graphs/ingest.ts wires it): a user's
 * history given over the API, validated like the JSONL loader's lines, added to memory.
 */
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { z } from "zod";
import { apiContextSchema, AGENT_CONTEXT, documented } from "../configuration/configuration.js";
import { UserError } from "../errors/errors.js";
import { servicesFor } from "../services/services.js";
import { asUserRun } from "../store/lifecycle.js";
import { validateHistoryEntry, type HistoryEntry } from "./history.js";
import { ingestHistory } from "./ingest.js";
import { parseProfileTask, PROFILE_TASKS } from "./semantic.js";

/** A history entry as JSON Schema, for callers; validateEntries checks the entries. */
const HISTORY_ENTRY_JSON_SCHEMA = {
  type: "object",
  required: ["query", "response"],
  properties: {
    query: { type: "string" },
    response: { type: "string", description: "The user's true response." },
    timestamp: { type: "string", description: "ISO-8601; without a zone it is UTC." },
    metadata: { type: "object" },
  },
};

export const IngestInput = z.object({
  entries: documented(
    "The user's history, checked like the lines of `persona-agent ingest --file` (at most 100,000 characters per text); entries already stored are skipped.",
    {
      type: "array",
      items: HISTORY_ENTRY_JSON_SCHEMA,
    },
  ),
  task: documented("Which profile summarization prompt to use (default general; lamp-* for LaMP histories).", {
    type: "string",
    enum: PROFILE_TASKS,
  }),
});

export const IngestOutput = z.object({
  added: z.number().describe("New memories (entries already known are skipped)."),
  skipped: z.number(),
  profileUpdated: z.boolean().describe("Whether the semantic profile was (re)written."),
  personaVersion: z.number().describe("The user's current persona version."),
  personaCreated: z.boolean().describe("Whether this ingest created the user's first persona."),
});

export const IngestState = IngestInput.merge(IngestOutput.partial());

/** The ingest graph's context: the user, and the prompt set of the first persona. */
export const IngestContext = apiContextSchema("ingest: the user whose history this is.", {
  promptSet: AGENT_CONTEXT.promptSet,
});

/** Input arrives as untyped JSON over HTTP: check it all before anything is stored. */
export function validateEntries(entries: unknown): HistoryEntry[] {
  if (!Array.isArray(entries)) throw new UserError(`"entries" must be an array of {query, response} objects`);
  if (entries.length === 0) throw new UserError(`"entries" is empty: give at least one history entry`);
  return entries.map((entry, i) => validateHistoryEntry(entry, `entries[${i}]`));
}

export async function ingestNode(
  state: z.infer<typeof IngestState>,
  config: LangGraphRunnableConfig,
): Promise<z.infer<typeof IngestOutput>> {
  const entries = validateEntries(state.entries);
  const task = parseProfileTask(state.task ?? "general");
  const services = servicesFor(config); // validates configurable.userId
  // One run of the user: a forget while it runs wins (src/store/lifecycle.ts).
  return asUserRun(services.store, services.config.userId, () =>
    ingestHistory(services, services.config.userId, entries, { task }),
  );
}
