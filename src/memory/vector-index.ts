/**
 * The FAISS index of one user's memories, and vectors as the store keeps them.
 *
 * Exact search (IndexFlatL2) below APPROXIMATE_FROM vectors; from there on a sketch index:
 * each vector also gets a 256-bit code (signs of a random rotation, thresholds trained on the
 * user's vectors: faiss's IndexLSH), a query scans the codes by Hamming distance and re-ranks
 * the best SKETCH_CANDIDATES × k by exact distance to the stored vectors (IndexRefineFlat), so
 * the embedding model's vectors and the returned distances are unchanged. Why this and not
 * IVF or HNSW (bench/RESULTS.md §3 has the numbers): with many topics per user, k-means lists
 * split topics (IVF recall@4 ≤ 0.91 at 1M even when reading 5 % of the vectors), an HNSW
 * graph took minutes to build at 200k on 2 cores, while a sketch needs no partition, trains in
 * a second, and adds a vector without retraining.
 * Why 20,000: below it a flat search (≤ 40 MB read per query, ~8 ms) costs less than
 * embedding the query itself.
 *
 * Large indexes are built in one native call from a Float32Array (native/faiss-bulk.cc, built
 * by scripts/build-faiss.mjs); faiss-node's own add() converts every JS number through N-API,
 * which took 209 s for 1M vectors. Sketch indexes are also read and searched by that addon:
 * Debian's libfaiss (the one faiss-node links) is compiled without the CPU's popcount
 * instruction, and its Hamming scan of 1M codes took ~12 ms of the 10 ms a retrieval may take;
 * the addon's scan uses it and returns the same results. Without the addon, indexes stay exact
 * (faiss-node cannot construct a sketch index of another bit count than the dimension, nor set
 * k_factor).
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import type { Index } from "faiss-node";

/** Vectors from which an index is approximate (a sketch) rather than exact. */
export const APPROXIMATE_FROM = 20_000;
/**
 * Sketch candidates re-ranked exactly, per result asked for (faiss's k_factor): 1,000 for the
 * agent's top 4. Recall@4 against exact search is measured by bench/retrieval.ts.
 */
export const SKETCH_CANDIDATES = 250;
/** Bits per sketch: 32 bytes scanned per memory; 512 bits doubles the scan for little recall here. */
const SKETCH_BITS = 256;
/** Rows the thresholds are trained on (a median per bit needs few). */
const TRAINING_ROWS = 65_536;

export interface IndexKind {
  /** "Flat", or "LSH<bits>rt,RFlat" (faiss's names: rotated, trained LSH codes, refined by exact distance). */
  descriptor: string;
  /** Candidates per result re-ranked exactly (faiss's k_factor); 0 for exact search. */
  kFactor: number;
}

/** The index an n-vector memory gets. */
export function indexKindFor(n: number, approximateFrom = APPROXIMATE_FROM): IndexKind {
  if (n < approximateFrom || !nativeFaiss()) return { descriptor: "Flat", kFactor: 0 };
  return { descriptor: `LSH${SKETCH_BITS}rt,RFlat`, kFactor: SKETCH_CANDIDATES };
}

/** A faiss index held by the addon: the methods of faiss-node's Index that FaissStore and EpisodicMemory call. */
export type NativeIndex = Pick<Index, "ntotal" | "getDimension" | "add" | "search" | "write">;

interface NativeFaiss {
  buildIndexFile(path: string, dim: number, descriptor: string, train: Float32Array | null, data: Float32Array, kFactor: number): void;
  /** The index in the file; a sketch's Hamming scan runs with the CPU's popcount instruction. */
  readIndex(path: string): NativeIndex;
}

let addon: NativeFaiss | null | undefined;

/**
 * native/faiss-bulk.node from this source tree or its compiled copy (dist/), if it was built.
 * Loading it also makes FAISS run one-query searches on the calling thread (OpenMP is shared
 * with faiss-node): the idle second thread's barrier cost up to 14x at 1M on a busy machine.
 */
export function nativeFaiss(): NativeFaiss | undefined {
  if (addon === undefined) {
    const here = dirname(fileURLToPath(import.meta.url));
    const path = ["../..", "../../.."].map((up) => join(here, up, "native", "build", "faiss-bulk.node")).find(existsSync);
    try {
      addon = path ? (createRequire(import.meta.url)(path) as NativeFaiss) : null;
    } catch {
      addon = null;
    }
  }
  return addon ?? undefined;
}

async function faissNode(): Promise<typeof import("faiss-node")> {
  const mod = (await import("faiss-node")) as typeof import("faiss-node") & { default?: typeof import("faiss-node") };
  return mod.default ?? mod;
}

/**
 * The index of `kind` in the file, read once: a sketch by the addon (searched with popcount),
 * an exact index (or any, without the addon) by faiss-node, as FaissStore.load reads it.
 * FaissStore takes either: it calls only NativeIndex's methods on our paths.
 */
export async function readIndex(path: string, kind: IndexKind): Promise<Index> {
  const native = nativeFaiss();
  if (native && kind.descriptor !== "Flat") return native.readIndex(path) as Index;
  return (await faissNode()).IndexFlatL2.read(path);
}

/** An index of `kind` holding `vectors` (n × dim, row-major), built natively when possible. */
export async function buildIndex(vectors: Float32Array, dim: number, kind: IndexKind): Promise<Index> {
  const native = nativeFaiss();
  if (!native) {
    const { IndexFlatL2 } = await faissNode();
    const index = new IndexFlatL2(dim);
    const rows = 2000; // per add() call: one JS array of 1M × 512 numbers would not fit the heap
    for (let start = 0; start < vectors.length; start += rows * dim) index.add(Array.from(vectors.subarray(start, start + rows * dim)));
    return index;
  }
  const n = vectors.length / dim;
  const train = kind.descriptor === "Flat" ? null : trainingSample(vectors, dim, Math.min(n, TRAINING_ROWS));
  const file = join(tmpdir(), `persona-agent-index-${process.pid}-${randomUUID()}`);
  try {
    native.buildIndexFile(file, dim, kind.descriptor, train, vectors, kind.kFactor);
    return await readIndex(file, kind);
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
