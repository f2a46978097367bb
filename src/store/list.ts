import type { BaseStore, Item } from "@langchain/langgraph";

const PAGE = 1000;

/** Label-wise prefix test (some stores match prefixes as strings: "alice" would match "alice2"). */
export function hasPrefix(namespace: string[], prefix: string[]): boolean {
  return prefix.length <= namespace.length && prefix.every((label, i) => namespace[i] === label);
}

/** Every item exactly in `namespace`, page by page (BaseStore.search caps each call). */
export async function listAll(store: BaseStore, namespace: string[]): Promise<Item[]> {
  const items: Item[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await store.search(namespace, { limit: PAGE, offset });
    items.push(
      ...page.filter((item) => item.namespace.length === namespace.length && hasPrefix(item.namespace, namespace)),
    );
    if (page.length < PAGE) return items;
  }
}
