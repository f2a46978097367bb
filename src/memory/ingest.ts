/**
 * Ingest a user's history: episodic memory first (durable, deduplicated), then the semantic
 * profile, then the first persona. Each step is idempotent, so re-running after a failure
 * (say, the LLM timed out while summarizing) finishes the job without duplicating anything:
 * a missing profile, or one built on fewer memories than the user now has, is rebuilt. Until
 * then `persona` and `ask` say that the ingest is unfinished (incompleteUserError).
 */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { EpisodicMemory, Progress } from "./episodic.js";
import type { HistoryEntry } from "./history.js";
import { summarizeProfile, type ProfileTask, type SemanticMemory } from "./semantic.js";
import { initialPersona, PersonaConflictError, type PersonaStore } from "../persona/persona.js";
import { UnknownUserError, UserError } from "../errors/errors.js";
import { describeProviderError } from "../models/chat.js";

export interface IngestResult {
  added: number;
  skipped: number;
  profileUpdated: boolean;
  personaVersion: number;
  personaCreated: boolean;
}

export async function ingestHistory(
  parts: {
    memory: EpisodicMemory;
    semantic: SemanticMemory;
    personas: PersonaStore;
    chatModel: () => Promise<BaseChatModel>;
  },
  userId: string,
  entries: HistoryEntry[],
  options: { task: ProfileTask; onProgress?: Progress },
): Promise<IngestResult> {
  const { memory, semantic, personas, chatModel } = parts;
  await semantic.markIngest(userId, true);
  const { added, skipped } = await memory.add(userId, entries, options.onProgress);
  try {
    let profile = await semantic.get(userId);
    // Stale: an earlier ingest stored memories and failed before its profile was rebuilt.
    const stale = profile !== undefined && profile.basedOn !== (await memory.count(userId));
    const profileUpdated = added > 0 || profile === undefined || profile.task !== options.task || stale;
    if (profileUpdated) {
      const all = await memory.list(userId);
      const text = await summarizeProfile(await chatModel(), all, options.task);
      profile = { text, task: options.task, basedOn: all.length, createdAt: new Date().toISOString() };
      await semantic.put(userId, profile);
    }

    let persona = await personas.current(userId);
    let personaCreated = persona === undefined;
    if (!persona) {
      const initial = await initialPersona(profile!.text, personas.promptSet);
      try {
        // Only as the first version: of concurrent first ingests of a user, one initializes it.
        persona = await personas.save(
          userId,
          initial,
          "initialized",
          { profileCreatedAt: profile!.createdAt },
          { basedOn: 0 },
        );
      } catch (error) {
        if (!(error instanceof PersonaConflictError)) throw error;
        persona = (await personas.current(userId))!;
        personaCreated = false;
      }
    }
    await semantic.markIngest(userId, false);
    return { added, skipped, profileUpdated, personaVersion: persona.version, personaCreated };
  } catch (error) {
    // The memories are stored; say so, and how to finish (re-running adds nothing twice).
    const reason = error instanceof UserError ? error.message : describeProviderError(error);
    if (reason === undefined || /was forgotten while/.test(reason)) throw error;
    throw new UserError(
      `${reason}; the ${added} new memories are stored, the profile and persona are not up to date: run the same ingest again to finish`,
      error instanceof UserError ? error.exitCode : 3,
    );
  }
}

/**
 * The error for a user without a persona: unknown, or an ingest that stored memories and did
 * not finish (its profile or persona step failed), which a re-run repairs.
 */
export async function unknownUserError(
  memory: Pick<EpisodicMemory, "count">,
  userId: string,
  hint: string,
): Promise<UserError> {
  const stored = await memory.count(userId);
  if (stored === 0) return new UnknownUserError(userId, hint);
  const unfinished = `user "${userId}" has ${stored} memories but no persona: an ingest did not finish`;
  return new UserError(`${unfinished}; run the ingest graph with the same entries again to finish it`, 2, {
    cli: `${unfinished}; run persona-agent ingest --user ... --file ... again to finish it`,
  });
}
