/**
 * FaissStore's private parts behind src/adapters/faiss-store.ts: these fail if
 * @langchain/community changes `_index`, `_mapping` or `docstore._docs`, since the adapter must
 * then build what the library's own addVectors builds, or read what its save writes.
 */
import { Document } from "@langchain/core/documents";
import { FakeEmbeddings } from "@langchain/core/utils/testing";
import { FaissStore } from "@langchain/community/vectorstores/faiss";
import faiss from "faiss-node";
import { addToFaissStore, loadFaissStore } from "../../src/adapters/faiss-store.js";
import { tempDir } from "../../testing/fixtures.js";

describe("addToFaissStore", () => {
  const vectors = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  const docs = (n: number) => Array.from({ length: n }, (_, i) => new Document({ pageContent: `doc ${i}`, metadata: { id: `d${i}` } }));

  test("builds the same store as FaissStore.addVectors, in bulk", async () => {
    const theirs = new FaissStore(new FakeEmbeddings(), {});
    await theirs.addVectors(vectors, docs(3), { ids: ["d0", "d1", "d2"] });
    const ours = new FaissStore(new FakeEmbeddings(), {});
    await addToFaissStore(ours, vectors.slice(0, 2), docs(2), ["d0", "d1"]);
    await addToFaissStore(ours, vectors.slice(2), docs(3).slice(2), ["d2"]);
    expect(ours.getMapping()).toEqual(theirs.getMapping());
    const [hitsOurs, hitsTheirs] = await Promise.all([ours, theirs].map((s) => s.similaritySearchVectorWithScore([0.1, 0.9, 0.2], 2)));
    expect(hitsOurs!.map(([d, score]) => [d.pageContent, score])).toEqual(hitsTheirs!.map(([d, score]) => [d.pageContent, score]));
  });

  test("rejects an id already indexed, and vectors of another dimension", async () => {
    const store = new FaissStore(new FakeEmbeddings(), {});
    await addToFaissStore(store, vectors.slice(0, 1), docs(1), ["d0"]);
    await expect(addToFaissStore(store, vectors.slice(1, 2), docs(1), ["d0"])).rejects.toThrow(/already/);
    await expect(addToFaissStore(store, [[1, 0]], docs(1), ["x"])).rejects.toThrow(/dimensions/);
    expect(store.index.ntotal()).toBe(1);
  });
});

describe("loadFaissStore", () => {
  test("loads what FaissStore.save wrote, as FaissStore.load does, around the index the caller read", async () => {
    const saved = new FaissStore(new FakeEmbeddings(), {});
    const docs = ["a", "b", "c"].map((id) => new Document({ pageContent: `doc ${id}`, metadata: { id } }));
    await addToFaissStore(saved, [[1, 0, 0], [0, 1, 0], [0, 0, 1]], docs, ["a", "b", "c"]);
    const dir = tempDir();
    await saved.save(dir);
    const index = faiss.IndexFlatL2.read(`${dir}/faiss.index`);
    const [ours, theirs] = await Promise.all([loadFaissStore(dir, new FakeEmbeddings(), index), FaissStore.load(dir, new FakeEmbeddings())]);
    expect(ours.index).toBe(index);
    expect(ours.getMapping()).toEqual(theirs.getMapping());
    expect([...ours.docstore._docs]).toEqual([...theirs.docstore._docs]);
    const [hitsOurs, hitsTheirs] = await Promise.all([ours, theirs].map((s) => s.similaritySearchVectorWithScore([0.1, 0.9, 0.2], 2)));
    expect(hitsOurs).toEqual(hitsTheirs);
  });
});
