import type { BaseStore, Item } from "@langchain/langgraph";

const PAGE = 1000;

/** Label-wise prefix test (some stores match prefixes as strings: "alice" would match "alice2"). */
export function hasPrefix(namespace: string[], prefix: string[]): boolean {
  return prefix.length <= namespace.length && prefix.every((label, i) => namespace[i] === label);
}

/** Every result of a paged store call, page by page until a short page (stores cap each call), keeping what `keep` accepts. */
async function allPages<T>(fetch: (offset: number) => Promise<T[]>, keep: (result: T) => boolean): Promise<T[]> {
  const results: T[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await fetch(offset);
    results.push(...page.filter(keep));
    if (page.length < PAGE) return results;
  }
}

/** Every item exactly in `namespace`, page by page (BaseStore.search caps each call). */
export function listAll(store: BaseStore, namespace: string[]): Promise<Item[]> {
  return allPages(
    (offset) => store.search(namespace, { limit: PAGE, offset }),
    (item) => item.namespace.length === namespace.length && hasPrefix(item.namespace, namespace),
  );
}

/**
 * Every namespace under `prefix`, matched label by label (PostgresStore matches the joined
 * string: "users:u1" also lists u10's namespaces) and page by page, never capped.
 */
export function listNamespacesUnder(store: BaseStore, prefix: string[]): Promise<string[][]> {
  return allPages(
    (offset) => store.listNamespaces({ prefix, limit: PAGE, offset }),
    (namespace) => hasPrefix(namespace, prefix),
  );
}
