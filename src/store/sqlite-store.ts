/**
 * File-backed LangGraph store on SQLite (better-sqlite3), a drop-in for InMemoryStore that
 * several processes can share: WAL journal, busy timeout, and every write in a
 * `BEGIN IMMEDIATE` transaction so writers queue instead of failing or interleaving.
 *
 * Semantics follow InMemoryStore: within one `batch`, reads see the state before the batch's
 * puts, and puts to the same (namespace, key) collapse to the last one. Differences:
 * - `search` ignores `query` (there is no vector index) and returns items newest first
 *   (updatedAt desc, then namespace and key); `score` is never set.
 * - A namespace whose last item was deleted is no longer listed by `listNamespaces`.
 */
import Database from "better-sqlite3";
import { BUSY_TIMEOUT_MS, busyAsError } from "./sqlite-busy.js";
import { sqliteLeaseLock, type NamedLock } from "./lease-lock.js";
import { BaseStore, InvalidNamespaceError, validateNamespace } from "@langchain/langgraph-checkpoint";
import type {
  Item,
  ListNamespacesOperation,
  MatchCondition,
  Operation,
  OperationResults,
  PutOperation,
  SearchItem,
  SearchOperation,
} from "@langchain/langgraph-checkpoint";

/** Joins namespace labels in the `namespace` column; LangGraph forbids "." in labels. */
const SEP = ".";
/** The character right after SEP: `ns >= p + SEP AND ns < p + SEP_NEXT` is a label-wise prefix test. */
const SEP_NEXT = String.fromCharCode(SEP.charCodeAt(0) + 1);

/** The store's own value type (LangGraph's Item value). */
type Value = Item["value"];
type RowKey = Pick<Row, "namespace" | "key">;

interface Row {
  namespace: string;
  key: string;
  value: string;
  created_at: number;
  updated_at: number;
}

/** Throws InvalidNamespaceError unless `namespace` is an array of non-empty labels without "." (or ":"/NUL). */
function checkNamespace(namespace: unknown, allowEmpty = false): asserts namespace is string[] {
  if (!Array.isArray(namespace)) {
    throw new InvalidNamespaceError(`Namespace must be an array of strings, got ${JSON.stringify(namespace)}.`);
  }
  // Like InMemoryStore.batch: the reserved "langgraph" root is only refused by BaseStore.put.
  validateNamespace(namespace, { allowEmpty, allowReservedRoot: true });
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== "string") throw new TypeError(`Item key must be a string, got ${typeof key}.`);
}

function checkValue(value: unknown): asserts value is Value | null {
  if (value !== null && (typeof value !== "object" || Array.isArray(value))) {
    throw new TypeError(
      `Item value must be a plain object or null (delete), got ${Array.isArray(value) ? "array" : typeof value}.`,
    );
  }
}

/** Same rules as langgraph-checkpoint's (unexported) compareValues, used by InMemoryStore. */
const OPERATORS = new Set(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin"]);
function matchesValue(itemValue: unknown, filterValue: unknown): boolean {
  const isOps =
    typeof filterValue === "object" && filterValue !== null && Object.keys(filterValue).every((k) => OPERATORS.has(k));
  if (!isOps) return itemValue === filterValue;
  return Object.entries(filterValue as Value).every(([op, value]) => {
    switch (op) {
      case "$eq":
        return itemValue === value;
      case "$ne":
        return itemValue !== value;
      case "$gt":
        return Number(itemValue) > Number(value);
      case "$gte":
        return Number(itemValue) >= Number(value);
      case "$lt":
        return Number(itemValue) < Number(value);
      case "$lte":
        return Number(itemValue) <= Number(value);
      case "$in":
        return Array.isArray(value) ? value.includes(itemValue) : false;
      case "$nin":
        return Array.isArray(value) ? !value.includes(itemValue) : true;
      default:
        return false;
    }
  });
}

function matchesCondition({ matchType, path }: MatchCondition, ns: string[]): boolean {
  if (path.length > ns.length) return false;
  const start = matchType === "prefix" ? 0 : matchType === "suffix" ? ns.length - path.length : NaN;
  if (Number.isNaN(start)) throw new Error(`Unsupported match type: ${String(matchType)}`);
  return path.every((label, i) => label === "*" || label === ns[start + i]);
}

function toItem(row: Row): Item {
  return {
    namespace: row.namespace.split(SEP),
    key: row.key,
    value: JSON.parse(row.value) as Value,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export class SqliteStore extends BaseStore {
  readonly db: Database.Database;
  private readonly ownsDb: boolean;
  private readonly stmts;
  /**
   * A named lock across processes, held over many transactions (lease-lock.ts): what a long
   * write takes instead of one long transaction, which would keep every other writer waiting.
   * Not `withLock` (LockingStore): SQLite's user lock is its write transaction (lifecycle.ts).
   */
  readonly withLease: NamedLock;

  /** `pathOrDb`: a file path (created if missing), ":memory:", or an open better-sqlite3 connection. */
  constructor(pathOrDb: string | Database.Database) {
    super();
    this.ownsDb = typeof pathOrDb === "string";
    this.db = typeof pathOrDb === "string" ? new Database(pathOrDb) : pathOrDb;
    // busy_timeout first so even switching to WAL waits for another process's lock.
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.db.pragma("journal_mode = WAL");
    // Deleted rows are zeroed on disk, so a forgotten user's text does not linger in free pages.
    this.db.pragma("secure_delete = ON");
    this.db.exec(`CREATE TABLE IF NOT EXISTS store_items (
      namespace TEXT NOT NULL,
      key TEXT NOT NULL,
      value TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (namespace, key)
    ) WITHOUT ROWID`);
    // Prefix tests use a range on the primary key instead of LIKE: no escaping, index-friendly.
    const underPrefix = "(namespace = @ns OR (namespace >= @lo AND namespace < @hi))";
    this.stmts = {
      get: this.db.prepare<[string, string], Row>("SELECT * FROM store_items WHERE namespace = ? AND key = ?"),
      upsert: this.db.prepare(
        `INSERT INTO store_items (namespace, key, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      ),
      delete: this.db.prepare("DELETE FROM store_items WHERE namespace = ? AND key = ?"),
      // Keys only: sorting whole rows read every value (kilobytes, overflow pages) on every page of a listing.
      searchAll: this.db.prepare<[], RowKey>(
        "SELECT namespace, key FROM store_items ORDER BY updated_at DESC, namespace, key",
      ),
      searchPrefix: this.db.prepare<[Record<string, string>], RowKey>(
        `SELECT namespace, key FROM store_items WHERE ${underPrefix} ORDER BY updated_at DESC, namespace, key`,
      ),
      namespaces: this.db.prepare<[], string>("SELECT DISTINCT namespace FROM store_items").pluck(),
      deletePrefix: this.db.prepare<[Record<string, string>]>(`DELETE FROM store_items WHERE ${underPrefix}`),
    };
    this.withLease = sqliteLeaseLock(this.db);
  }

  /** Runs all operations in one SQLite transaction; IMMEDIATE when the batch writes. */
  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    const hasPuts = operations.some((op) => "value" in op && !("namespacePrefix" in op));
    const tx = this.db.transaction(() => this.runBatch(operations));
    return busyAsError(this.db, () => (hasPuts ? tx.immediate() : tx.deferred())) as OperationResults<Op>;
  }

  private runBatch(operations: Operation[]): unknown[] {
    const results: unknown[] = [];
    const puts = new Map<string, PutOperation>();
    for (const op of operations) {
      if ("namespacePrefix" in op) {
        results.push(this.searchOp(op));
      } else if ("value" in op) {
        checkNamespace(op.namespace);
        checkKey(op.key);
        checkValue(op.value);
        puts.set(JSON.stringify([op.namespace, op.key]), op); // last put to a key wins
        results.push(undefined);
      } else if ("key" in op) {
        results.push(this.getSync(op.namespace, op.key));
      } else if ("matchConditions" in op || "limit" in op || "maxDepth" in op) {
        results.push(this.listNamespacesOp(op));
      } else {
        throw new TypeError(`Unknown store operation: ${JSON.stringify(op)}`);
      }
    }
    // Applied last, like InMemoryStore, so the batch's reads never see its own writes.
    const now = Date.now();
    for (const op of puts.values()) this.write(op.namespace, op.key, op.value, now);
    return results;
  }

  /** Synchronous get, for use inside `transaction()`. */
  getSync(namespace: string[], key: string): Item | null {
    checkNamespace(namespace);
    checkKey(key);
    const row = this.stmts.get.get(namespace.join(SEP), key);
    return row ? toItem(row) : null;
  }

  /** Synchronous put (`null` deletes), for use inside `transaction()`. Keeps createdAt of an existing item. */
  putSync(namespace: string[], key: string, value: Value | null): void {
    checkNamespace(namespace);
    checkKey(key);
    checkValue(value);
    this.transaction(() => this.write(namespace, key, value, Date.now()));
  }

  /**
   * Runs `fn` in a `BEGIN IMMEDIATE` transaction (a savepoint when nested): the write lock is
   * taken up front, so another process cannot change data between `fn`'s reads and writes.
   * `fn` must be synchronous (use getSync/putSync); it is rolled back if it throws.
   */
  transaction<T>(fn: () => T): T {
    return busyAsError(this.db, () => this.db.transaction(fn).immediate());
  }

  /** Deletes every item whose namespace starts with `prefix` label by label; returns how many. */
  deleteNamespacePrefix(prefix: string[]): number {
    checkNamespace(prefix); // non-empty: an empty prefix would wipe the store
    return this.transaction(() => this.stmts.deletePrefix.run(prefixParams(prefix)).changes);
  }

  /** Closes the connection if this store opened it (a connection passed in stays the caller's). */
  close(): void {
    if (this.ownsDb && this.db.open) this.db.close();
  }

  // LangGraph may start/stop a store around every run, so the connection lives until close().
  override start(): void {}
  override stop(): void {}

  private write(namespace: string[], key: string, value: Value | null, now: number): void {
    const ns = namespace.join(SEP);
    if (value === null) this.stmts.delete.run(ns, key);
    else this.stmts.upsert.run(ns, key, JSON.stringify(value), now, now);
  }

  private searchOp(op: SearchOperation): SearchItem[] {
    checkNamespace(op.namespacePrefix, true);
    const offset = op.offset ?? 0;
    const limit = op.limit ?? 10;
    const rows =
      op.namespacePrefix.length === 0
        ? this.stmts.searchAll.iterate()
        : this.stmts.searchPrefix.iterate(prefixParams(op.namespacePrefix));
    // Filters are applied in JS to keep InMemoryStore's exact comparison rules; stop once the page is full.
    const filter = Object.entries(op.filter ?? {});
    const page: SearchItem[] = [];
    let matched = 0;
    for (const { namespace, key } of rows) {
      if (page.length >= limit) break; // for-of's break also resets the statement
      if (filter.length === 0 && matched < offset) {
        matched++; // an unfiltered page's skipped rows are not read
        continue;
      }
      const item = toItem(this.stmts.get.get(namespace, key)!);
      if (!filter.every(([field, expected]) => matchesValue(item.value[field], expected))) continue;
      if (matched++ >= offset) page.push(item);
    }
    return page;
  }

  private listNamespacesOp(op: ListNamespacesOperation): string[][] {
    let namespaces = this.stmts.namespaces.all().map((ns) => ns.split(SEP));
    const conditions = op.matchConditions ?? [];
    namespaces = namespaces.filter((ns) => conditions.every((c) => matchesCondition(c, ns)));
    if (op.maxDepth !== undefined) {
      const depth = op.maxDepth;
      namespaces = [...new Set(namespaces.map((ns) => ns.slice(0, depth).join(SEP)))].map((ns) => ns.split(SEP));
    }
    // Same order as InMemoryStore.
    namespaces.sort((a, b) => a.join(":").localeCompare(b.join(":")));
    const offset = op.offset ?? 0;
    return namespaces.slice(offset, offset + (op.limit ?? namespaces.length));
  }
}

function prefixParams(prefix: string[]): Record<string, string> {
  const ns = prefix.join(SEP);
  return { ns, lo: ns + SEP, hi: ns + SEP_NEXT };
}
