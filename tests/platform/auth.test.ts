/**
 * src/auth.ts handlers called directly, for what the dev server cannot show (it has no crons)
 * and for the token table's edge cases. studio.int.test.ts covers the same rules over HTTP.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { auth, userForToken } from "../../src/auth.js";

type Handler = (arg: Record<string, unknown>) => unknown;
const cache = (auth as unknown as { "~handlerCache": { authenticate: (r: Request) => unknown; callbacks: Record<string, Handler> } })["~handlerCache"];
const user = (identity: string) => ({ identity, display_name: identity, is_authenticated: true, permissions: [] });
const request = (authorization?: string) => new Request("http://x/threads", { headers: authorization ? { authorization } : {} });
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
  afterAll(() => (saved === undefined ? delete process.env.PERSONA_AGENT_API_TOKENS : (process.env.PERSONA_AGENT_API_TOKENS = saved)));

  test("bearer tokens map to their user; anything else is a 401", () => {
    expect(cache.authenticate(request(`Bearer ${ALICE}`))).toEqual({ identity: "alice", permissions: [] });
    expect(userForToken(BOB)).toBe("bob");
    expect(userForToken(ALICE.slice(1))).toBeUndefined();
    for (const header of [undefined, ALICE, `Basic ${ALICE}`, `Bearer ${ALICE}x`, "Bearer "]) expect(status(() => cache.authenticate(request(header)))).toBe(401);
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

  test("a run is pinned to its caller and may not set operator-only keys", () => {
    const run = { metadata: { owner: "bob" }, kwargs: { config: { configurable: { k: 2 } } } };
    expect(cache.callbacks["threads"]!({ event: "threads:create_run", value: run, user: user("alice") })).toEqual({ owner: "alice" });
    expect(run).toEqual({ metadata: { owner: "alice" }, kwargs: { config: { configurable: { k: 2, userId: "alice" } } } });
    const asBob = { kwargs: { config: { configurable: { userId: "bob" } } } };
    expect(status(() => cache.callbacks["threads"]!({ event: "threads:create_run", value: asBob, user: user("alice") }))).toBe(403);
    const viaContext = { kwargs: { context: { userId: "bob" } } };
    expect(status(() => cache.callbacks["threads"]!({ event: "threads:create_run", value: viaContext, user: user("alice") }))).toBe(403);
    const assistant = { graph_id: "persona_agent", config: { configurable: { embeddings: "local:/etc/passwd" } } };
    expect(status(() => cache.callbacks["assistants"]!({ event: "assistants:create", value: assistant, user: user("alice") }))).toBe(403);
  });

  test("Studio's user is refused even if studio auth were re-enabled", () => {
    const studio = { ...user("langgraph-studio-user"), kind: "StudioUser" };
    expect(cache.callbacks["threads"]!({ event: "threads:search", value: {}, user: studio })).toBe(false);
    expect(cache.callbacks["store"]!({ event: "store:get", value: { namespace: ["users", "alice"] }, user: studio })).toBe(false);
  });

  test("PERSONA_AGENT_AUTH=off registers no handlers (local development only)", () => {
    const src = fileURLToPath(new URL("../../src/auth.ts", import.meta.url));
    const script = `import(${JSON.stringify(src)}).then((m) => process.stdout.write(JSON.stringify(m.auth["~handlerCache"])))`;
    const out = execFileSync(process.execPath, ["--import", "tsx", "-e", script], { env: { PATH: process.env.PATH, PERSONA_AGENT_AUTH: "off" } });
    expect(JSON.parse(out.toString())).toEqual({});
  });
});
