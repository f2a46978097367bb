/**
 * Content-addressed embedding cache of one user: vectors keyed by sha256(embeddings model id,
 * text), in one append-only file per model inside the user's index directory. Entries carry
 * their vector in the store (episodic.ts), so a rebuild needs no cache; this one serves what
 * the store cannot: the same texts added to a fresh store (the eval harness's per-run stores),
 * and entries of another model than the one that added them, or stored before vectors were. It holds only vectors and hashes, never text, but
 * vectors of a user's text are still the user's data: the file lives in the user's index
 * directory, so dropping the index (forget) removes it too. Nothing is shared between users.
 *
 * File layout: "PAEC" magic, uint32 LE dimension, then records of a 32-byte key and `dim`
 * float32 LE. A record cut by a crash is dropped on the next open.
 */
import { createHash } from "node:crypto";
import { mkdir, open, readFile, truncate } from "node:fs/promises";
import { join } from "node:path";
import type { Embeddings } from "@langchain/core/embeddings";

const MAGIC = Buffer.from("PAEC");
const HEADER_BYTES = 8;
const KEY_BYTES = 32;

/** Cache files in an index directory; carried over when the index is rewritten. */
export const EMBEDDING_CACHE_FILE = /^embeddings-[0-9a-f]{16}\.f32$/;

export function embeddingCacheFile(modelId: string): string {
  return `embeddings-${createHash("sha256").update(modelId).digest("hex").slice(0, 16)}.f32`;
}

export interface CachedEmbedResult {
  vectors: number[][];
  /** Texts answered from the cache (not sent to the model). */
  hits: number;
}

export class EmbeddingCache {
  private constructor(
    private readonly path: string,
    private readonly modelId: string,
    private readonly vectors: Map<string, Float32Array>,
    private dim: number | undefined,
    /** The file must be rewritten from scratch on the first append (missing or unreadable). */
    private fresh: boolean,
  ) {}

  /** Reads the cache of `modelId` in `dir` (empty when there is none yet). */
  static async open(dir: string, modelId: string): Promise<EmbeddingCache> {
    const path = join(dir, embeddingCacheFile(modelId));
    const vectors = new Map<string, Float32Array>();
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      return new EmbeddingCache(path, modelId, vectors, undefined, true);
    }
    if (bytes.length < HEADER_BYTES || !bytes.subarray(0, 4).equals(MAGIC))
      return new EmbeddingCache(path, modelId, vectors, undefined, true);
    const dim = bytes.readUInt32LE(4);
    const record = KEY_BYTES + dim * 4;
    const count = Math.floor((bytes.length - HEADER_BYTES) / record);
    // Aligned copy: a Buffer's offset into its pool need not be a multiple of 4.
    const floats = new Float32Array(count * dim);
    for (let i = 0; i < count; i++) {
      const at = HEADER_BYTES + i * record;
      const key = bytes.toString("hex", at, at + KEY_BYTES);
      const vector = floats.subarray(i * dim, (i + 1) * dim);
      for (let j = 0; j < dim; j++) vector[j] = bytes.readFloatLE(at + KEY_BYTES + j * 4);
      vectors.set(key, vector);
    }
    const valid = HEADER_BYTES + count * record;
    if (bytes.length > valid) await truncate(path, valid); // a record cut by a crash
    return new EmbeddingCache(path, modelId, vectors, dim, false);
  }

  get size(): number {
    return this.vectors.size;
  }

  private key(text: string): string {
    return createHash("sha256").update(this.modelId).update("\u0000").update(text).digest("hex");
  }

  /** Vectors of `texts`: cached ones from the file, the others from `embeddings` (then cached). */
  async embed(texts: string[], embeddings: Embeddings): Promise<CachedEmbedResult> {
    const keys = texts.map((t) => this.key(t));
    const vectors: (number[] | undefined)[] = keys.map((k) => {
      const cached = this.vectors.get(k);
      return cached ? Array.from(cached) : undefined;
    });
    const missed = new Set(keys.filter((_, i) => vectors[i] === undefined));
    const missing = [...missed];
    if (missing.length > 0) {
      const textOf = new Map(keys.map((k, i) => [k, texts[i]!]));
      const fresh = await embeddings.embedDocuments(missing.map((k) => textOf.get(k)!));
      const byKey = new Map(missing.map((k, i) => [k, fresh[i]!]));
      for (let i = 0; i < keys.length; i++) vectors[i] ??= byKey.get(keys[i]!);
      await this.append(missing, fresh);
    }
    return { vectors: vectors as number[][], hits: keys.filter((k) => !missed.has(k)).length };
  }

  private async append(keys: string[], vectors: number[][]): Promise<void> {
    const dim = vectors[0]?.length;
    if (!dim) return;
    if (this.dim !== undefined && this.dim !== dim) {
      // The model changed shape under the same id: start the file over.
      this.vectors.clear();
      this.fresh = true;
    }
    this.dim = dim;
    const record = KEY_BYTES + dim * 4;
    const header = this.fresh ? HEADER_BYTES : 0;
    const out = Buffer.alloc(header + keys.length * record);
    if (this.fresh) {
      MAGIC.copy(out, 0);
      out.writeUInt32LE(dim, 4);
    }
    keys.forEach((key, i) => {
      const at = header + i * record;
      out.write(key, at, KEY_BYTES, "hex");
      const stored = Float32Array.from(vectors[i]!);
      for (let j = 0; j < dim; j++) out.writeFloatLE(stored[j]!, at + KEY_BYTES + j * 4);
      this.vectors.set(key, stored);
    });
    try {
      await mkdir(join(this.path, ".."), { recursive: true });
      // One write per batch, appended (O_APPEND): a crash can cut only the last record.
      const file = await open(this.path, this.fresh ? "w" : "a");
      try {
        await file.write(out);
      } finally {
        await file.close();
      }
      this.fresh = false;
    } catch {
      // A cache is derived data: when another process is replacing the index directory, skip
      // this write (the vectors stay in memory) and start the file over next time.
      this.fresh = true;
    }
  }
}
