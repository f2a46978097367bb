/**
 * Self-repair (issue 21, failure 12): every file of a user's index directory is derived from the
 * store, so any of them broken, truncated or replaced by garbage is rebuilt from the stored
 * vectors on the next retrieval: the answer is right, and the next process loads the repaired
 * files.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InMemoryStore } from "@langchain/langgraph";
import { EpisodicMemory, entryId } from "../../src/memory/episodic.js";
import { userFileKey } from "../../src/users/users.js";
import { ALICE_HISTORY, BOB_HISTORY, TinyEmbeddings, tempDir } from "../../testing/fixtures.js";

const MODEL = "test:tiny";

const entries = (text: string) => JSON.parse(text) as Record<string, unknown>[];
const damage: Record<string, { file: string; change(text: string): string }> = {
  "a truncated entries.json": { file: "entries.json", change: (text) => text.slice(0, Math.floor(text.length / 2)) },
  "garbage bytes as entries.json": { file: "entries.json", change: () => "\u0000\u00ff garbage" },
  "entries.json of numbers": { file: "entries.json", change: (text) => JSON.stringify(entries(text).map((_, i) => i)) },
  "entries.json of empty objects": {
    file: "entries.json",
    change: (text) => JSON.stringify(entries(text).map(() => ({}))),
  },
  "entries.json with nulls": { file: "entries.json", change: (text) => JSON.stringify(entries(text).map(() => null)) },
  "entries.json naming entries the store lacks": {
    file: "entries.json",
    change: (text) => JSON.stringify(entries(text).map((e, i) => ({ ...e, id: `stale-${i}` }))),
  },
  "entries.json in another order": { file: "entries.json", change: (text) => JSON.stringify(entries(text).reverse()) },
  "entries.json of an object": { file: "entries.json", change: () => JSON.stringify({ entries: [] }) },
  "a garbage manifest.json": { file: "manifest.json", change: () => "{ not json" },
  "a manifest.json of the wrong shape": { file: "manifest.json", change: () => JSON.stringify([1, 2, 3]) },
  "a garbage faiss.index": { file: "faiss.index", change: () => "not a faiss index" },
};

describe.each(Object.entries(damage))("%s is rebuilt from the store", (_name, { file, change }) => {
  test("retrieval answers right and the next process reads the repaired files", async () => {
    const store = new InMemoryStore();
    const indexDir = tempDir();
    const open = () => new EpisodicMemory(store, new TinyEmbeddings(), { embeddingsId: MODEL, indexDir });
    await open().add("alice", ALICE_HISTORY);
    await open().add("bob", BOB_HISTORY);
    const path = join(indexDir, userFileKey("alice"), file);
    writeFileSync(path, change(readFileSync(path, "latin1")), "latin1");

    for (const [i, entry] of ALICE_HISTORY.entries()) {
      const [hit] = await open().retrieve("alice", `${entry.query}\n${entry.response}`, 1);
      expect([i, hit?.id, hit?.query]).toEqual([i, entryId(entry), entry.query]);
    }
    // Repaired on disk: a fresh process's index holds exactly the store's entries.
    const ids = (
      entries(readFileSync(join(indexDir, userFileKey("alice"), "entries.json"), "utf8")) as { id: string }[]
    )
      .map((e) => e.id)
      .sort();
    expect(ids).toEqual(ALICE_HISTORY.map(entryId).sort());
    const [bobHit] = await open().retrieve("bob", `${BOB_HISTORY[0]!.query}\n${BOB_HISTORY[0]!.response}`, 1);
    expect(bobHit!.id).toBe(entryId(BOB_HISTORY[0]!));
  });
});
