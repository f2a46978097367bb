/** SqliteStore against InMemoryStore (the reference semantics), on disk and in memory. */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import {
  Annotation,
  InMemoryStore,
  StateGraph,
  type BaseStore,
  type Item,
  type LangGraphRunnableConfig,
  type Operation,
} from "@langchain/langgraph";
import { InvalidNamespaceError } from "@langchain/langgraph-checkpoint";
import { SqliteStore } from "../../src/store/sqlite-store.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
const open: SqliteStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sqlite-store-"));
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

function fileStore(name = "store.sqlite"): SqliteStore {
  const s = new SqliteStore(join(dir, name));
  open.push(s);
  return s;
}
function memoryStore(): SqliteStore {
  const s = new SqliteStore(":memory:");
  open.push(s);
  return s;
}

/** Comparable shape: no timestamps (they differ between stores), sorted by namespace then key. */
function plain(items: (Item | null)[]): unknown[] {
  return items
    .map((i) => (i ? { namespace: i.namespace, key: i.key, value: i.value } : null))
    .sort((a, b) => JSON.stringify(a && [a.namespace, a.key]).localeCompare(JSON.stringify(b && [b.namespace, b.key])));
}

/** Applies the same puts to both stores. */
async function putBoth(stores: BaseStore[], puts: [string[], string, Record<string, unknown>][]): Promise<void> {
  for (const store of stores) for (const [ns, key, value] of puts) await store.put(ns, key, value);
}

const SEED: [string[], string, Record<string, unknown>][] = [
  [["docs"], "root", { kind: "note", score: 1, tag: "a" }],
  [["docs", "a"], "1", { kind: "report", score: 5, tag: "a" }],
  [["docs", "a"], "2", { kind: "report", score: 3.5, tag: "b" }],
  [["docs", "a", "deep"], "3", { kind: "note", score: 9, tag: "b" }],
  [["docs", "b"], "4", { kind: "report", score: "7", tag: "c" }],
  [["docsx"], "5", { kind: "report", score: 2 }],
  [["doc"], "6", { kind: "note", score: 0 }],
  [["users", "a%"], "7", { kind: "note" }],
  [["users", "ab"], "8", { kind: "note" }],
  [["users", "a_"], "9", { kind: "note" }],
  [["cache", "v1"], "10", { kind: "blob" }],
  [["docs", "v1"], "11", { kind: "blob" }],
];

describe.each([
  ["on-disk file", () => fileStore()],
  [":memory:", () => memoryStore()],
])("SqliteStore (%s)", (_name, make) => {
  test("get/put/overwrite/delete match InMemoryStore; overwrite keeps createdAt", async () => {
    const store = make();
    const ref = new InMemoryStore();
    expect(await store.get(["users", "alice"], "prefs")).toBeNull();

    await putBoth([store, ref], [[["users", "alice"], "prefs", { theme: "dark", nested: { n: [1, 2] } }]]);
    const first = await store.get(["users", "alice"], "prefs");
    expect(plain([first])).toEqual(plain([await ref.get(["users", "alice"], "prefs")]));
    expect(first!.createdAt).toBeInstanceOf(Date);
    expect(first!.updatedAt.getTime()).toBe(first!.createdAt.getTime());

    await sleep(5);
    await putBoth([store, ref], [[["users", "alice"], "prefs", { theme: "light" }]]);
    const second = await store.get(["users", "alice"], "prefs");
    expect(plain([second])).toEqual(plain([await ref.get(["users", "alice"], "prefs")]));
    expect(second!.value).toEqual({ theme: "light" });
    expect(second!.createdAt.getTime()).toBe(first!.createdAt.getTime());
    expect(second!.updatedAt.getTime()).toBeGreaterThan(first!.updatedAt.getTime());

    // Keys are opaque: separators and LIKE wildcards in keys are fine.
    await store.put(["users", "alice"], "a.b:c%_", { ok: true });
    expect((await store.get(["users", "alice"], "a.b:c%_"))!.value).toEqual({ ok: true });

    for (const s of [store, ref]) await s.delete(["users", "alice"], "prefs");
    expect(await store.get(["users", "alice"], "prefs")).toBeNull();
    expect(await ref.get(["users", "alice"], "prefs")).toBeNull();
    await store.delete(["users", "alice"], "never-existed"); // no error
  });

  test("search matches InMemoryStore for prefixes and filters", async () => {
    const store = make();
    const ref = new InMemoryStore();
    await putBoth([store, ref], SEED);
    const cases: [string[], Record<string, unknown> | undefined][] = [
      [[], undefined],
      [["docs"], undefined],
      [["docs", "a"], undefined],
      [["doc"], undefined], // label-wise: must not match "docs" / "docsx"
      [["users", "a%"], undefined], // LIKE wildcards are literal
      [["users", "a_"], undefined],
      [["nothing"], undefined],
      [["docs"], { kind: "report" }],
      [["docs"], { kind: { $eq: "note" } }],
      [["docs"], { kind: { $ne: "note" } }],
      [[], { score: { $gt: 3.5 } }],
      [[], { score: { $gte: 3.5 } }],
      [[], { score: { $lt: 3.5 } }],
      [[], { score: { $lte: 3.5 } }],
      [[], { score: { $gt: 1, $lt: 9 } }],
      [[], { score: { $gte: 1 }, tag: "b" }],
      [[], { tag: { $in: ["a", "c"] } }],
      [[], { tag: { $nin: ["a", "c"] } }],
      [[], { missing: { $ne: 1 } }],
      [[], { nested: { a: 1 } }], // objects never equal, as in InMemoryStore
    ];
    for (const [prefix, filter] of cases) {
      const got = await store.search(prefix, { filter, limit: 100 });
      const want = await ref.search(prefix, { filter, limit: 100 });
      expect({ prefix, filter, items: plain(got) }).toEqual({ prefix, filter, items: plain(want) });
    }
    // Sanity on a few cases so the comparison above cannot pass vacuously.
    expect((await store.search(["doc"], { limit: 100 })).map((i) => i.key)).toEqual(["6"]);
    expect((await store.search(["users", "a%"], { limit: 100 })).map((i) => i.key)).toEqual(["7"]);
    expect((await store.search(["docs"], { limit: 100 })).map((i) => i.key).sort()).toEqual([
      "1",
      "11",
      "2",
      "3",
      "4",
      "root",
    ]);
    expect((await store.search([], { filter: { score: { $gte: 3.5 } }, limit: 100 })).map((i) => i.key).sort()).toEqual(
      ["1", "2", "3", "4"],
    );
  });

  test("search orders by updatedAt desc and paginates with limit/offset (default limit 10)", async () => {
    const store = make();
    for (let i = 0; i < 12; i++) {
      await store.put(["p"], `k${i}`, { i, even: i % 2 === 0 });
      await sleep(2);
    }
    await store.put(["p"], "k0", { i: 0, even: true }); // update moves it to the front
    const all = await store.search(["p"], { limit: 100 });
    expect(all.map((i) => i.key)).toEqual(["k0", "k11", "k10", "k9", "k8", "k7", "k6", "k5", "k4", "k3", "k2", "k1"]);
    for (let j = 1; j < all.length; j++)
      expect(all[j - 1]!.updatedAt.getTime()).toBeGreaterThanOrEqual(all[j]!.updatedAt.getTime());

    expect((await store.search(["p"])).map((i) => i.key)).toEqual(all.slice(0, 10).map((i) => i.key));
    expect((await store.search(["p"], { limit: 3, offset: 4 })).map((i) => i.key)).toEqual(["k8", "k7", "k6"]);
    expect(await store.search(["p"], { limit: 5, offset: 50 })).toEqual([]);
    expect(await store.search(["p"], { limit: 0 })).toEqual([]);
    // Offset/limit count filtered matches, not rows.
    const evens = await store.search(["p"], { filter: { even: true }, limit: 100 });
    expect(evens.map((i) => i.key)).toEqual(["k0", "k10", "k8", "k6", "k4", "k2"]);
    expect((await store.search(["p"], { filter: { even: true }, limit: 2, offset: 1 })).map((i) => i.key)).toEqual([
      "k10",
      "k8",
    ]);
    // Same set as InMemoryStore for the same pages' union.
    const ref = new InMemoryStore();
    for (const item of all) await ref.put(item.namespace, item.key, item.value);
    expect(plain(all)).toEqual(plain(await ref.search(["p"], { limit: 100 })));
    // `query` is ignored (no vector index): same results as without it.
    expect(await store.search(["p"], { query: "anything", limit: 4 })).toEqual(all.slice(0, 4));
  });

  test("listNamespaces matches InMemoryStore (prefix/suffix/wildcards/maxDepth/limit/offset)", async () => {
    const store = make();
    const ref = new InMemoryStore();
    await putBoth([store, ref], SEED);
    const cases: Parameters<BaseStore["listNamespaces"]>[0][] = [
      {},
      { prefix: ["docs"] },
      { prefix: ["doc"] },
      { prefix: ["docs", "*"] },
      { prefix: ["*", "v1"] },
      { suffix: ["v1"] },
      { suffix: ["*", "deep"] },
      { prefix: ["docs"], suffix: ["v1"] },
      { maxDepth: 1 },
      { prefix: ["docs"], maxDepth: 2 },
      { limit: 3 },
      { limit: 3, offset: 2 },
      { offset: 100 },
    ];
    for (const options of cases) {
      expect({ options, got: await store.listNamespaces(options) }).toEqual({
        options,
        got: await ref.listNamespaces(options),
      });
    }
    expect(await store.listNamespaces({ prefix: ["docs"], maxDepth: 2 })).toEqual([
      ["docs"],
      ["docs", "a"],
      ["docs", "b"],
      ["docs", "v1"],
    ]);
    expect(await store.listNamespaces({ suffix: ["v1"] })).toEqual([
      ["cache", "v1"],
      ["docs", "v1"],
    ]);
  });

  test("a namespace disappears from listNamespaces once its last item is deleted", async () => {
    const store = make();
    await store.put(["a", "b"], "k", { v: 1 });
    expect(await store.listNamespaces({})).toEqual([["a", "b"]]);
    await store.delete(["a", "b"], "k");
    expect(await store.listNamespaces({})).toEqual([]);
  });

  test("batch: results line up with ops, reads see pre-batch state, last put to a key wins (as InMemoryStore)", async () => {
    const store = make();
    const ref = new InMemoryStore();
    await putBoth([store, ref], [[["b"], "x", { v: 0 }]]);
    const ops: Operation[] = [
      { namespace: ["b"], key: "x", value: { v: 1 } },
      { namespace: ["b"], key: "x" },
      { namespace: ["b"], key: "y", value: { v: 2 } },
      { namespace: ["b"], key: "y", value: { v: 3 } },
      { namespacePrefix: ["b"], limit: 10, offset: 0 },
      { matchConditions: undefined, limit: 10, offset: 0 },
    ];
    const got = (await store.batch(ops)) as unknown[];
    const want = (await ref.batch(ops)) as unknown[];
    expect(got).toHaveLength(6);
    expect([got[0], got[2], got[3]]).toEqual([undefined, undefined, undefined]);
    // InMemoryStore's get returns its live item (mutated by the later put), so check the value directly.
    expect((got[1] as Item).value).toEqual({ v: 0 });
    expect(plain(got[4] as Item[])).toEqual(plain(want[4] as Item[]));
    expect(plain(got[4] as Item[])).toEqual([{ namespace: ["b"], key: "x", value: { v: 0 } }]);
    expect(got[5]).toEqual(want[5]);
    expect((await store.get(["b"], "x"))!.value).toEqual({ v: 1 });
    expect((await store.get(["b"], "y"))!.value).toEqual({ v: 3 });
    expect(plain(await store.search(["b"]))).toEqual(plain(await ref.search(["b"])));
  });

  test("a batch is atomic: a later invalid op leaves nothing written", async () => {
    const store = make();
    await store.put(["t"], "existing", { v: "old" });
    // Invalid namespace in the last op.
    await expect(
      store.batch([
        { namespace: ["t"], key: "a", value: { v: 1 } },
        { namespace: ["t"], key: "existing", value: { v: "new" } },
        { namespace: ["t", "bad.label"], key: "c", value: { v: 3 } },
      ]),
    ).rejects.toThrow(InvalidNamespaceError);
    // A value that only fails while being written (JSON.stringify on a BigInt), after earlier puts ran.
    await expect(
      store.batch([
        { namespace: ["t"], key: "a", value: { v: 1 } },
        { namespace: ["t"], key: "existing", value: { v: "new" } },
        { namespace: ["t"], key: "z", value: { v: BigInt(1) } },
      ]),
    ).rejects.toThrow(/BigInt/);
    expect(await store.get(["t"], "a")).toBeNull();
    expect((await store.get(["t"], "existing"))!.value).toEqual({ v: "old" });
    expect((await store.search(["t"])).map((i) => i.key)).toEqual(["existing"]);
    expect(store.db.inTransaction).toBe(false);
  });

  test("invalid namespaces, keys and values are rejected with clear errors", async () => {
    const store = make();
    await expect(store.put(["a.b"], "k", {})).rejects.toThrow(/periods/);
    await expect(store.put(["a:b"], "k", {})).rejects.toThrow(/colons/);
    await expect(store.put(["a", ""], "k", {})).rejects.toThrow(/empty/);
    await expect(store.put([], "k", {})).rejects.toThrow(/empty/);
    await expect(store.batch([{ namespace: [], key: "k" }])).rejects.toThrow(InvalidNamespaceError);
    await expect(store.batch([{ namespace: "users" as unknown as string[], key: "k" }])).rejects.toThrow(
      /must be an array/,
    );
    await expect(store.batch([{ namespace: ["a", 1 as unknown as string], key: "k" }])).rejects.toThrow(
      /must be strings/,
    );
    await expect(store.search(["x.y"])).rejects.toThrow(InvalidNamespaceError);
    await expect(store.batch([{ namespace: ["a"], key: 1 as unknown as string, value: {} }])).rejects.toThrow(
      /key must be a string/,
    );
    await expect(
      store.batch([{ namespace: ["a"], key: "k", value: [1] as unknown as Record<string, unknown> }]),
    ).rejects.toThrow(/plain object/);
    expect(() => store.getSync(["a.b"], "k")).toThrow(InvalidNamespaceError);
    expect(() => store.putSync(["a", ""], "k", {})).toThrow(InvalidNamespaceError);
    expect(() => store.deleteNamespacePrefix([])).toThrow(/empty/);
    expect(await store.listNamespaces({})).toEqual([]);
  });

  test("deleteNamespacePrefix removes exactly that user's namespaces, label-wise", async () => {
    const store = make();
    await store.put(["users", "alice"], "root", { v: 1 });
    await store.put(["users", "alice", "persona"], "v1", { v: 1 });
    await store.put(["users", "alice", "persona"], "v2", { v: 2 });
    await store.put(["users", "alice", "meta", "deep"], "m", { v: 3 });
    await store.put(["users", "alicex", "persona"], "v1", { v: 4 });
    await store.put(["users", "alice-x"], "k", { v: 5 }); // "-" sorts just before the separator
    await store.put(["users", "alice/x"], "k", { v: 6 }); // "/" sorts just after it
    await store.put(["users", "bob"], "k", { v: 7 });
    await store.put(["other", "users", "alice"], "k", { v: 8 });

    expect(store.deleteNamespacePrefix(["users", "alice"])).toBe(4);
    expect(await store.listNamespaces({})).toEqual([
      ["other", "users", "alice"],
      ["users", "alice-x"],
      ["users", "alice/x"],
      ["users", "alicex", "persona"],
      ["users", "bob"],
    ]);
    expect((await store.get(["users", "alicex", "persona"], "v1"))!.value).toEqual({ v: 4 });
    expect(store.deleteNamespacePrefix(["users", "alice"])).toBe(0);
    expect(store.deleteNamespacePrefix(["users"])).toBe(4);
    expect(await store.listNamespaces({})).toEqual([["other", "users", "alice"]]);
  });

  test("transaction + getSync/putSync: read-modify-write, rollback on throw, sync only", async () => {
    const store = make();
    const bump = () =>
      store.transaction(() => {
        const head = store.getSync(["u", "meta"], "head");
        const version = ((head?.value.version as number | undefined) ?? 0) + 1;
        store.putSync(["u", "persona"], `v${version}`, { version });
        store.putSync(["u", "meta"], "head", { version });
        return version;
      });
    expect(bump()).toBe(1);
    expect(bump()).toBe(2);
    expect(store.getSync(["u", "meta"], "head")!.value).toEqual({ version: 2 });
    expect((await store.get(["u", "persona"], "v2"))!.value).toEqual({ version: 2 });

    expect(() =>
      store.transaction(() => {
        store.putSync(["u", "meta"], "head", { version: 99 });
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(store.getSync(["u", "meta"], "head")!.value).toEqual({ version: 2 });
    expect(store.db.inTransaction).toBe(false);

    store.putSync(["u", "persona"], "v1", null); // null deletes
    expect(store.getSync(["u", "persona"], "v1")).toBeNull();
    expect(() => store.transaction((async () => 1) as unknown as () => number)).toThrow(/promise/i);
  });

  test("start/stop keep the store usable; it works as a LangGraph graph store", async () => {
    const store = make();
    await store.start();
    await store.stop();
    const State = Annotation.Root({ n: Annotation<number> });
    const graph = new StateGraph(State)
      .addNode("count", async (state: typeof State.State, config: LangGraphRunnableConfig) => {
        const prev = await config.store!.get(["graph"], "counter");
        const n = ((prev?.value.n as number | undefined) ?? 0) + state.n;
        await config.store!.put(["graph"], "counter", { n });
        return { n };
      })
      .addEdge("__start__", "count")
      .compile({ store });
    expect((await graph.invoke({ n: 2 })).n).toBe(2);
    expect((await graph.invoke({ n: 3 })).n).toBe(5);
    expect(store.getSync(["graph"], "counter")!.value).toEqual({ n: 5 });
  });
});

describe("SqliteStore on a shared file", () => {
  test("data persists across close and reopen, timestamps included", async () => {
    const a = fileStore();
    await a.put(["users", "alice"], "prefs", { theme: "dark" });
    const before = await a.get(["users", "alice"], "prefs");
    a.close();
    const b = fileStore();
    expect(await b.get(["users", "alice"], "prefs")).toEqual(before);
    expect(await b.listNamespaces({})).toEqual([["users", "alice"]]);
    expect(b.db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(b.db.pragma("busy_timeout", { simple: true })).toBe(5000);
  });

  test("two instances on one file see each other's writes", async () => {
    const a = fileStore();
    const b = fileStore();
    await a.put(["s"], "k", { from: "a" });
    expect((await b.get(["s"], "k"))!.value).toEqual({ from: "a" });
    await b.put(["s"], "k", { from: "b" });
    await b.put(["s", "more"], "k2", { from: "b" });
    expect((await a.get(["s"], "k"))!.value).toEqual({ from: "b" });
    expect((await a.search(["s"])).map((i) => i.key).sort()).toEqual(["k", "k2"]);
    expect(a.deleteNamespacePrefix(["s", "more"])).toBe(1);
    expect(await b.listNamespaces({})).toEqual([["s"]]);
  });

  test("transaction() takes the write lock up front (BEGIN IMMEDIATE), even before its first write", () => {
    const a = fileStore();
    const b = fileStore();
    b.db.pragma("busy_timeout = 50"); // fail fast instead of waiting 5 s
    a.putSync(["c"], "n", { n: 0 });
    a.transaction(() => {
      a.getSync(["c"], "n"); // only a read so far
      expect(() => b.putSync(["c"], "n", { n: 100 })).toThrow(/busy|locked/i);
      a.putSync(["c"], "n", { n: 1 });
    });
    expect(b.getSync(["c"], "n")!.value).toEqual({ n: 1 });
  });

  test("concurrent processes bumping one counter through transaction() lose no update", async () => {
    const file = join(dir, "store.sqlite");
    const procs = 4;
    const rounds = 200;
    fileStore().putSync(["c"], "n", { n: 0 });
    // Each child checks in, waits until all have (so their loops really overlap), then bumps the counter.
    const child = `
      const { SqliteStore } = await import(process.argv[1]);
      const store = new SqliteStore(process.argv[2]);
      const bump = (key) => store.transaction(() => {
        const n = store.getSync(["c"], key)?.value.n ?? 0;
        store.putSync(["c"], key, { n: n + 1 });
      });
      bump("ready");
      const tick = new Int32Array(new SharedArrayBuffer(4));
      while (store.getSync(["c"], "ready").value.n < ${procs}) Atomics.wait(tick, 0, 0, 1);
      const start = Date.now();
      for (let i = 0; i < ${rounds}; i++) bump("n");
      console.log(JSON.stringify({ start, end: Date.now() }));
      store.close();`;
    const src = resolve("src/store/sqlite-store.ts");
    const run = () =>
      promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", child, src, file]);
    const spans = (await Promise.all(Array.from({ length: procs }, run))).map(
      (r) => JSON.parse(r.stdout) as { start: number; end: number },
    );
    expect(Math.max(...spans.map((s) => s.start))).toBeLessThanOrEqual(Math.min(...spans.map((s) => s.end)));
    expect(fileStore().getSync(["c"], "n")!.value).toEqual({ n: procs * rounds });
  });

  test("an injected connection is used as is and left open by close()", async () => {
    const db = new Database(join(dir, "injected.sqlite"));
    const store = new SqliteStore(db);
    await store.put(["i"], "k", { v: 1 });
    store.close();
    expect(db.open).toBe(true);
    expect(db.prepare("SELECT count(*) AS n FROM store_items").get()).toEqual({ n: 1 });
    db.close();
  });
});
