/**
 * Read-modify-write safety for stores that offer it. SqliteStore runs a synchronous function
 * inside one exclusive transaction, so two processes never interleave a read and its write;
 * other stores fall back to plain get/put (callers document what that leaves open).
 */
import type { BaseStore, Item } from "@langchain/langgraph";
import { unwrapStore } from "../adapters/batched-store.js";

export interface TransactionalStore extends BaseStore {
  transaction<T>(fn: () => T): T;
  getSync(namespace: string[], key: string): Item | null;
  putSync(namespace: string[], key: string, value: Record<string, unknown> | null): void;
}

export function isTransactional(store: BaseStore): store is TransactionalStore {
  const s = store as Partial<TransactionalStore>;
  return typeof s.transaction === "function" && typeof s.getSync === "function" && typeof s.putSync === "function";
}

/**
 * Stores that can hold a named lock across processes (openPersistence gives PostgreSQL stores
 * one, on an advisory lock): read-modify-writes that SqliteStore runs in one transaction run
 * under it instead.
 */
export interface LockingStore extends BaseStore {
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

export function isLocking(store: BaseStore): store is LockingStore {
  return typeof (store as Partial<LockingStore>).withLock === "function";
}

/** Stores with named locks held across many transactions (SqliteStore's leases, src/store/lease-lock.ts). */
export interface LeasingStore extends BaseStore {
  withLease<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

export function hasLeases(store: BaseStore): store is LeasingStore {
  return typeof (store as Partial<LeasingStore>).withLease === "function";
}

/** What a locked transaction may do (PostgreSQL: openPersistence gives its stores one). */
export interface StoreTransaction {
  get(namespace: string[], key: string): Promise<Record<string, unknown> | undefined>;
  put(namespace: string[], key: string, value: Record<string, unknown>): Promise<void>;
  /** Deletes every item whose namespace starts with `prefix` label by label; returns how many. */
  deleteNamespacePrefix(prefix: string[]): Promise<number>;
}

/**
 * Stores whose related writes can commit together: `fn` runs in one database transaction that
 * holds the lock named `key` (the same lock withLock takes) until it commits.
 */
export interface LockedTransactionStore extends LockingStore {
  lockedTransaction<T>(key: string, fn: (tx: StoreTransaction) => Promise<T>): Promise<T>;
}

export function hasLockedTransactions(store: BaseStore): store is LockedTransactionStore {
  return isLocking(store) && typeof (store as Partial<LockedTransactionStore>).lockedTransaction === "function";
}

/**
 * Runs `fn` under the store's cross-process lock named `key`. SQLite needs none (its writes are
 * transactions). Other stores without one (the dev server's InMemoryStore, which lives in one
 * process) get a lock within this process, so a forget there holds back the user's runs as it
 * does on PostgreSQL.
 */
export function withStoreLock<T>(store: BaseStore, key: string, fn: () => Promise<T>): Promise<T> {
  const real = unwrapStore(store);
  if (isLocking(real)) return real.withLock(key, fn);
  return isTransactional(real) ? fn() : withProcessLock(real, key, fn);
}

const processLocks = new WeakMap<BaseStore, Map<string, Promise<unknown>>>();

/** Runs `fn` after every earlier call with the same store and `key` in this process has settled. */
export function withProcessLock<T>(store: BaseStore, key: string, fn: () => Promise<T>): Promise<T> {
  let queues = processLocks.get(store);
  if (!queues) processLocks.set(store, (queues = new Map()));
  const run = (queues.get(key) ?? Promise.resolve()).then(fn, fn);
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => queues.get(key) === tail && queues.delete(key));
  return run;
}
