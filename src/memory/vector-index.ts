/**
 * The FAISS index of one user's memories, and vectors as the store keeps them.
 *
 * Exact search (IndexFlatL2) below APPROXIMATE_FROM vectors, an inverted-file index (IVF,
 * flat lists: the embedding model's vectors are stored unchanged) from there on. Why 20,000: a
 * flat search reads every vector (20k × 512 × 4 B = 40 MB per query, ~10 ms here, growing
 * linearly to ~0.5 s at 1M), while below it a query costs less than embedding the query
 * itself; and IVF needs enough vectors to train √n lists of ~√n vectors each (20k gives 128
 * lists of ~156). Recall against exact search is measured by bench/retrieval.ts.
 *
 * Large indexes are built in one native call from a Float32Array (native/faiss-bulk.cc, built
 * by scripts/build-faiss.mjs); faiss-node's own add() converts every JS number through N-API,
 * which took 209 s for 1M vectors. Without the bulk builder, indexes stay exact (faiss-node
 * cannot set an IVF index's nprobe, and its training would be as slow as its add).
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import type { Index } from "faiss-node";

/** Vectors from which an index is approximate (IVF) rather than exact. */
export const APPROXIMATE_FROM = 20_000;
/** Lists an IVF search visits (of ~√n): recall@4 against exact search is measured by bench/retrieval.ts. */
export const IVF_NPROBE = 12;
/**
 * Training vectors per IVF list (faiss's minimum, 39) and k-means iterations: a coarse
 * partition is enough (the lists hold the exact vectors, and recall is measured), while
 * faiss's defaults (up to 256 points per list, 25 iterations) alone would take minutes at 1M.
 */
const TRAIN_PER_LIST = 39;
const TRAIN_ITERATIONS = 10;

export interface IndexKind {
  /** faiss index_factory descriptor: "Flat" or "IVF<lists>,Flat". */
  descriptor: string;
  nprobe: number;
}

/**
 * The index an n-vector memory gets. The IVF list count is a power of two near √n, so it
 * changes (and the index is rebuilt and retrained) only when the memory has grown ~4×.
 */
export function indexKindFor(n: number, approximateFrom = APPROXIMATE_FROM): IndexKind {
  if (n < approximateFrom || !bulkBuilder()) return { descriptor: "Flat", nprobe: 0 };
  // √n lists of ~√n vectors: adding a vector compares it to every list centre (BLAS), so more
  // lists would slow the build (1M × 1,024 centres ≈ 1 TFLOP, most of the 1M build time).
  const lists = 2 ** Math.round(Math.log2(Math.sqrt(n)));
  return { descriptor: `IVF${lists},Flat`, nprobe: IVF_NPROBE };
}

interface BulkBuilder {
  buildIndexFile(path: string, dim: number, descriptor: string, train: Float32Array | null, data: Float32Array, nprobe: number, trainIterations: number): void;
}

let bulk: BulkBuilder | null | undefined;

/** native/faiss-bulk.node from this source tree or its compiled copy (dist/), if it was built. */
export function bulkBuilder(): BulkBuilder | undefined {
  if (bulk === undefined) {
    const here = dirname(fileURLToPath(import.meta.url));
    const path = ["../..", "../../.."].map((up) => join(here, up, "native", "build", "faiss-bulk.node")).find(existsSync);
    try {
      bulk = path ? (createRequire(import.meta.url)(path) as BulkBuilder) : null;
    } catch {
      bulk = null;
    }
  }
  return bulk ?? undefined;
}

async function faissNode(): Promise<typeof import("faiss-node")> {
  const mod = (await import("faiss-node")) as typeof import("faiss-node") & { default?: typeof import("faiss-node") };
  return mod.default ?? mod;
}

/** An index of `kind` holding `vectors` (n × dim, row-major), built natively when possible. */
export async function buildIndex(vectors: Float32Array, dim: number, kind: IndexKind): Promise<Index> {
  const { Index, IndexFlatL2 } = await faissNode();
  const builder = bulkBuilder();
  if (!builder) {
    const index = new IndexFlatL2(dim);
    const rows = 2000; // per add() call: one JS array of 1M × 512 numbers would not fit the heap
    for (let start = 0; start < vectors.length; start += rows * dim) index.add(Array.from(vectors.subarray(start, start + rows * dim)));
    return index;
  }
  const n = vectors.length / dim;
  const lists = Number(/^IVF(\d+)/.exec(kind.descriptor)?.[1] ?? 0);
  const train = lists > 0 ? trainingSample(vectors, dim, Math.min(n, lists * TRAIN_PER_LIST)) : null;
  const file = join(tmpdir(), `persona-agent-index-${process.pid}-${randomUUID()}`);
  try {
    builder.buildIndexFile(file, dim, kind.descriptor, train, vectors, kind.nprobe, TRAIN_ITERATIONS);
    return Index.read(file);
  } finally {
    await rm(file, { force: true });
  }
}

/** `count` rows spread evenly over the whole matrix (rows arrive in time order). */
function trainingSample(vectors: Float32Array, dim: number, count: number): Float32Array {
  const n = vectors.length / dim;
  const sample = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    const row = Math.floor((i * n) / count);
    sample.set(vectors.subarray(row * dim, (row + 1) * dim), i * dim);
  }
  return sample;
}

/** A vector as the store keeps it: float32, little-endian, base64 (2.7 KB for 512-d, not ~10 KB of JSON numbers). */
export function encodeVector(vector: ArrayLike<number>): string {
  const floats = Float32Array.from(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString("base64");
}

export function decodeVector(encoded: string): Float32Array {
  const bytes = Buffer.from(encoded, "base64");
  // Copy into an aligned buffer: a Buffer's offset into its pool need not be a multiple of 4.
  const floats = new Float32Array(bytes.length / 4);
  new Uint8Array(floats.buffer).set(bytes);
  return floats;
}
