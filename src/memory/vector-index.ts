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
 * the addon's scan uses it and returns the same results. The addon is optional: it is compiled
 * at install where a C++ compiler and libfaiss-dev are found, and PERSONA_AGENT_NATIVE_INDEX=off
 * leaves it unused. Without it every index is exact, built and searched by faiss-node alone
 * (faiss-node cannot construct a sketch index of another bit count than the dimension, nor set
 * k_factor), and the first user past APPROXIMATE_FROM is told so once per process.
 *
 * MemoryIndex pairs a FAISS index with the entry each of its rows holds (its own id mapping,
 * saved beside the index file), so nothing here reaches into a vector store's internals.
 */
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash, randomUUID } from "node:crypto";
import type { Index } from "faiss-node";
import { nativeIndexEnabled } from "../configuration/settings.js";

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

const EXACT: IndexKind = { descriptor: "Flat", kFactor: 0 };

/** The index an n-vector memory gets. */
export function indexKindFor(n: number, approximateFrom = APPROXIMATE_FROM): IndexKind {
  if (n < approximateFrom) return EXACT;
  if (!nativeFaiss()) {
    noteExactWithoutAddon(approximateFrom);
    return EXACT;
  }
  return { descriptor: `LSH${SKETCH_BITS}rt,RFlat`, kFactor: SKETCH_CANDIDATES };
}

let notedExact = false;

/** Once per process, on stderr (the server's log), never naming the user. */
function noteExactWithoutAddon(approximateFrom: number): void {
  if (notedExact) return;
  notedExact = true;
  const why = nativeIndexEnabled()
    ? "native/build/faiss-bulk.node was not built: it needs a C++ compiler and libfaiss-dev when installing"
    : "PERSONA_AGENT_NATIVE_INDEX=off";
  process.stderr.write(
    `persona-agent: a user has ${approximateFrom.toLocaleString("en-US")} or more memories; retrieval stays exact, and slower, without the native index addon (${why})\n`,
  );
}

/** The methods of a FAISS index that MemoryIndex calls: faiss-node's Index, or one the addon read. */
export type NativeIndex = Pick<Index, "ntotal" | "getDimension" | "add" | "search" | "write">;

interface NativeFaiss {
  buildIndexFile(
    path: string,
    dim: number,
    descriptor: string,
    train: Float32Array | null,
    data: Float32Array,
    kFactor: number,
  ): void;
  /** The index in the file; a sketch's Hamming scan runs with the CPU's popcount instruction. */
  readIndex(path: string): NativeIndex;
}

let addon: NativeFaiss | null | undefined;

/**
 * native/faiss-bulk.node from this source tree or its compiled copy (dist/), if it was built and
 * PERSONA_AGENT_NATIVE_INDEX is not off.
 * Loading it also makes FAISS run one-query searches on the calling thread (OpenMP is shared
 * with faiss-node): the idle second thread's barrier cost up to 14x at 1M on a busy machine.
 */
export function nativeFaiss(): NativeFaiss | undefined {
  if (addon === undefined) {
    const here = dirname(fileURLToPath(import.meta.url));
    const path = nativeIndexEnabled()
      ? ["../..", "../../.."].map((up) => join(here, up, "native", "build", "faiss-bulk.node")).find(existsSync)
      : undefined;
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
 * an exact index by faiss-node. A sketch without the addon is refused (the caller rebuilds).
 */
async function readIndex(path: string, kind: IndexKind): Promise<NativeIndex> {
  if (kind.descriptor === EXACT.descriptor) return (await faissNode()).IndexFlatL2.read(path);
  const native = nativeFaiss();
  if (!native) throw new Error(`a ${kind.descriptor} index needs the native index addon`);
  return native.readIndex(path);
}

/** Appends `vectors` (n × dim, row-major) through faiss-node's add(), in slices: one JS array of 1M × 512 numbers would not fit the heap. */
function addRows(index: NativeIndex, vectors: Float32Array, dim: number): void {
  const rows = 2000;
  for (let start = 0; start < vectors.length; start += rows * dim)
    index.add(Array.from(vectors.subarray(start, start + rows * dim)));
}

/** An index of `kind` holding `vectors` (n × dim, row-major), built natively when possible. */
export async function buildIndex(vectors: Float32Array, dim: number, kind: IndexKind): Promise<NativeIndex> {
  const native = nativeFaiss();
  if (!native) {
    const index = new (await faissNode()).IndexFlatL2(dim);
    addRows(index, vectors, dim);
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

/** `vectors` (unit length, one per entry) as one row-major matrix. */
function matrixOf(vectors: ArrayLike<number>[]): { matrix: Float32Array; dim: number } {
  const dim = vectors[0]?.length ?? 0;
  const matrix = new Float32Array(vectors.length * dim);
  vectors.forEach((v, i) => {
    if (v.length !== dim) throw new Error(`vectors of ${v.length} and ${dim} dimensions in one index`);
    matrix.set(v, i * dim);
  });
  return { matrix, dim };
}

const INDEX_FILE = "faiss.index";
/** The entry of each row, in row order: the index's own id mapping. */
const ENTRIES_FILE = "entries.json";

/**
 * One user's FAISS index and the entry each of its rows (FAISS labels 0, 1, ...) holds. Built
 * from the store's vectors, grown by add(), saved to and loaded from a directory (the index
 * file and the entries in row order), searched by vector.
 */
export class MemoryIndex<Entry extends { id: string }> {
  private constructor(
    private readonly index: NativeIndex,
    readonly kind: IndexKind,
    private readonly entries: Entry[],
  ) {}

  /** An index of `kind` over `entries`, one vector each. */
  static async build<Entry extends { id: string }>(
    entries: Entry[],
    vectors: ArrayLike<number>[],
    kind: IndexKind,
  ): Promise<MemoryIndex<Entry>> {
    if (entries.length === 0 || vectors.length !== entries.length)
      throw new Error("an index needs one vector per entry, and at least one");
    const { matrix, dim } = matrixOf(vectors);
    return new MemoryIndex(await buildIndex(matrix, dim, kind), kind, [...entries]);
  }

  /**
   * What save() wrote to `dir`, whose entries file had `digest`; throws when it is missing,
   * unreadable or inconsistent. The digest catches an entries file that parses but was changed
   * (reordered, other ids): its rows would name the wrong memories on every search.
   */
  static async load<Entry extends { id: string }>(
    dir: string,
    kind: IndexKind,
    digest: string,
  ): Promise<MemoryIndex<Entry>> {
    const text = await readFile(join(dir, ENTRIES_FILE), "utf8");
    if (digestOf(text) !== digest) throw new Error(`${dir}: the entries file is not the one saved with the index`);
    const entries = JSON.parse(text) as Entry[];
    const index = await readIndex(join(dir, INDEX_FILE), kind);
    if (!Array.isArray(entries) || entries.length !== index.ntotal())
      throw new Error(`${dir}: the index and its entries do not match`);
    return new MemoryIndex(index, kind, entries);
  }

  /** Entries (and vectors) it holds. */
  get size(): number {
    return this.entries.length;
  }

  ids(): string[] {
    return this.entries.map((e) => e.id);
  }

  /** Appends `entries`, one vector each, none of them held already. */
  add(entries: Entry[], vectors: ArrayLike<number>[]): void {
    if (entries.length === 0) return;
    if (vectors.length !== entries.length) throw new Error("one vector per entry");
    const held = new Set(this.ids());
    if (entries.some((e) => held.has(e.id)) || new Set(entries.map((e) => e.id)).size !== entries.length)
      throw new Error("an entry is already in the index");
    const { matrix, dim } = matrixOf(vectors);
    if (dim !== this.index.getDimension())
      throw new Error(`vectors have ${dim} dimensions, the index ${this.index.getDimension()}`);
    addRows(this.index, matrix, dim);
    this.entries.push(...entries);
  }

  /** The `k` nearest entries to `vector` (fewer when it holds fewer), nearest first, with their squared L2 distances. */
  search(vector: number[], k: number): { entry: Entry; distance: number }[] {
    const { distances, labels } = this.index.search(vector, Math.min(k, this.size));
    // FAISS pads with -1 when it finds fewer than asked for
    return labels.flatMap((label, i) => (label < 0 ? [] : [{ entry: this.entries[label]!, distance: distances[i]! }]));
  }

  /** Writes the index and its entries into `dir`; returns the entries file's digest, for load(). */
  async save(dir: string): Promise<string> {
    this.index.write(join(dir, INDEX_FILE));
    const text = JSON.stringify(this.entries);
    await writeFile(join(dir, ENTRIES_FILE), text);
    return digestOf(text);
  }
}

const digestOf = (text: string) => createHash("sha256").update(text).digest("hex");

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
