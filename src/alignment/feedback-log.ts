/**
 * Counts the feedbacks (true responses) a user gave since their last alignment, in the user's
 * meta namespace: `feedback` holds a running total, `alignment` the total seen when the last
 * alignment started. Two keys, so recording feedback never races with finishing an alignment.
 */
import type { BaseStore } from "@langchain/langgraph";
import { isTransactional } from "../store/transactional.js";
import { unwrapStore } from "../adapters/batched-store.js";
import { assertCurrent, assertCurrentSync, putUserItems, withUserLock } from "../store/lifecycle.js";
import { userNamespace } from "../users/users.js";

const TOTAL_KEY = "feedback";
const ALIGNED_KEY = "alignment";

export class FeedbackLog {
  private readonly store: BaseStore;

  constructor(store: BaseStore) {
    this.store = unwrapStore(store);
  }

  /** Adds one feedback; returns how many there are since the last alignment. */
  async add(userId: string): Promise<number> {
    const ns = userNamespace(userId, "meta");
    const store = this.store;
    let total: number;
    if (isTransactional(store)) {
      // One transaction: concurrent `feedback` processes never lose a count.
      total = store.transaction(() => {
        assertCurrentSync(store, userId);
        const next = ((store.getSync(ns, TOTAL_KEY)?.value.total as number | undefined) ?? 0) + 1;
        store.putSync(ns, TOTAL_KEY, { total: next });
        return next;
      });
    } else {
      // PostgreSQL: under its advisory lock; other stores: read-modify-write, may undercount under races.
      total = await withUserLock(store, userId, async () => {
        await assertCurrent(store, userId);
        const next = (await this.total(userId)) + 1;
        await store.put(ns, TOTAL_KEY, { total: next });
        return next;
      });
    }
    return total - (await this.alignedAt(userId));
  }

  async total(userId: string): Promise<number> {
    return ((await this.store.get(userNamespace(userId, "meta"), TOTAL_KEY))?.value.total as number | undefined) ?? 0;
  }

  async sinceAlignment(userId: string): Promise<number> {
    return (await this.total(userId)) - (await this.alignedAt(userId));
  }

  /** Marks that an alignment saw every feedback up to `total`. */
  async markAligned(userId: string, total: number): Promise<void> {
    await putUserItems(this.store, userId, [
      {
        namespace: userNamespace(userId, "meta"),
        key: ALIGNED_KEY,
        value: { feedbackTotal: total, at: new Date().toISOString() },
      },
    ]);
  }

  private async alignedAt(userId: string): Promise<number> {
    return (
      ((await this.store.get(userNamespace(userId, "meta"), ALIGNED_KEY))?.value.feedbackTotal as number | undefined) ??
      0
    );
  }
}
