/**
 * Deterministic, nearly free 512-d unit vectors from a text's hash: for benchmarks that need
 * many users' indexes but not meaningful similarity (cost and memory of a flat index do not
 * depend on the vectors' values). Counts what it embeds.
 */
import { createHash } from "node:crypto";
import { Embeddings } from "@langchain/core/embeddings";

export class HashEmbeddings extends Embeddings {
  embedded = 0;
  constructor(private readonly dim = 512) {
    super({});
  }
  async embedDocuments(texts: string[]): Promise<number[][]> {
    this.embedded += texts.length;
    return texts.map((t) => this.vector(t));
  }
  async embedQuery(text: string): Promise<number[]> {
    return this.vector(text);
  }
  private vector(text: string): number[] {
    let s = createHash("sha256").update(text).digest().readUInt32LE(0) || 1;
    const v = new Array<number>(this.dim);
    let norm = 0;
    for (let i = 0; i < this.dim; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      v[i] = (s >>> 0) / 4294967296 - 0.5;
      norm += v[i]! * v[i]!;
    }
    norm = Math.sqrt(norm);
    return v.map((x) => x / norm);
  }
}
