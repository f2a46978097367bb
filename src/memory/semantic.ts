/** Semantic memory: an LLM-written profile of the user, summarized from episodic memory. */
import { putUserItems } from "../store/lifecycle.js";
import type { BaseStore } from "@langchain/langgraph";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage } from "@langchain/core/messages";
import { renderPrompt } from "../prompts.js";
import { UserError } from "../errors.js";
import { userNamespace } from "../users.js";
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

/** Keeps the summarization prompt within a model's context on long histories. */
const HISTORY_BUDGET_CHARS = 16_000;
const ENTRY_CHARS = 600;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The most recent entries that fit the budget, oldest first. */
export function formatHistory(entries: EpisodicEntry[], budget = HISTORY_BUDGET_CHARS): string {
  const lines: string[] = [];
  let used = 0;
  for (const e of [...entries].reverse()) {
    const line = `- Query: ${clip(e.query, ENTRY_CHARS)}\n  Response: ${clip(e.response, ENTRY_CHARS)}`;
    if (used + line.length > budget && lines.length > 0) break;
    lines.push(line);
    used += line.length;
  }
  return lines.reverse().join("\n");
}

export async function summarizeProfile(model: BaseChatModel, entries: EpisodicEntry[], task: ProfileTask): Promise<string> {
  const prompt = await renderPrompt(`profile/${task}`, { history: formatHistory(entries) });
  const reply = await model.invoke([new HumanMessage(prompt)]);
  const text = reply.text.trim();
  if (!text) throw new UserError("the model returned an empty profile; nothing was changed");
  return text;
}

export class SemanticMemory {
  constructor(private readonly store: BaseStore) {}

  async get(userId: string): Promise<SemanticProfile | undefined> {
    const item = await this.store.get(userNamespace(userId, "profile"), "current");
    return item?.value as SemanticProfile | undefined;
  }

  async put(userId: string, profile: SemanticProfile): Promise<void> {
    await putUserItems(this.store, userId, [{ namespace: userNamespace(userId, "profile"), key: "current", value: { ...profile } }]);
  }
}
