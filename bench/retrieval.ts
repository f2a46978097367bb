/**
 * Episodic retrieval at scale: one user's index as EpisodicMemory builds it (exact below
 * APPROXIMATE_FROM, a sketch index re-ranked exactly from there on; src/memory/vector-index.ts), against exact search on the
 * same vectors: latency, build time, and recall@K of the approximate index.
 *
 * Vectors: 512-d unit vectors in topical clusters (a random centre per ~200 memories, each
 * memory = centre + noise, cosine to its centre ~0.6), queries = a memory's centre plus fresh
 * noise (a new question on a known topic). Embedding 1M real texts with USE would take hours
 * here (50–120 texts/s). Uniform random vectors have no neighbourhoods at all (every distance
 * is nearly the same), which no approximate index handles; `--uniform` measures that worst case.
 *   npm run bench:retrieval [-- --sizes 1000,10000,100000,1000000 --queries 200 --k 4 --uniform]
 * The default stops at 100k (about a minute); 1M needs ~6 GB of RAM and a few minutes.
 */
import { parseArgs } from "node:util";
import faiss from "faiss-node";
import { APPROXIMATE_FROM, buildIndex, nativeFaiss, indexKindFor } from "../src/memory/vector-index.js";
import { fmt, median, p95, table, time } from "./lib.js";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,10000,100000" },
    queries: { type: "string", default: "200" },
    k: { type: "string", default: "4" },
    dim: { type: "string", default: "512" },
    uniform: { type: "boolean", default: false },
    /** Also time faiss-node's own add(number[]) (the path without the bulk builder) up to this size. */
    "slow-add-up-to": { type: "string", default: "100000" },
  },
});
const SIZES = values.sizes.split(",").map(Number);
const QUERIES = Number(values.queries);
const K = Number(values.k);
const DIM = Number(values.dim);
const SLOW_ADD_UP_TO = Number(values["slow-add-up-to"]);
const PER_TOPIC = 200;
const NOISE = 1.3; // per-coordinate noise relative to a unit centre spread over DIM coordinates: cosine to the centre ≈ 0.6

if (!nativeFaiss())
  throw new Error(
    "native/build/faiss-bulk.node is missing: run `node scripts/build-faiss.mjs` (needs g++ and libfaiss-dev)",
  );

/** xorshift32: uniform in [0, 1), and approximately standard normal (sum of 4 uniforms). */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  return { uniform, normal: () => (uniform() + uniform() + uniform() + uniform() - 2) * 1.732 };
}

function normalizeRow(out: Float32Array, row: number) {
  let norm = 0;
  for (let j = 0; j < DIM; j++) norm += out[row * DIM + j]! ** 2;
  norm = Math.sqrt(norm);
  for (let j = 0; j < DIM; j++) out[row * DIM + j]! /= norm;
}

function dataset(n: number, queries: number, seed: number): { data: Float32Array; queries: Float32Array } {
  const { uniform, normal: next } = rng(seed);
  const topics = Math.max(1, Math.round(n / PER_TOPIC));
  const centres = new Float32Array(topics * DIM).map(() => next());
  for (let t = 0; t < topics; t++) normalizeRow(centres, t);
  const sigma = NOISE / Math.sqrt(DIM);
  const sample = (count: number) => {
    const out = new Float32Array(count * DIM);
    for (let i = 0; i < count; i++) {
      const topic = Math.floor(uniform() * topics);
      for (let j = 0; j < DIM; j++)
        out[i * DIM + j] = values.uniform ? next() : centres[topic * DIM + j]! + sigma * next();
      normalizeRow(out, i);
    }
    return out;
  };
  return { data: sample(n), queries: sample(queries) };
}

const rows: (string | number)[][] = [];
/** Issue #13's targets at 1M memories, printed against what was measured at the largest size. */
const targets: string[] = [];
for (const n of SIZES) {
  const queryCount = n >= 1_000_000 ? Math.min(QUERIES, 50) : QUERIES;
  const { data, queries } = dataset(n, queryCount, n);
  const kind = indexKindFor(n);
  const cpuBefore = process.cpuUsage();
  const [index, buildMs] = await time(() => buildIndex(data, DIM, kind));
  const cpu = process.cpuUsage(cpuBefore);
  const buildCpuS = (cpu.user + cpu.system) / 1e6; // all threads: ~2× wall when FAISS has both cores to itself
  const [exact, exactBuildMs] =
    kind.descriptor === "Flat"
      ? [index, buildMs]
      : await time(() => buildIndex(data, DIM, { descriptor: "Flat", kFactor: 0 }));

  let slowAddMs = NaN;
  if (n <= SLOW_ADD_UP_TO) {
    [, slowAddMs] = await time(() => {
      const idx = new faiss.IndexFlatL2(DIM);
      for (let start = 0; start < n; start += 2000)
        idx.add(Array.from(data.subarray(start * DIM, Math.min(n, start + 2000) * DIM)));
    });
  }

  const times: number[] = [];
  const exactTimes: number[] = [];
  let found = 0;
  for (let q = 0; q < queryCount; q++) {
    const query = Array.from(queries.subarray(q * DIM, (q + 1) * DIM));
    let t = performance.now();
    const hit = index.search(query, K);
    times.push(performance.now() - t);
    t = performance.now();
    const truth = exact.search(query, K);
    exactTimes.push(performance.now() - t);
    found += hit.labels.filter((label) => truth.labels.includes(label)).length;
  }
  rows.push([
    n.toLocaleString("en-US"),
    kind.descriptor + (kind.kFactor ? ` (k_factor ${kind.kFactor})` : ""),
    queryCount,
    fmt(median(times), 2),
    fmt(p95(times), 2),
    fmt(median(exactTimes), 2),
    fmt(median(exactTimes) / median(times), 1),
    fmt(found / (queryCount * K), 3),
    fmt(buildMs / 1000, 2),
    fmt(buildCpuS, 1),
    kind.descriptor === "Flat" ? "–" : fmt(exactBuildMs / 1000, 2),
    fmt(slowAddMs / 1000, 2),
  ]);
  if (n >= 1_000_000) {
    const recall = found / (queryCount * K);
    const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
    targets.push(
      `targets at ${n.toLocaleString("en-US")}: recall@${K} ${fmt(recall, 3)} (≥ 0.95: ${verdict(recall >= 0.95)}), ` +
        `median ${fmt(median(times), 2)} ms (≤ 10 ms: ${verdict(median(times) <= 10)}, ratio ${fmt(median(times) / 10, 2)}), ` +
        `build ${fmt(buildMs / 1000, 1)} s (≤ 60 s: ${verdict(buildMs <= 60_000)}, ratio ${fmt(buildMs / 60_000, 2)})`,
    );
  }
  console.error(`done n=${n} (index build ${fmt(buildMs / 1000, 1)} s)`);
}

console.log(
  `episodic retrieval, one user, K=${K}, dim ${DIM}, ${values.uniform ? "uniform random" : "clustered (~" + PER_TOPIC + " per topic)"} unit vectors; ` +
    `index as EpisodicMemory builds it (approximate from ${APPROXIMATE_FROM.toLocaleString("en-US")}); latency per query in ms`,
);
console.log(
  table(
    [
      "memories",
      "index",
      "queries",
      "median ms",
      "p95 ms",
      "exact median ms",
      "speed-up",
      `recall@${K} vs exact`,
      "build s (bulk)",
      "build CPU s",
      "exact build s (bulk)",
      "exact build s (faiss-node add)",
    ],
    rows,
  ),
);
for (const line of targets) console.log(line);
