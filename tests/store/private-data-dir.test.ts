/**
 * The data directory is private by default (issue 21, failure 5): created 0700, every file in it
 * 0600 (SQLite's -wal and -shm, the FAISS index, the embedding cache), and one left open to
 * others is closed with one warning line. Through the real executable.
 */
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { startOpenAIServer, type OpenAITestServer } from "../../testing/openai-server.js";
import { ALICE_HISTORY, tempDir } from "../../testing/fixtures.js";
import { runCli, scriptedEnv } from "../support/cli.js";
import { writeJsonl } from "../faults/support.js";

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** Every path under `dir` with its mode, directories included. */
function modes(dir: string): Record<string, string> {
  const found: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      found[path.slice(dir.length + 1)] = mode(path);
      if (statSync(path).isDirectory()) walk(path);
    }
  };
  walk(dir);
  return found;
}

let server: OpenAITestServer;
beforeAll(async () => {
  server = await startOpenAIServer(() => ({ content: "Profile: a sci-fi fan" }));
});
afterAll(() => server.close());

test("a new data directory is 0700 and every file in it 0600, SQLite's -wal and -shm included", async () => {
  const dataDir = join(tempDir("private-new-"), "nested", "data");
  const env = scriptedEnv(server.url, dataDir);
  const history = writeJsonl(tempDir("private-history-"), "h.jsonl", ALICE_HISTORY);
  expect((await runCli(["ingest", "--user", "alice", "--file", history], env)).stderr).toBe("");
  // Another connection keeps the -wal and -shm files in place while a second command writes.
  const other = new Database(join(dataDir, "store.sqlite"), { readonly: true });
  try {
    other.prepare("SELECT count(*) FROM store_items").get();
    expect((await runCli(["forget", "--user", "alice"], env)).stderr).toBe("");
    const found = modes(dataDir);
    expect(Object.keys(found)).toEqual(
      expect.arrayContaining(["store.sqlite", "store.sqlite-wal", "store.sqlite-shm", "checkpoints.sqlite", "indexes"]),
    );
    expect(mode(dataDir)).toBe("700");
    for (const [path, bits] of Object.entries(found))
      expect([path, bits]).toEqual([path, statSync(join(dataDir, path)).isDirectory() ? "700" : "600"]);
  } finally {
    other.close();
  }
  // The index and embedding cache an ingest writes, too.
  expect((await runCli(["ingest", "--user", "bob", "--file", history], env)).stderr).toBe("");
  const indexes = Object.entries(modes(join(dataDir, "indexes")));
  expect(indexes.length).toBeGreaterThan(2);
  for (const [path, bits] of indexes)
    expect([path, bits]).toEqual([path, statSync(join(dataDir, "indexes", path)).isDirectory() ? "700" : "600"]);
}, 60_000);

test("a data directory open to others is closed with everything persona-agent keeps in it, with one warning line", async () => {
  const dataDir = tempDir("private-old-");
  const env = scriptedEnv(server.url, dataDir);
  const history = writeJsonl(tempDir("private-history-"), "h.jsonl", ALICE_HISTORY);
  expect((await runCli(["ingest", "--user", "alice", "--file", history], env)).code).toBe(0);
  // As an older version (or a careless copy) left it: 0755 directories, 0644 files.
  const open = (path: string) => {
    chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644);
    if (statSync(path).isDirectory()) for (const name of readdirSync(path)) open(join(path, name));
  };
  open(dataDir);
  mkdirSync(join(dataDir, "notes"));
  writeFileSync(join(dataDir, "notes", "mine.txt"), "the user's own file");
  chmodSync(join(dataDir, "notes", "mine.txt"), 0o644);

  const result = await runCli(["persona", "--user", "alice"], env);
  expect(result.code).toBe(0);
  expect(result.stderr).toBe(
    `persona-agent: warning: the data directory ${dataDir} was open to other users (mode 755); made it and its files private to you (no group or other permissions)\n`,
  );
  expect(mode(dataDir)).toBe("700");
  for (const [path, bits] of Object.entries(modes(dataDir)).filter(([p]) => !p.startsWith("notes"))) {
    expect([path, bits]).toEqual([path, statSync(join(dataDir, path)).isDirectory() ? "700" : "600"]);
  }
  expect(mode(join(dataDir, "notes", "mine.txt"))).toBe("644"); // not persona-agent's: left as it was (the directory guards it)
  expect((await runCli(["persona", "--user", "alice"], env)).stderr).toBe(""); // said once
}, 60_000);
