/**
 * Inside graph nodes LangGraph hands out an AsyncBatchedStore wrapping the real store (private:
 * recognized by its `lg_name`, the real store in its `store` field); it only queues
 * get/put/search, so transactions and locks need the real store. Reads and writes still go to
 * the same database, so bypassing the queue changes nothing else.
 * tests/adapters/langgraph-internals.test.ts fails if LangGraph changes the wrapper.
 */
import type { BaseStore } from "@langchain/langgraph";

export function unwrapStore(store: BaseStore): BaseStore {
  const wrapper = store as BaseStore & { lg_name?: string; store?: BaseStore };
  return wrapper.lg_name === "AsyncBatchedStore" && wrapper.store ? wrapper.store : store;
}
