/** Semantic memory: an LLM-written profile of the user, summarized from episodic memory. */
import { putUserItems } from "../store/lifecycle.js";
import type { BaseStore } from "@langchain/langgraph";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage } from "@langchain/core/messages";
import { renderPrompt } from "../prompts/prompts.js";
import { UserError } from "../errors/errors.js";
import { userNamespace } from "../users/users.js";
import type { EpisodicEntry } from "./episodic.js";

import type { ProfileTask } from "./profile-tasks.js";

export { PROFILE_TASKS, parseProfileTask, type ProfileTask } from "./profile-tasks.js";

export interface SemanticProfile {
  text: string;
  task: ProfileTask;
  /** How many episodic entries the summary saw. */
  basedOn: number;
  createdAt: string;
}

/**
 * Characters of history one summarization call reads. A longer history is summarized in parts of
 * this size (oldest first) whose profiles are then combined, so the profile is written from the
 * whole history and nothing is cut.
 */
export const HISTORY_BUDGET_CHARS = 16_000;

/**
 * One entry as the summary reads it: its `metadata.content` where it has one (LaMP: the item and
 * the user's answer without the task's fixed instruction and label list), else its query and
 * response. Never cut.
 */
function historyLine(entry: EpisodicEntry): string {
  const content = entry.metadata?.content;
  return typeof content === "string" && content.trim() !== ""
    ? `- ${content}`
    : `- Query: ${entry.query}\n  Response: ${entry.response}`;
}

/** `texts` packed in order into groups whose joined length stays within `budget` (a longer text alone, at least `min` per group). */
function pack(texts: readonly string[], budget: number, min = 1): string[][] {
  const groups: string[][] = [];
  let group: string[] = [];
  let used = 0;
  for (const text of texts) {
    if (group.length >= min && used + text.length > budget) {
      groups.push(group);
      group = [];
      used = 0;
    }
    group.push(text);
    used += text.length + 1;
  }
  if (group.length > 0 || groups.length === 0) groups.push(group);
  return groups;
}

/** `text` in pieces of at most `size` characters, never splitting a surrogate pair. */
function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let start = 0; start < text.length || out.length === 0;) {
    let end = Math.min(start + size, text.length);
    if (end < text.length && end - 1 > start && /[\ud800-\udbff]/.test(text[end - 1]!)) end--;
    out.push(text.slice(start, end));
    start = end;
  }
  return out;
}

/** The whole history as the parts one call each reads, oldest first; an entry longer than a part is split over several. */
export function historyParts(entries: EpisodicEntry[], budget = HISTORY_BUDGET_CHARS): string[] {
  return pack(
    entries.map(historyLine).flatMap((line) => pieces(line, budget)),
    budget,
  ).map((group) => group.join("\n"));
}

async function complete(model: BaseChatModel, prompt: string): Promise<string> {
  const reply = await model.invoke([new HumanMessage(prompt)]);
  const text = reply.text.trim();
  if (!text) throw new UserError("the model returned an empty profile; nothing was changed");
  return text;
}

/** Partial profiles (oldest part first) combined into one, in rounds when even they exceed the budget. */
async function combine(model: BaseChatModel, profiles: string[], budget: number): Promise<string> {
  const numbered = profiles.map((profile, i) => `Part ${i + 1} of ${profiles.length}:\n${profile}`);
  const groups = pack(numbered, budget, 2);
  const combined = await Promise.all(
    groups.map(async (group) =>
      group.length === 1
        ? profiles[numbered.indexOf(group[0]!)]!
        : complete(model, await renderPrompt("profile/combine", { profiles: group.join("\n\n") })),
    ),
  );
  return combined.length === 1 ? combined[0]! : combine(model, combined, budget);
}

/**
 * The user's profile from their whole history, with the task's prompt (`prompts/profile/<task>`):
 * one call when the history fits HISTORY_BUDGET_CHARS, else one call per part (in parallel) and
 * the partial profiles combined (`prompts/profile/combine`).
 */
export async function summarizeProfile(
  model: BaseChatModel,
  entries: EpisodicEntry[],
  task: ProfileTask,
  budget = HISTORY_BUDGET_CHARS,
): Promise<string> {
  const parts = historyParts(entries, budget);
  const profiles = await Promise.all(
    parts.map(async (history) => complete(model, await renderPrompt(`profile/${task}`, { history }))),
  );
  return profiles.length === 1 ? profiles[0]! : combine(model, profiles, budget);
}

export class SemanticMemory {
  constructor(private readonly store: BaseStore) {}

  async get(userId: string): Promise<SemanticProfile | undefined> {
    const item = await this.store.get(userNamespace(userId, "profile"), "current");
    return item?.value as SemanticProfile | undefined;
  }

  async put(userId: string, profile: SemanticProfile): Promise<void> {
    await putUserItems(this.store, userId, [
      { namespace: userNamespace(userId, "profile"), key: "current", value: { ...profile } },
    ]);
  }

  /**
   * Marks an ingest as begun (before its memories are stored) or finished (after its profile step).
   * While the mark stands, the profile may not summarize every memory an ingest added: `persona`
   * and `ask` say so (stale.ts). Memories recorded by feedback never set it: the profile summarizes
   * the history, and the persona learns the feedback through alignment.
   */
  async markIngest(userId: string, running: boolean): Promise<void> {
    await putUserItems(this.store, userId, [
      {
        namespace: userNamespace(userId, "profile"),
        key: INGEST_MARK,
        value: running ? { since: new Date().toISOString() } : null,
      },
    ]);
  }

  /** When an ingest that has not finished began, if one has. */
  async unfinishedIngest(userId: string): Promise<string | undefined> {
    const item = await this.store.get(userNamespace(userId, "profile"), INGEST_MARK);
    return (item?.value as { since?: string } | undefined)?.since;
  }
}

const INGEST_MARK = "ingest-running";
