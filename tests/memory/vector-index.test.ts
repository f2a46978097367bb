/**
 * The addon's index object (native/faiss-bulk.cc, readIndex): a sketch index read by it scans
 * its codes with the CPU's popcount instruction, and must return exactly what faiss's own search
 * of the same file returns (faiss-node's Index.read), keep the file format, and refuse bad
 * arguments with an error rather than abort the process.
 *
 * Ties: the scan fills faiss's own heap in label order, as faiss's scan does, so equal Hamming
 * distances resolve the same way (lower label first) and results are compared exactly.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import faiss from "faiss-node";
import { indexKindFor, MemoryIndex, nativeFaiss } from "../../src/memory/vector-index.js";
import { tempDir } from "../../testing/fixtures.js";

const native = nativeFaiss();
const withAddon = native ? describe : describe.skip;

/** n seeded random unit vectors of dim (xorshift32, roughly normal coordinates). */
function unitVectors(n: number, dim: number, seed: number): Float32Array {
  let s = seed;
  const uniform = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += (out[i * dim + j] = uniform() + uniform() + uniform() - 1.5) ** 2;
    for (let j = 0; j < dim; j++) out[i * dim + j]! /= Math.sqrt(norm);
  }
  return out;
}

const rows = (m: Float32Array, dim: number, from: number, count: number) =>
  Array.from(m.subarray(from * dim, (from + count) * dim));

/** Random queries, then stored vectors (distance 0 to one of them). */
function queries(data: Float32Array, dim: number): number[][] {
  const fresh = unitVectors(30, dim, 99);
  return [
    ...Array.from({ length: 30 }, (_, q) => rows(fresh, dim, q, 1)),
    ...[0, 7, 1234, 29_999].map((i) => rows(data, dim, i, 1)),
  ];
}

withAddon("the addon's index object", () => {
  const dir = tempDir();
  const n = 30_000;

  test("a sketch index (as EpisodicMemory builds it) returns exactly faiss's own results", () => {
    const dim = 64;
    const data = unitVectors(n, dim, 1);
    const kind = indexKindFor(n, 0);
    expect(kind.descriptor).toMatch(/^LSH\d+rt,RFlat$/);
    const file = join(dir, "sketch.index");
    native!.buildIndexFile(file, dim, kind.descriptor, data, data, kind.kFactor);
    const theirs = faiss.Index.read(file);
    const ours = native!.readIndex(file);
    expect([ours.ntotal(), ours.getDimension()]).toEqual([n, dim]);
    for (const query of queries(data, dim))
      for (const k of [1, 4, 25, 200]) expect(ours.search(query, k)).toEqual(theirs.search(query, k)); // 200 × 250 candidates > n: padded with -1
  });

  test("the Hamming scan alone (a bare IndexLSH) returns faiss's labels and distances, ties included", () => {
    const dim = 256; // faiss's factory makes an LSH index of as many bits as dimensions
    const data = unitVectors(n, dim, 2);
    const file = join(dir, "lsh.index");
    native!.buildIndexFile(file, dim, "LSHrt", data, data, 0);
    const theirs = faiss.Index.read(file);
    const ours = native!.readIndex(file);
    let tiesAtTheCut = 0;
    for (const query of queries(data, dim)) {
      for (const k of [10, 100]) {
        const expected = theirs.search(query, k + 1);
        if (expected.distances[k - 1] === expected.distances[k]) tiesAtTheCut++; // which of the equals is kept matters
        expect(ours.search(query, k)).toEqual(theirs.search(query, k));
      }
    }
    expect(tiesAtTheCut).toBeGreaterThan(10);
  });

  test("vectors added to it are found as faiss finds them, and it writes the file it read", () => {
    const dim = 64;
    const file = join(dir, "sketch.index");
    const ours = native!.readIndex(file);
    const theirs = faiss.Index.read(file);
    const extra = unitVectors(50, dim, 3);
    ours.add(Array.from(extra));
    theirs.add(Array.from(extra));
    expect(ours.ntotal()).toBe(n + 50);
    const hit = ours.search(rows(extra, dim, 17, 1), 4);
    expect(hit.labels[0]).toBe(n + 17);
    expect(hit).toEqual(theirs.search(rows(extra, dim, 17, 1), 4));

    const copy = join(dir, "copy.index");
    native!.readIndex(file).write(copy);
    expect(readFileSync(copy).equals(readFileSync(file))).toBe(true); // the sketch is written as the plain IndexLSH it was
  });

  test("MemoryIndex over it searches, grows, saves and loads as it does over faiss-node's index", async () => {
    const dim = 64;
    const data = unitVectors(300, dim, 5);
    const entries = Array.from({ length: 300 }, (_, i) => ({ id: `e${i}` }));
    const vectors = Array.from({ length: 300 }, (_, i) => rows(data, dim, i, 1));
    const sketch = await MemoryIndex.build(entries.slice(0, 250), vectors.slice(0, 250), indexKindFor(250, 0));
    const exact = await MemoryIndex.build(entries.slice(0, 250), vectors.slice(0, 250), indexKindFor(250));
    expect([sketch.kind.descriptor, exact.kind.descriptor]).toEqual([
      expect.stringMatching(/^LSH\d+rt,RFlat$/),
      "Flat",
    ]);
    for (const index of [sketch, exact]) index.add(entries.slice(250), vectors.slice(250));
    for (const i of [3, 249, 250, 299]) {
      const [ours, theirs] = [sketch, exact].map((index) => index.search(rows(data, dim, i, 1), 4));
      expect(ours![0]).toEqual({ entry: { id: `e${i}` }, distance: 0 });
      expect(ours).toEqual(theirs); // 1,000 candidates re-ranked exactly: all 300
    }
    expect(sketch.search(rows(data, dim, 7, 1), 1000)).toHaveLength(300);
    expect(() => sketch.add([{ id: "e7" }], [rows(data, dim, 7, 1)])).toThrow(/already in the index/);
    expect(() => sketch.add([{ id: "x" }], [[1, 0, 0]])).toThrow(/dimensions/);

    const saved = tempDir();
    const digest = await sketch.save(saved);
    const loaded = await MemoryIndex.load<{ id: string }>(saved, sketch.kind, digest);
    expect([loaded.size, loaded.ids()]).toEqual([300, entries.map((e) => e.id)]);
    expect(loaded.search(rows(data, dim, 299, 1), 4)).toEqual(sketch.search(rows(data, dim, 299, 1), 4));
    expect(faiss.Index.read(join(saved, "faiss.index")).ntotal()).toBe(300); // the file faiss itself reads
  });

  test("V8 is told the memory an index holds: indexes let go of are collected before they pile up", async () => {
    // 100 readings of an 8.6 MB index (30k vectors of 64 floats and 32-byte codes), each dropped
    // at once: behind its small wrapper V8 would see no reason to collect (+873 MB measured
    // without the accounting, +90 MB with it). Finalizers run after a turn of the event loop.
    const file = join(dir, "sketch.index");
    const start = process.memoryUsage().rss;
    let peak = 0;
    for (let i = 0; i < 100; i++) {
      expect(native!.readIndex(file).ntotal()).toBe(n);
      await new Promise((resolve) => setImmediate(resolve));
      peak = Math.max(peak, process.memoryUsage().rss - start);
    }
    expect(peak).toBeLessThan(350e6);
  });

  test("bad arguments throw a clear error and the index keeps working", () => {
    const dim = 64;
    const file = join(dir, "sketch.index");
    const index = native!.readIndex(file);
    const query = rows(unitVectors(1, dim, 4), dim, 0, 1);
    const call = (f: () => unknown) => f as () => void;
    const search = index.search.bind(index) as (...args: unknown[]) => unknown;
    expect(call(() => search("not an array", 4))).toThrow(
      /search\(x, k\): x must be an Array of numbers, a multiple of 64 long/,
    );
    expect(call(() => search(query.slice(1), 4))).toThrow(/multiple of 64/);
    expect(call(() => search([...query.slice(1), "x"], 4))).toThrow(/Array of numbers/);
    expect(call(() => search(query))).toThrow(/search\(x, k\)/);
    for (const k of [-1, 1.5, n + 1, "4", NaN])
      expect(call(() => search(query, k))).toThrow(/k must be an integer from 0 to ntotal \(30000\)/);
    expect(search(query, 0)).toEqual({ distances: [], labels: [] });
    expect(call(() => (index.add as (...args: unknown[]) => unknown)([1, 2, 3]))).toThrow(
      /add\(x\): x must be an Array of numbers, a multiple of 64 long/,
    );
    expect(call(() => (index.write as (...args: unknown[]) => unknown)(42))).toThrow(
      /write\(path\): path must be a string/,
    );
    expect(call(() => index.write(join(dir, "missing-dir", "x.index")))).toThrow(/could not open/);
    const readIndex = native!.readIndex as (...args: unknown[]) => unknown;
    expect(call(() => readIndex())).toThrow(/readIndex\(path\): path must be a string/);
    expect(call(() => readIndex(join(dir, "absent.index")))).toThrow(/could not open/);
    const junk = join(dir, "junk.index");
    writeFileSync(junk, "not a faiss index");
    expect(call(() => readIndex(junk))).toThrow(/not recognized/);
    const NativeIndex = Object.getPrototypeOf(index).constructor as new () => unknown;
    expect(() => new NativeIndex()).toThrow(/made by readIndex/);
    expect(index.search(query, 4).labels).toHaveLength(4);
  });
});
