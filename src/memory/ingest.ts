/**
 * Ingest a user's history: episodic memory first (durable, deduplicated), then the semantic
 * profile, then the first persona. Each step is idempotent, so re-running after a failure
 * (say, the LLM timed out while summarizing) finishes the job without duplicating anything.
 */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { EpisodicMemory, Progress } from "./episodic.js";
import type { HistoryEntry } from "./history.js";
import { summarizeProfile, type ProfileTask, type SemanticMemory } from "./semantic.js";
import { initialPersona, type PersonaStore } from "../persona/persona.js";

export interface IngestResult {
  added: number;
  skipped: number;
  profileUpdated: boolean;
  personaVersion: number;
  personaCreated: boolean;
}

export async function ingestHistory(
  parts: { memory: EpisodicMemory; semantic: SemanticMemory; personas: PersonaStore; chatModel: () => Promise<BaseChatModel> },
  userId: string,
  entries: HistoryEntry[],
  options: { task: ProfileTask; onProgress?: Progress },
): Promise<IngestResult> {
  const { memory, semantic, personas, chatModel } = parts;
  const { added, skipped } = await memory.add(userId, entries, options.onProgress);

  let profile = await semantic.get(userId);
  const profileUpdated = added > 0 || profile === undefined || profile.task !== options.task;
  if (profileUpdated) {
    const all = await memory.list(userId);
    const text = await summarizeProfile(await chatModel(), all, options.task);
    profile = { text, task: options.task, basedOn: all.length, createdAt: new Date().toISOString() };
    await semantic.put(userId, profile);
  }

  let persona = await personas.current(userId);
  const personaCreated = persona === undefined;
  if (!persona) {
    persona = await personas.save(userId, await initialPersona(profile!.text, personas.promptSet), "initialized", { profileCreatedAt: profile!.createdAt });
  }
  return { added, skipped, profileUpdated, personaVersion: persona.version, personaCreated };
}
