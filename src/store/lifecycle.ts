/**
 * A user's lifecycle across processes: `forget` wins over every command of the same user that
 * started before it.
 *
 * Each user has a generation, a counter that `forget` increments under the user's write lock
 * (kept in a tombstone record keyed by a hash of the id, holding nothing but the counter). A run
 * (one CLI command, one graph run) reads the generation when it starts, and every write it makes
 * for the user checks it under the same lock: a run older than the last forget writes nothing
 * more (UserForgottenError), while a new run (an ingest after the forget) starts at the new
 * generation and works as usual. The lock is one SQLite BEGIN IMMEDIATE transaction on the
 * embedded store and a per-user advisory lock on PostgreSQL (src/store/open.ts); other stores
 * (LangGraph Platform's) get the check without a lock. A run reads its generation under the
 * lock too, and forget bumps it and deletes in one transaction (forgetRecords), so no run
 * starts on the old generation once a forget has begun.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { BaseStore } from "@langchain/langgraph";
import { UserError } from "../errors/errors.js";
import { userFileKey } from "../users/users.js";
import { hasLockedTransactions, isTransactional, withStoreLock, type TransactionalStore } from "./transactional.js";
import { unwrapStore } from "../adapters/batched-store.js";

const TOMBSTONES = ["lifecycle"];

/** A write of a run that started before the user was forgotten; nothing of it was stored. */
export class UserForgottenError extends UserError {
  constructor(userId: string) {
    super(`user "${userId}" was forgotten while this command ran; nothing more of it was stored`);
    this.name = "UserForgottenError";
  }
}

const generationOf = (value: Record<string, unknown> | undefined | null) =>
  (value?.generation as number | undefined) ?? 0;

/** The user's current generation (0 until the first forget). */
export async function userGeneration(store: BaseStore, userId: string): Promise<number> {
  return generationOf((await unwrapStore(store).get(TOMBSTONES, userFileKey(userId)))?.value);
}

function userGenerationSync(store: TransactionalStore, userId: string): number {
  return generationOf(store.getSync(TOMBSTONES, userFileKey(userId))?.value);
}

/** Generations read at the start of the current run, per user (file key). */
const runs = new AsyncLocalStorage<ReadonlyMap<string, number>>();

/**
 * Runs `fn` as one run of `userId`: guarded writes inside check the generation the run started
 * at. A nested call joins the enclosing run (re-reading would let a run older than a forget
 * adopt the new generation); `startedAt` gives it explicitly (a graph turn that began earlier).
 */
export async function asUserRun<T>(
  store: BaseStore,
  userId: string,
  fn: () => Promise<T>,
  startedAt?: number,
): Promise<T> {
  const key = userFileKey(userId);
  const enclosing = runs.getStore();
  // Read under the user's lock: a run starting while a forget holds it waits, then sees the new generation and nothing of the old.
  const generation =
    startedAt ?? enclosing?.get(key) ?? (await withUserLock(store, userId, () => userGeneration(store, userId)));
  const known = new Map(enclosing ?? []);
  known.set(key, generation);
  return runs.run(known, fn);
}

/** The generation the current run started at, or undefined outside a run (nothing to check). */
export function runGeneration(userId: string): number | undefined {
  return runs.getStore()?.get(userFileKey(userId));
}

/** Throws UserForgottenError if the user was forgotten since `generation` was read. Call it under the user's lock. */
export function assertCurrentSync(store: TransactionalStore, userId: string, generation = runGeneration(userId)): void {
  if (generation !== undefined && userGenerationSync(store, userId) !== generation)
    throw new UserForgottenError(userId);
}

export async function assertCurrent(
  store: BaseStore,
  userId: string,
  generation = runGeneration(userId),
): Promise<void> {
  if (generation !== undefined && (await userGeneration(store, userId)) !== generation)
    throw new UserForgottenError(userId);
}

/** The user's cross-process write lock on stores that have one (PostgreSQL); SQLite writes take BEGIN IMMEDIATE instead. */
export function withUserLock<T>(store: BaseStore, userId: string, fn: () => Promise<T>): Promise<T> {
  return withStoreLock(store, userLock(userId), fn);
}

const userLock = (userId: string) => `user:${userFileKey(userId)}`;

export interface UserPut {
  namespace: string[];
  key: string;
  value: Record<string, unknown> | null;
}

/**
 * Writes records of one user, all under the user's lock and only if the user was not forgotten
 * since the run started (`generation`, by default the run's). One transaction on SQLite.
 */
export async function putUserItems(
  store: BaseStore,
  userId: string,
  puts: UserPut[],
  generation = runGeneration(userId),
): Promise<void> {
  const real = unwrapStore(store);
  if (isTransactional(real)) {
    real.transaction(() => {
      assertCurrentSync(real, userId, generation);
      for (const put of puts) real.putSync(put.namespace, put.key, put.value);
    });
    return;
  }
  await withUserLock(real, userId, async () => {
    await assertCurrent(real, userId, generation);
    await real.batch(puts);
  });
}

/**
 * Starts the user's next generation, so every older run's later writes are refused, and deletes
 * the user's records (`deleteRecords` on stores without transactions): one transaction on
 * SQLite and PostgreSQL, which every guarded write of the user waits for. Returns how many
 * records were deleted.
 */
export async function forgetRecords(
  store: BaseStore,
  userId: string,
  prefix: string[],
  deleteRecords: () => Promise<number>,
): Promise<number> {
  const real = unwrapStore(store);
  const key = userFileKey(userId);
  if (isTransactional(real) && "deleteNamespacePrefix" in real) {
    const sqlite = real as TransactionalStore & { deleteNamespacePrefix(prefix: string[]): number };
    return real.transaction(() => {
      real.putSync(TOMBSTONES, key, { generation: userGenerationSync(real, userId) + 1 });
      return sqlite.deleteNamespacePrefix(prefix);
    });
  }
  if (hasLockedTransactions(real)) {
    return real.lockedTransaction(userLock(userId), async (tx) => {
      await tx.put(TOMBSTONES, key, { generation: generationOf(await tx.get(TOMBSTONES, key)) + 1 });
      return tx.deleteNamespacePrefix(prefix);
    });
  }
  return withUserLock(real, userId, async () => {
    await nextGeneration(real, userId);
    return deleteRecords();
  });
}

/** Starts the user's next generation on any store (forget's last resort; tests stage a forget with it). */
export async function nextGeneration(store: BaseStore, userId: string): Promise<void> {
  const real = unwrapStore(store);
  await real.put(TOMBSTONES, userFileKey(userId), { generation: (await userGeneration(real, userId)) + 1 });
}
