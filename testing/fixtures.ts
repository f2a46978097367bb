/** Small user histories and helpers shared by memory, graph and CLI tests. */
import { Embeddings } from "@langchain/core/embeddings";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UniversalSentenceEncoderEmbeddings } from "../src/models/embeddings.js";
import type { HistoryEntry } from "../src/memory/history.js";

export const ALICE_HISTORY: HistoryEntry[] = [
  {
    query: "Tag this movie: astronauts travel through a wormhole to find a new home for humanity",
    response: "sci-fi",
    timestamp: "2024-01-01T10:00:00Z",
  },
  {
    query: "Tag this movie: a robot falls in love with another robot on an abandoned Earth",
    response: "sci-fi",
    timestamp: "2024-01-02T10:00:00Z",
  },
  {
    query: "Tag this movie: a hacker learns that reality is a simulation run by machines",
    response: "dystopia",
    timestamp: "2024-01-03T10:00:00Z",
  },
  {
    query: "Tag this movie: a detective hunts replicants in a rainy future city",
    response: "sci-fi",
    timestamp: "2024-01-04T10:00:00Z",
  },
];

export const BOB_HISTORY: HistoryEntry[] = [
  {
    query: "Tag this movie: two strangers fall in love on a train across Europe",
    response: "romance",
    timestamp: "2024-02-01T10:00:00Z",
  },
  {
    query: "Tag this movie: a baker and a florist bicker before falling for each other",
    response: "romance",
    timestamp: "2024-02-02T10:00:00Z",
  },
  {
    query: "Tag this movie: a secret letter reunites childhood sweethearts",
    response: "romance",
    timestamp: "2024-02-03T10:00:00Z",
  },
];

export function tempDir(prefix = "persona-agent-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The real offline embedding model, counting how many texts it embedded. */
export class CountingEmbeddings extends UniversalSentenceEncoderEmbeddings {
  embedded = 0;
  override async embedDocuments(texts: string[]): Promise<number[][]> {
    this.embedded += texts.length;
    return super.embedDocuments(texts);
  }
}

/** Deterministic 8-d unit vectors from the text's characters; counts what it embeds. */
export class TinyEmbeddings extends Embeddings {
  embedded: string[] = [];
  constructor() {
    super({});
  }
  async embedDocuments(texts: string[]): Promise<number[][]> {
    this.embedded.push(...texts);
    return texts.map((t) => this.vector(t));
  }
  async embedQuery(text: string): Promise<number[]> {
    return this.vector(text);
  }
  private vector(text: string): number[] {
    const v = Array.from(
      { length: 8 },
      (_, i) => 1 + [...text].reduce((s, c, j) => s + ((c.charCodeAt(0) * (i + 1) * (j + 1)) % 97), 0),
    );
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  }
}

/** A loopback URL nobody listens on (a port just freed), for "provider unreachable" cases. */
export async function unreachableUrl(path = "/v1"): Promise<string> {
  const { createServer } = await import("node:net");
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}${path}`;
}
