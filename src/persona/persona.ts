/**
 * Personas: each user's own system prompt, kept as numbered versions. A version record is
 * written before the head that points at it, so a crash in between leaves the previous
 * persona current and never exposes a half-written one.
 *
 * Saving never overwrites a version and, given `basedOn`, refuses to save when the head has
 * moved since the persona was derived (another alignment won): retrying onto the new head
 * would silently discard what that other run learned.
 */
import type { BaseStore } from "@langchain/langgraph";
import { UnknownUserError, UserError } from "../errors/errors.js";
import { renderSetPrompt } from "../prompts/prompts.js";
import { DEFAULT_SETTINGS, type PromptSet } from "../configuration/settings.js";
import { listAll } from "../store/list.js";
import { userNamespace } from "../users/users.js";
import { isLocking, isTransactional, withProcessLock } from "../store/transactional.js";
import { unwrapStore } from "../adapters/batched-store.js";
import { assertCurrent, assertCurrentSync, withUserLock } from "../store/lifecycle.js";

export interface PersonaVersion {
  version: number;
  persona: string;
  createdAt: string;
  /** Why this version exists: "initialized" from the profile, or "aligned" at test time. */
  origin: "initialized" | "aligned";
  /** The prompt set it was made with (persona initialization or LLM_grad/LLM_update). */
  promptSet?: PromptSet;
  /** Free-form details of how it was made (e.g. the feedback that produced it). */
  details?: Record<string, unknown>;
}

const HEAD_KEY = "persona";
const versionKey = (version: number) => `v${String(version).padStart(8, "0")}`;

/** A persona version not yet saved: its text, why it exists and how it was made. */
export type PersonaDraft = Pick<PersonaVersion, "persona" | "origin" | "details">;

/** The head moved (or the version exists) between reading the persona and saving its successor. */
export class PersonaConflictError extends UserError {
  constructor(userId: string, basedOn: number, head: number) {
    super(
      `the persona of user "${userId}" changed while this run worked on v${basedOn} (now v${head}); nothing was saved, run it again`,
    );
    this.name = "PersonaConflictError";
  }
}

/** The first persona: the set's persona initialization prompt (the paper's Appendix B) filled with the profile. */
export async function initialPersona(profile: string, set: PromptSet): Promise<string> {
  return renderSetPrompt(set, "persona_init", { profile });
}

export class PersonaStore {
  private readonly store: BaseStore;

  /** `promptSet`: the prompt set of this run, recorded with every version it saves. */
  constructor(
    store: BaseStore,
    readonly promptSet: PromptSet = DEFAULT_SETTINGS.promptSet,
  ) {
    this.store = unwrapStore(store);
  }

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

  /** Stores `persona` as the next version and makes it current; see saveVersions. */
  async save(
    userId: string,
    persona: string,
    origin: PersonaVersion["origin"],
    details?: Record<string, unknown>,
    options: { basedOn?: number } = {},
  ): Promise<PersonaVersion> {
    const [saved] = await this.saveVersions(userId, [{ persona, origin, ...(details ? { details } : {}) }], options);
    return saved!;
  }

  /**
   * Stores `drafts` as the next versions, in order, and makes the last one current: all of them
   * or none. With `basedOn`, fails with PersonaConflictError unless the head is still that
   * version. On SqliteStore the check and every write are one BEGIN IMMEDIATE transaction, safe
   * across processes; on PostgreSQL (as opened by openPersistence) they run under an advisory
   * lock, also safe across processes, and the head, written last, is what makes them current:
   * versions past the head are never read, and under the lock they can only be what a save
   * killed before its head write left, so they are overwritten. On other stores it is
   * check-then-put, serialized within this process; two processes that both read the same head
   * between one's check and its put can still both write the same version keys (the later wins).
   */
  async saveVersions(
    userId: string,
    drafts: PersonaDraft[],
    options: { basedOn?: number } = {},
  ): Promise<PersonaVersion[]> {
    const personaNs = userNamespace(userId, "persona");
    const metaNs = userNamespace(userId, "meta");
    const next = (head: number, exists: (version: number) => boolean): PersonaVersion[] => {
      if (options.basedOn !== undefined && head !== options.basedOn)
        throw new PersonaConflictError(userId, options.basedOn, head);
      if (exists(head + 1)) throw new PersonaConflictError(userId, head, head + 1);
      const createdAt = new Date().toISOString();
      return drafts.map((draft, i) => ({ version: head + 1 + i, createdAt, promptSet: this.promptSet, ...draft }));
    };
    const store = this.store;
    if (isTransactional(store)) {
      return store.transaction(() => {
        assertCurrentSync(store, userId);
        const head = (store.getSync(metaNs, HEAD_KEY)?.value.version as number | undefined) ?? 0;
        const records = next(head, (v) => store.getSync(personaNs, versionKey(v)) !== null);
        for (const record of records) store.putSync(personaNs, versionKey(record.version), { ...record });
        if (records.length > 0) store.putSync(metaNs, HEAD_KEY, { version: records.at(-1)!.version });
        return records;
      });
    }
    // Saves queue within this process first; only other processes can still race for the lock.
    return withProcessLock(store, `persona-save:${userId}`, () =>
      withUserLock(store, userId, async () => {
        await assertCurrent(store, userId);
        const head = ((await store.get(metaNs, HEAD_KEY))?.value.version as number | undefined) ?? 0;
        const taken = !isLocking(store) && (await store.get(personaNs, versionKey(head + 1))) !== null;
        const records = next(head, () => taken);
        for (const record of records) await store.put(personaNs, versionKey(record.version), { ...record });
        if (records.length > 0) await store.put(metaNs, HEAD_KEY, { version: records.at(-1)!.version });
        return records;
      }),
    );
  }
}

/** The user's current persona, for every run that starts from it; an unknown user is the caller's mistake. */
export async function loadPersona(personas: PersonaStore, userId: string): Promise<PersonaVersion> {
  const current = await personas.current(userId);
  if (!current) throw new UnknownUserError(userId, "no persona yet (run persona-agent ingest first)");
  return current;
}

/** What changed between two persona texts, as `- old line` / `+ new line` (LCS over lines; personas are short). */
export function lineDiff(before: string, after: string): string[] {
  const a = before.split("\n");
  const b = after.split("\n");
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..]
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && (i === a.length || lcs[i]![j + 1]! > lcs[i + 1]![j]!)) out.push(`+ ${b[j++]}`);
    else out.push(`- ${a[i++]}`);
  }
  return out;
}
