/**
 * Custom auth for LangGraph Platform / `langgraphjs dev` (registered in langgraph.json).
 *
 * Authentication: `Authorization: Bearer <token>`. Tokens are configured in the environment as
 * PERSONA_AGENT_API_TOKENS='{"<token>": "<userId>", ...}'; each token must be at least 32
 * characters (generate with `openssl rand -hex 32`). The token's user id becomes the caller's
 * identity. A missing, unknown or malformed token is a 401; so is every request when no tokens
 * are configured (default deny).
 *
 * Authorization: a caller sees and changes only its own user's data.
 * - threads and runs (they live on threads) carry `metadata.owner` = identity and are filtered by it;
 * - assistants are the operator's (the graphs' own, one per graph): every caller may list and read
 *   them, none may create, change or delete one (a caller's settings go in its runs' context);
 * - a run always runs as its caller: `userId` is set to the identity in its context and its
 *   `configurable`, and a run naming another user is refused (403) rather than silently rewritten;
 * - settings that reach the server's files, network or bill (model, embeddings, indexDir,
 *   wikipediaBaseUrl, timeouts, retries) stay with the operator, and the graphs' internal keys
 *   (record, excludeIds) with the project's own callers: runs setting them are refused;
 * - a run may not set its own recursion limit (the graphs derive theirs from the operator's
 *   bounds) nor a webhook (the server would call any URL the caller names);
 * - store operations name at least ["users", <encoded identity>, <kind>]: PostgresStore matches
 *   prefixes as strings, so ["users", "alice"] would also reach "alice2"; a record put there
 *   gets the input limits of every other way in (validateStoreRecord), or a 422;
 * - crons and anything not listed here are refused.
 *
 * Local development only: PERSONA_AGENT_AUTH=off registers no handlers at all (every request is
 * allowed, as without custom auth). Never set it on a deployment.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Auth, HTTPException, isStudioUser } from "@langchain/langgraph-sdk/auth";
import { apiAuthSettings } from "../../src/configuration/settings.js";
import { UserError } from "../../src/errors/errors.js";
import { validateStoreRecord } from "../../src/memory/history.js";
import { USER_RECORD_KINDS, userNamespace, validateUserId } from "../../src/users/users.js";

/** Configurable keys only the operator may set (environment), never a caller. */
export const OPERATOR_ONLY_KEYS = [
  "model",
  "embeddings",
  "indexDir",
  "wikipediaBaseUrl",
  "timeoutMs",
  "maxRetries",
] as const;
/** Keys the graphs' own callers set (evaluation, alignment replays), never an API caller. */
const INTERNAL_KEYS = ["record", "excludeIds"] as const;
const MIN_TOKEN_LENGTH = 32;

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

interface TokenTable {
  raw: string;
  entries: { hash: Buffer; userId: string }[];
}
let table: TokenTable | undefined;

/** Parses PERSONA_AGENT_API_TOKENS (re-read when it changes); a bad table is a server error, not an open door. */
function tokenTable(): TokenTable["entries"] {
  const raw = apiAuthSettings().tokens;
  if (table?.raw === raw) return table.entries;
  let parsed: unknown = {};
  try {
    if (raw.trim() !== "") parsed = JSON.parse(raw);
  } catch {
    throw new HTTPException(500, { message: "auth misconfigured: PERSONA_AGENT_API_TOKENS is not valid JSON" });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new HTTPException(500, {
      message: 'auth misconfigured: PERSONA_AGENT_API_TOKENS must be a JSON object {"token": "userId"}',
    });
  }
  const entries = Object.entries(parsed).map(([token, userId]) => {
    if (token.length < MIN_TOKEN_LENGTH)
      throw new HTTPException(500, {
        message: `auth misconfigured: every token must have at least ${MIN_TOKEN_LENGTH} characters`,
      });
    try {
      return { hash: digest(token), userId: validateUserId(userId) };
    } catch {
      throw new HTTPException(500, { message: "auth misconfigured: a token maps to an invalid user id" });
    }
  });
  table = { raw, entries };
  return entries;
}

/** The user id of a token, comparing fixed-size digests in constant time against every entry. */
export function userForToken(token: string): string | undefined {
  const given = digest(token);
  let found: string | undefined;
  for (const entry of tokenTable()) {
    // No early exit: the time taken does not depend on which entry (if any) matches.
    if (timingSafeEqual(given, entry.hash) && found === undefined) found = entry.userId;
  }
  return found;
}

const deny = (message: string): never => {
  throw new HTTPException(403, { message });
};

/** Refuses a config/context object that names another user or sets operator-only keys; then pins the user. */
function pinUser(target: Record<string, unknown>, identity: string, what: string): void {
  if (target.userId !== undefined && target.userId !== identity) deny(`${what} may only use your own user id`);
  for (const key of [...OPERATOR_ONLY_KEYS, ...INTERNAL_KEYS])
    if (target[key] !== undefined) deny(`${what} may not set "${key}"`);
  target.userId = identity;
}

type Config = { configurable?: Record<string, unknown> | null } | null | undefined;

function pinConfig(holder: { config?: Config }, identity: string, what: string): void {
  holder.config ??= {};
  pinUser((holder.config.configurable ??= {}), identity, what);
}

/**
 * Namespaces the caller may touch: ["users", <own label>, <kind>, ...]. The third label is
 * required: stores that match prefixes as strings (PostgresStore) read ["users", "alice"] as
 * every namespace starting "users.alice", alice2's included, while "users.alice.<kind>" (labels
 * cannot contain ".") only reaches alice's.
 */
function ownsNamespace(namespace: readonly string[] | null | undefined, identity: string): boolean {
  const [root, label] = userNamespace(identity);
  return Array.isArray(namespace) && namespace.length >= 3 && namespace[0] === root && namespace[1] === label;
}

type RunKwargs = { webhook?: unknown; config?: { recursion_limit?: unknown; recursionLimit?: unknown } | null };

/** Run settings with a cost or reach the operator keeps: caller webhooks and recursion limits. */
function refuseRunKnobs(kwargs: RunKwargs): void {
  if (kwargs.webhook != null) deny("a run may not set a webhook");
  if (kwargs.config?.recursion_limit != null || kwargs.config?.recursionLimit != null)
    deny("a run may not set recursion_limit (the graphs set their own)");
}

function setOwner(value: { metadata?: Record<string, unknown> | null }, identity: string): void {
  value.metadata = { ...value.metadata, owner: identity };
}

function buildAuth() {
  return (
    new Auth()
      .authenticate((request: Request) => {
        const header = request.headers.get("authorization") ?? "";
        const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
        if (!match)
          throw new HTTPException(401, { message: "missing bearer token", headers: { "WWW-Authenticate": "Bearer" } });
        const userId = userForToken(match[1]!);
        if (userId === undefined)
          throw new HTTPException(401, { message: "invalid token", headers: { "WWW-Authenticate": "Bearer" } });
        return { identity: userId, permissions: [] };
      })
      // Catch-all first in spirit: anything without a more specific handler below is refused.
      .on("*", ({ user }) => {
        void user;
        return false;
      })
      .on("threads", ({ event, value, user }) => {
        // Studio's LangSmith login is disabled in langgraph.json; refuse it here too in case that is undone.
        if (isStudioUser(user)) return false;
        if (event === "threads:create" || event === "threads:update")
          setOwner(value as { metadata?: Record<string, unknown> | null }, user.identity);
        if (event === "threads:create_run") {
          const run = value as {
            metadata?: Record<string, unknown> | null;
            kwargs: { config?: Config; context?: Record<string, unknown> | null };
          };
          setOwner(run, user.identity); // a run without a thread creates one: it is the caller's
          pinConfig(run.kwargs, user.identity, "a run");
          refuseRunKnobs(run.kwargs as RunKwargs);
          if (run.kwargs.context != null && typeof run.kwargs.context !== "object")
            deny("a run's context must be an object");
          pinUser((run.kwargs.context ??= {}), user.identity, "a run's context");
        }
        return { owner: user.identity };
      })
      .on("assistants", ({ event, user }) => {
        if (isStudioUser(user)) return false;
        // The graphs' own assistants, one per graph: listed and read by every caller (their
        // schemas, their drawing), changed by none. A caller's settings go in its runs' context.
        if (event === "assistants:read" || event === "assistants:search") return true;
        return deny("assistants are the operator's: run a graph by its name with your settings in the run's context");
      })
      .on("store", ({ event, value, user }) => {
        if (isStudioUser(user)) return false;
        const namespace = (value as { namespace?: string[] | null }).namespace;
        if (!ownsNamespace(namespace, user.identity)) {
          deny(
            `store access is limited to namespaces ${JSON.stringify([...userNamespace(user.identity), "<kind>"])} (e.g. kind ${USER_RECORD_KINDS.join(", ")})`,
          );
        }
        if (event === "store:put") {
          try {
            validateStoreRecord(namespace![2], (value as { value?: unknown }).value);
          } catch (error) {
            if (error instanceof UserError) throw new HTTPException(422, { message: error.message });
            throw error;
          }
        }
        return true;
      })
  );
}

export const auth = apiAuthSettings().off ? new Auth() : buildAuth();
