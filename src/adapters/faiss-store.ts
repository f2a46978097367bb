/**
 * FaissStore's private parts (`_index`, `_mapping`, `docstore._docs`) and its directory format,
 * used in one place: its public addVectors copies every known id to check each new one (O(n²)
 * for an n-entry index), an index built elsewhere (vector-index.ts) needs its labels mapped to
 * documents, and its load reads every index through faiss-node (not the addon's sketch search).
 * tests/adapters/faiss-store.test.ts fails if @langchain/community changes them.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Document } from "@langchain/core/documents";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import { FaissStore } from "@langchain/community/vectorstores/faiss";

/**
 * What FaissStore.addVectors does, in one FAISS call per batch and O(1) per document: its
 * docstore copies every known id to check each new one, which makes building an n-entry index
 * O(n²) (≈ 100 s for 100k entries; see bench/RESULTS.md).
 */
export async function addToFaissStore(store: FaissStore, vectors: ArrayLike<number>[], docs: Document[], ids: string[]): Promise<void> {
  if (vectors.length === 0) return;
  if (vectors.length !== docs.length || ids.length !== docs.length) throw new Error("vectors, documents and ids must have the same length");
  const dim = vectors[0]!.length;
  let index = store._index;
  if (!index) {
    const { IndexFlatL2 } = await FaissStore.importFaiss();
    store._index = index = new IndexFlatL2(dim);
  }
  if (index.getDimension() !== dim) throw new Error(`vectors have ${dim} dimensions, the index ${index.getDimension()}`);
  const known = store.docstore._docs;
  if (ids.some((id) => known.has(id)) || new Set(ids).size !== ids.length) throw new Error("an id is already in the index");
  const base = index.ntotal();
  index.add(vectors.flatMap((v) => Array.from(v)));
  registerDocuments(store, base, ids, docs);
}

/** Maps FAISS labels base, base + 1, ... to `ids` and their documents (for vectors already in the index). */
export function registerDocuments(store: FaissStore, base: number, ids: string[], docs: Document[]): void {
  ids.forEach((id, i) => {
    store._mapping[base + i] = id;
    store.docstore._docs.set(id, docs[i]!);
  });
}

/** FaissStore.load with the index the caller read from the directory's faiss.index (documents and mapping from its docstore.json). */
export async function loadFaissStore(directory: string, embeddings: EmbeddingsInterface, index: FaissStore["index"]): Promise<FaissStore> {
  const [docs, mapping] = JSON.parse(await readFile(join(directory, "docstore.json"), "utf8")) as [[string, Document][], Record<number, string>];
  const store = new FaissStore(embeddings, { index, mapping });
  for (const [id, doc] of docs) store.docstore._docs.set(id, doc);
  return store;
}
