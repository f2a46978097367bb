/**
 * Personas: each user's own system prompt, kept as numbered versions. A version record is
 * written before the head that points at it, so a crash in between leaves the previous
 * persona current and never exposes a half-written one.
 */
import type { BaseStore } from "@langchain/langgraph";
import { renderPrompt } from "../prompts.js";
import { listAll } from "../store/list.js";
import { userNamespace } from "../users.js";

export interface PersonaVersion {
  version: number;
  persona: string;
  createdAt: string;
  /** Why this version exists: "initialized" from the profile, or "aligned" at test time. */
  origin: "initialized" | "aligned";
  /** Free-form details of how it was made (e.g. the feedback that produced it). */
  details?: Record<string, unknown>;
}

const HEAD_KEY = "persona";
const versionKey = (version: number) => `v${String(version).padStart(8, "0")}`;

export async function initialPersona(profile: string): Promise<string> {
  return renderPrompt("persona_init", { profile });
}

export class PersonaStore {
  constructor(private readonly store: BaseStore) {}

  async current(userId: string): Promise<PersonaVersion | undefined> {
    const head = await this.store.get(userNamespace(userId, "meta"), HEAD_KEY);
    if (!head) return undefined;
    const item = await this.store.get(userNamespace(userId, "persona"), versionKey(head.value.version as number));
    return item?.value as PersonaVersion | undefined;
  }

  /** Every version up to the current one, oldest first. */
  async history(userId: string): Promise<PersonaVersion[]> {
    const current = await this.current(userId);
    if (!current) return [];
    const items = await listAll(this.store, userNamespace(userId, "persona"));
    return items
      .map((item) => item.value as PersonaVersion)
      .filter((v) => v.version <= current.version)
      .sort((a, b) => a.version - b.version);
  }

  async save(userId: string, persona: string, origin: PersonaVersion["origin"], details?: Record<string, unknown>): Promise<PersonaVersion> {
    const version = ((await this.current(userId))?.version ?? 0) + 1;
    const record: PersonaVersion = { version, persona, createdAt: new Date().toISOString(), origin, ...(details ? { details } : {}) };
    await this.store.put(userNamespace(userId, "persona"), versionKey(version), { ...record });
    await this.store.put(userNamespace(userId, "meta"), HEAD_KEY, { version });
    return record;
  }
}
