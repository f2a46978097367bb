/**
 * Episodic retrieval at scale: top-K over one user's memories with FAISS (faiss-node
 * IndexFlatL2, what EpisodicMemory uses through FaissStore) beside a brute-force cosine scan
 * in TypeScript over a Float32Array. Random unit vectors of dimension 512 stand in for
 * USE-lite embeddings: embedding 1M texts with USE on this CPU would take hours (~120 texts/s),
 * and a flat index's cost does not depend on the vectors' values.
 *   npm run bench:retrieval [-- --sizes 1000,10000,100000,1000000 --queries 200 --k 4]
 * The default stops at 100k (about a minute); 1M adds ~4 GB of RAM and a few minutes.
 */
import { parseArgs } from "node:util";
import faiss from "faiss-node";
import { Document } from "@langchain/core/documents";
import { FaissStore } from "@langchain/community/vectorstores/faiss";
import { FakeEmbeddings } from "@langchain/core/utils/testing";
import { addToFaissStore } from "../src/memory/episodic.js";
import { fmt, MB, median, memory, p95, table, time } from "./lib.js";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,10000,100000" },
    queries: { type: "string", default: "200" },
    k: { type: "string", default: "4" },
    dim: { type: "string", default: "512" },
    /** Also time LangChain's FaissStore wrapper (Documents + docstore) up to this size. */
    "store-up-to": { type: "string", default: "100000" },
    /** Also time LangChain's own FaissStore.addVectors (O(n²) docstore checks) up to this size. */
    "langchain-add-up-to": { type: "string", default: "10000" },
  },
});
const SIZES = values.sizes.split(",").map(Number);
const QUERIES = Number(values.queries);
const K = Number(values.k);
const DIM = Number(values.dim);
const STORE_UP_TO = Number(values["store-up-to"]);
const LANGCHAIN_ADD_UP_TO = Number(values["langchain-add-up-to"]);
const CHUNK = 2_000; // vectors per faiss add() call (it takes a plain JS array)

/** xorshift32: deterministic, fast, no allocation. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296 - 0.5;
  };
}

function unitVectors(n: number, seed: number): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < DIM; j++) {
      const x = next();
      out[i * DIM + j] = x;
      norm += x * x;
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < DIM; j++) out[i * DIM + j]! /= norm;
  }
  return out;
}

/** Top-k by dot product (= cosine for unit vectors), one pass, insertion into a k-array. */
function bruteForce(data: Float32Array, n: number, query: Float32Array, k: number): number[] {
  const best = new Float64Array(k).fill(-Infinity);
  const ids = new Int32Array(k).fill(-1);
  for (let i = 0; i < n; i++) {
    let dot = 0;
    const base = i * DIM;
    for (let j = 0; j < DIM; j++) dot += data[base + j]! * query[j]!;
    if (dot <= best[k - 1]!) continue;
    let at = k - 1;
    while (at > 0 && best[at - 1]! < dot) {
      best[at] = best[at - 1]!;
      ids[at] = ids[at - 1]!;
      at--;
    }
    best[at] = dot;
    ids[at] = i;
  }
  return [...ids];
}

const rows: (string | number)[][] = [];
const langchainBuild: string[] = [];
for (const n of SIZES) {
  const queryCount = n >= 1_000_000 ? Math.min(QUERIES, 50) : QUERIES;
  const before = memory();
  const data = unitVectors(n, n);
  const afterData = memory();

  const [index, buildMs] = await time(() => {
    const idx = new faiss.IndexFlatL2(DIM);
    for (let start = 0; start < n; start += CHUNK) idx.add(Array.from(data.subarray(start * DIM, Math.min(n, start + CHUNK) * DIM)));
    return idx;
  });
  const afterFaiss = memory();

  const queries = unitVectors(queryCount, 7 + n);
  const faissTimes: number[] = [];
  const bruteTimes: number[] = [];
  let agree = 0;
  for (let q = 0; q < queryCount; q++) {
    const query = queries.subarray(q * DIM, (q + 1) * DIM);
    const plain = Array.from(query);
    let t = performance.now();
    const hit = index.search(plain, K);
    faissTimes.push(performance.now() - t);
    t = performance.now();
    const mine = bruteForce(data, n, query, K);
    bruteTimes.push(performance.now() - t);
    if (hit.labels[0] === mine[0]) agree++;
  }

  let storeMedian = NaN;
  let storeP95 = NaN;
  let storeBuildMs = NaN;
  let storeMb = NaN;
  if (n <= STORE_UP_TO) {
    const m0 = memory();
    const [store, ms] = await time(async () => {
      const s = new FaissStore(new FakeEmbeddings(), {});
      for (let start = 0; start < n; start += CHUNK) {
        const end = Math.min(n, start + CHUNK);
        const vectors = Array.from({ length: end - start }, (_, i) => Array.from(data.subarray((start + i) * DIM, (start + i + 1) * DIM)));
        const docs = vectors.map((_, i) => new Document({ pageContent: `memory ${start + i}`, metadata: { id: `m${start + i}`, seq: start + i } }));
        await addToFaissStore(s, vectors, docs, docs.map((d) => d.metadata.id as string));
      }
      return s;
    });
    storeBuildMs = ms;
    if (n <= LANGCHAIN_ADD_UP_TO) {
      const [, langchainMs] = await time(async () => {
        const s = new FaissStore(new FakeEmbeddings(), {});
        for (let start = 0; start < n; start += CHUNK) {
          const end = Math.min(n, start + CHUNK);
          const vectors = Array.from({ length: end - start }, (_, i) => Array.from(data.subarray((start + i) * DIM, (start + i + 1) * DIM)));
          const docs = vectors.map((_, i) => new Document({ pageContent: `memory ${start + i}`, metadata: { id: `m${start + i}` } }));
          await s.addVectors(vectors, docs, { ids: docs.map((d) => d.metadata.id as string) });
        }
      });
      langchainBuild.push(`${n.toLocaleString("en-US")}: ${fmt(langchainMs / 1000, 2)} s`);
    }
    storeMb = (memory().rss - m0.rss) / MB;
    const times: number[] = [];
    for (let q = 0; q < queryCount; q++) {
      const plain = Array.from(queries.subarray(q * DIM, (q + 1) * DIM));
      const t = performance.now();
      await store.similaritySearchVectorWithScore(plain, K);
      times.push(performance.now() - t);
    }
    storeMedian = median(times);
    storeP95 = p95(times);
  }

  rows.push([
    n.toLocaleString("en-US"),
    queryCount,
    fmt(median(faissTimes), 2),
    fmt(p95(faissTimes), 2),
    fmt(storeMedian, 2),
    fmt(storeP95, 2),
    fmt(median(bruteTimes), 2),
    fmt(p95(bruteTimes), 2),
    fmt(buildMs / 1000, 2),
    fmt(storeBuildMs / 1000, 2),
    fmt((afterData.arrayBuffers - before.arrayBuffers) / MB, 0),
    fmt((afterFaiss.rss - afterData.rss) / MB, 0),
    fmt(storeMb, 0),
    `${agree}/${queryCount}`,
  ]);
  console.error(`done n=${n}`);
}

console.log(`episodic retrieval, one user, K=${K}, dim ${DIM}, random unit vectors; latency per query in ms`);
console.log(
  table(
    [
      "memories",
      "queries",
      "FAISS flat median",
      "FAISS flat p95",
      "FaissStore median",
      "FaissStore p95",
      "TS scan median",
      "TS scan p95",
      "FAISS build s",
      "FaissStore build s (bulk add)",
      "Float32Array MB",
      "FAISS index RSS MB",
      "FaissStore RSS MB",
      "same top-1",
    ],
    rows,
  ),
);
if (langchainBuild.length > 0) console.log(`\nFaissStore built with LangChain's own addVectors (O(n²) docstore): ${langchainBuild.join(", ")}`);
console.log("FAISS index RSS = RSS growth while building (includes freed JS arrays not yet returned to the OS); the index itself holds n × dim × 4 bytes.");
