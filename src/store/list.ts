import type { BaseStore, Item } from "@langchain/langgraph";

const PAGE = 1000;

/** Every item directly in `namespace`, page by page (BaseStore.search caps each call). */
export async function listAll(store: BaseStore, namespace: string[]): Promise<Item[]> {
  const items: Item[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await store.search(namespace, { limit: PAGE, offset });
    items.push(...page.filter((item) => item.namespace.length === namespace.length));
    if (page.length < PAGE) return items;
  }
}
