/**
 * apps/server/auth.ts handlers called directly, for what the dev server cannot show (it has no crons)
 * and for the token table's edge cases. studio.int.test.ts covers the same rules over HTTP.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { auth, userForToken } from "../../apps/server/auth.js";
import { openPersistence, type Persistence } from "../../src/store/open.js";
import { userNamespace } from "../../src/users/users.js";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/postgres.js";

type Handler = (arg: Record<string, unknown>) => unknown;
const cache = (
  auth as unknown as { "~handlerCache": { authenticate: (r: Request) => unknown; callbacks: Record<string, Handler> } }
)["~handlerCache"];
const user = (identity: string) => ({ identity, display_name: identity, is_authenticated: true, permissions: [] });
const request = (authorization?: string) =>
  new Request("http://x/threads", { headers: authorization ? { authorization } : {} });
const status = (fn: () => unknown) => {
  try {
    fn();
    return "ok";
  } catch (err) {
    return (err as { status?: number }).status;
  }
};

const ALICE = "a".repeat(40);
const BOB = "b".repeat(40);

describe("auth", () => {
  const saved = process.env.PERSONA_AGENT_API_TOKENS;
  beforeEach(() => (process.env.PERSONA_AGENT_API_TOKENS = JSON.stringify({ [ALICE]: "alice", [BOB]: "bob" })));
  afterAll(() =>
    saved === undefined ? delete process.env.PERSONA_AGENT_API_TOKENS : (process.env.PERSONA_AGENT_API_TOKENS = saved),
  );

  test("bearer tokens map to their user; anything else is a 401", () => {
    expect(cache.authenticate(request(`Bearer ${ALICE}`))).toEqual({ identity: "alice", permissions: [] });
    expect(userForToken(BOB)).toBe("bob");
    expect(userForToken(ALICE.slice(1))).toBeUndefined();
    for (const header of [undefined, ALICE, `Basic ${ALICE}`, `Bearer ${ALICE}x`, "Bearer "])
      expect(status(() => cache.authenticate(request(header)))).toBe(401);
  });

  test("no tokens configured: every request is refused; a bad table is a 500, never an open door", () => {
    delete process.env.PERSONA_AGENT_API_TOKENS;
    expect(status(() => cache.authenticate(request(`Bearer ${ALICE}`)))).toBe(401);
    for (const bad of ["not json", "[]", JSON.stringify({ short: "alice" }), JSON.stringify({ [ALICE]: "" })]) {
      process.env.PERSONA_AGENT_API_TOKENS = bad;
      expect(status(() => cache.authenticate(request(`Bearer ${ALICE}`)))).toBe(500);
    }
  });

  test("crons and unlisted resources are refused", () => {
    expect(cache.callbacks["*"]!({ event: "crons:create", value: {}, user: user("alice") })).toBe(false);
    expect(cache.callbacks["crons"]).toBeUndefined();
  });

  test("a run is pinned to its caller (in its context and configurable) and may not set operator-only or internal keys", () => {
    const run = { metadata: { owner: "bob" }, kwargs: { config: { configurable: { k: 2 } } } };
    expect(cache.callbacks["threads"]!({ event: "threads:create_run", value: run, user: user("alice") })).toEqual({
      owner: "alice",
    });
    expect(run).toEqual({
      metadata: { owner: "alice" },
      kwargs: { config: { configurable: { k: 2, userId: "alice" } }, context: { userId: "alice" } },
    });
    for (const context of [{ record: false }, { excludeIds: ["e1"] }, { indexDir: "/tmp" }]) {
      expect(
        status(() =>
          cache.callbacks["threads"]!({
            event: "threads:create_run",
            value: { kwargs: { context } },
            user: user("alice"),
          }),
        ),
      ).toBe(403);
      expect(
        status(() =>
          cache.callbacks["threads"]!({
            event: "threads:create_run",
            value: { kwargs: { config: { configurable: context } } },
            user: user("alice"),
          }),
        ),
      ).toBe(403);
    }
    expect(
      status(() =>
        cache.callbacks["threads"]!({
          event: "threads:create_run",
          value: { kwargs: { context: "alice" } },
          user: user("alice"),
        }),
      ),
    ).toBe(403);
    const asBob = { kwargs: { config: { configurable: { userId: "bob" } } } };
    expect(
      status(() => cache.callbacks["threads"]!({ event: "threads:create_run", value: asBob, user: user("alice") })),
    ).toBe(403);
    const viaContext = { kwargs: { context: { userId: "bob" } } };
    expect(
      status(() =>
        cache.callbacks["threads"]!({ event: "threads:create_run", value: viaContext, user: user("alice") }),
      ),
    ).toBe(403);
  });

  test("assistants are the operator's: every caller lists and reads them, none creates, changes or deletes one", () => {
    const assistants = cache.callbacks["assistants"]!;
    for (const event of ["assistants:search", "assistants:read"])
      expect(assistants({ event, value: {}, user: user("alice") })).toBe(true);
    const assistant = { graph_id: "persona_agent", config: { configurable: { k: 2 } } };
    for (const event of ["assistants:create", "assistants:update", "assistants:delete"]) {
      expect(status(() => assistants({ event, value: assistant, user: user("alice") }))).toBe(403);
    }
  });

  test("a run may not set a webhook nor its own recursion limit (the server would call the URL; the graphs set their limits)", () => {
    const threads = cache.callbacks["threads"]!;
    const withWebhook = { kwargs: { webhook: "http://169.254.169.254/latest/meta-data", config: {} } };
    expect(status(() => threads({ event: "threads:create_run", value: withWebhook, user: user("alice") }))).toBe(403);
    const withLimit = { kwargs: { config: { recursion_limit: 10_000 } } };
    expect(status(() => threads({ event: "threads:create_run", value: withLimit, user: user("alice") }))).toBe(403);
    expect(
      status(() =>
        threads({ event: "threads:create_run", value: { kwargs: { webhook: null, config: {} } }, user: user("alice") }),
      ),
    ).toBe("ok");
  });

  test("store access names a full [users, me, kind] namespace", () => {
    const store = cache.callbacks["store"]!;
    expect(
      status(() => store({ event: "store:search", value: { namespace: ["users", "alice"] }, user: user("alice") })),
    ).toBe(403);
    expect(
      status(() => store({ event: "store:list_namespaces", value: { namespace: ["users"] }, user: user("alice") })),
    ).toBe(403);
    expect(
      status(() =>
        store({ event: "store:search", value: { namespace: ["users", "alice2", "episodic"] }, user: user("alice") }),
      ),
    ).toBe(403);
    expect(
      status(() =>
        store({ event: "store:search", value: { namespace: ["users", "alice", "episodic"] }, user: user("alice") }),
      ),
    ).toBe("ok");
  });

  test("a record put through the store API gets the input limits of every other way in (422)", () => {
    const store = cache.callbacks["store"]!;
    const put = (kind: string, value: Record<string, unknown>) =>
      status(() =>
        store({
          event: "store:put",
          value: { namespace: ["users", "alice", kind], key: "e1", value },
          user: user("alice"),
        }),
      );
    const memory = {
      id: "e1",
      seq: 0,
      query: "Tag this movie: a heist",
      response: "thriller",
      timestamp: "2024-01-01T00:00:00.000Z",
      metadata: {},
    };
    expect(put("episodic", memory)).toBe("ok");
    expect(put("episodic", { ...memory, query: "x".repeat(3_000_000) })).toBe(422); // the red team's 3,000,000-character memory
    expect(put("episodic", { ...memory, response: "x".repeat(100_001) })).toBe(422);
    expect(put("episodic", { ...memory, metadata: { note: "x".repeat(100_001) } })).toBe(422);
    expect(put("episodic", { ...memory, query: "nul\u0000inside" })).toBe(422);
    expect(put("episodic", { ...memory, query: "" })).toBe(422);
    expect(put("profile", { text: "x".repeat(500_000) })).toBe(422);
    expect(put("profile", { text: "nul\u0000inside" })).toBe(422);
    expect(put("profile", { text: "Profile: likes heists" })).toBe("ok");
    let message = "";
    try {
      store({
        event: "store:put",
        value: {
          namespace: ["users", "alice", "episodic"],
          key: "e1",
          value: { ...memory, query: "x".repeat(3_000_000) },
        },
        user: user("alice"),
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('a memory: "query" is too long (3000000 characters, at most 100000)');
  });

  test("Studio's user is refused even if studio auth were re-enabled", () => {
    const studio = { ...user("langgraph-studio-user"), kind: "StudioUser" };
    expect(cache.callbacks["threads"]!({ event: "threads:search", value: {}, user: studio })).toBe(false);
    expect(
      cache.callbacks["store"]!({ event: "store:get", value: { namespace: ["users", "alice"] }, user: studio }),
    ).toBe(false);
  });

  test("PERSONA_AGENT_AUTH=off registers no handlers (local development only)", () => {
    const src = fileURLToPath(new URL("../../apps/server/auth.ts", import.meta.url));
    const script = `import(${JSON.stringify(src)}).then((m) => process.stdout.write(JSON.stringify(m.auth["~handlerCache"])))`;
    const out = execFileSync(process.execPath, ["--import", "tsx", "-e", script], {
      env: { PATH: process.env.PATH, PERSONA_AGENT_AUTH: "off" },
    });
    expect(JSON.parse(out.toString())).toEqual({});
  });
});

/**
 * PostgresStore matches namespace prefixes as strings ("users.alice%"), so a prefix the handler
 * lets through must not reach alice2. Every store operation the handler allows alice is run on
 * a real PostgresStore holding alice's and alice2's records.
 */
describeWithPostgres("store access through the handler on PostgreSQL", () => {
  let database: TestDatabase;
  let persistence: Persistence;
  beforeAll(async () => {
    database = await createTestDatabase();
    persistence = await openPersistence({ dataDir: "/nonexistent", databaseUrl: database.url });
    for (const who of ["alice", "alice2"]) {
      await persistence.store.put(userNamespace(who, "episodic"), "e1", { query: `${who}'s secret` });
      await persistence.store.put(userNamespace(who, "meta"), "persona", { version: 1 });
    }
  });
  afterAll(async () => {
    await persistence?.close();
    await database?.drop();
  });

  test("alice's allowed searches and namespace listings never return alice2's records", async () => {
    const allowed = (namespace: string[]) => {
      try {
        cache.callbacks["store"]!({ event: "store:search", value: { namespace }, user: user("alice") });
        return true;
      } catch {
        return false;
      }
    };
    const candidates = [
      ["users", "alice"],
      ["users", "alice", "episodic"],
      ["users", "alice", "meta"],
    ];
    const seen: string[] = [];
    for (const namespace of candidates.filter(allowed)) {
      for (const item of await persistence.store.search(namespace, { limit: 100 })) seen.push(item.namespace.join("/"));
      for (const ns of await persistence.store.listNamespaces({ prefix: namespace })) seen.push(ns.join("/"));
    }
    expect(seen).toContain("users/alice/episodic"); // alice still reaches her own records
    expect(seen.filter((ns) => ns.includes("alice2"))).toEqual([]);
  });
});
