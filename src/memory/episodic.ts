/**
 * Episodic memory: each user's interactions with their true responses. The store holds the
 * durable copy; a FAISS index per user is derived from it, persisted under `indexDir`, and
 * rebuilt (incrementally where it can) whenever it no longer matches the store.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BaseStore } from "@langchain/langgraph";
import type { Embeddings } from "@langchain/core/embeddings";
import { Document } from "@langchain/core/documents";
import { FaissStore } from "@langchain/community/vectorstores/faiss";
import type { HistoryEntry } from "./history.js";
import { listAll } from "../store/list.js";
import { userFileKey, userNamespace } from "../users.js";

export interface EpisodicEntry {
  id: string;
  /** Order of arrival; breaks ties between equal timestamps. */
  seq: number;
  query: string;
  response: string;
  timestamp: string;
  metadata: Record<string, unknown>;
}

export interface RetrievedMemory extends EpisodicEntry {
  /** Cosine similarity to the query (vectors are unit length). */
  similarity: number;
}

export type Progress = (done: number, total: number) => void;

interface EpisodicMeta {
  count: number;
  /** Changes on every write, so a cached or persisted index knows it is stale. */
  revision: string;
}

interface IndexManifest {
  revision: string;
  embeddings: string;
}

interface LoadedIndex {
  faiss: FaissStore;
  revision: string;
}

const META_KEY = "episodic";
const EMBED_BATCH = 32;

/** Same interaction, same id: re-ingesting a history adds nothing. */
export function entryId(entry: HistoryEntry): string {
  return createHash("sha256")
    .update(JSON.stringify([entry.query, entry.response, entry.timestamp ?? null]))
    .digest("hex")
    .slice(0, 32);
}

/** What is embedded for an entry: the situation and what the user did. */
function entryText(entry: Pick<EpisodicEntry, "query" | "response">): string {
  return `${entry.query}\n${entry.response}`;
}

export function byTime(a: EpisodicEntry, b: EpisodicEntry): number {
  return a.timestamp.localeCompare(b.timestamp) || a.seq - b.seq;
}

export class EpisodicMemory {
  private readonly indexes = new Map<string, LoadedIndex>();
  private readonly building = new Map<string, Promise<LoadedIndex | undefined>>();
  private embeddingsReady?: Promise<Embeddings>;

  constructor(
    private readonly store: BaseStore,
    /** The model, or a factory called on first use (so commands that never embed never load one). */
    private readonly embeddings: Embeddings | (() => Promise<Embeddings>),
    private readonly options: {
      /** Names the embedding model, so an index built with another one is rebuilt. */
      embeddingsId: string;
      indexDir?: string;
      /** Users whose index stays in memory; the least recently used is evicted first. */
      maxCachedIndexes?: number;
    },
  ) {}

  private embedder(): Promise<Embeddings> {
    this.embeddingsReady ??= typeof this.embeddings === "function" ? this.embeddings() : Promise.resolve(this.embeddings);
    return this.embeddingsReady;
  }

  async add(userId: string, entries: HistoryEntry[], onProgress?: Progress): Promise<{ added: number; skipped: number }> {
    const ns = userNamespace(userId, "episodic");
    const unique = new Map(entries.map((e) => [entryId(e), e]));
    const existing = await this.store.batch([...unique.keys()].map((key) => ({ namespace: ns, key })));
    const fresh = [...unique].filter((_, i) => existing[i] === null);
    if (fresh.length > 0) {
      const meta = await this.meta(userId);
      const now = new Date().toISOString();
      const puts = fresh.map(([id, e], i) => {
        const value: EpisodicEntry = {
          id,
          seq: (meta?.count ?? 0) + i,
          query: e.query,
          response: e.response,
          timestamp: e.timestamp ?? now,
          metadata: e.metadata ?? {},
        };
        return { namespace: ns, key: id, value: { ...value } };
      });
      const nextMeta: EpisodicMeta = { count: (meta?.count ?? 0) + fresh.length, revision: randomUUID() };
      // One batch: the entries and the new revision become visible together.
      await this.store.batch([...puts, { namespace: userNamespace(userId, "meta"), key: META_KEY, value: { ...nextMeta } }]);
    }
    await this.ensureIndex(userId, onProgress);
    return { added: fresh.length, skipped: entries.length - fresh.length };
  }

  async count(userId: string): Promise<number> {
    return (await this.meta(userId))?.count ?? 0;
  }

  /** Every entry of the user, oldest first. */
  async list(userId: string): Promise<EpisodicEntry[]> {
    const items = await listAll(this.store, userNamespace(userId, "episodic"));
    return items.map((item) => item.value as unknown as EpisodicEntry).sort(byTime);
  }

  /** The user's `n` most recent entries, oldest first. */
  async latest(userId: string, n: number): Promise<EpisodicEntry[]> {
    return (await this.list(userId)).slice(-n);
  }

  /**
   * Top-`k` entries of this user most similar to `query`. `excludeIds` are never returned
   * (alignment re-runs the agent on stored interactions and must not retrieve the answer).
   */
  async retrieve(userId: string, query: string, k: number, options: { excludeIds?: readonly string[] } = {}): Promise<RetrievedMemory[]> {
    const index = await this.ensureIndex(userId);
    if (!index) return [];
    const exclude = new Set(options.excludeIds ?? []);
    const vector = await (await this.embedder()).embedQuery(query);
    // Each excluded id occupies at most one hit, so k + |exclude| hits still leave k after filtering.
    const hits = await index.faiss.similaritySearchVectorWithScore(vector, Math.min(k + exclude.size, index.faiss.index.ntotal()));
    // FAISS returns squared L2 distance; for unit vectors cosine = 1 - d/2.
    return hits
      .map(([doc, distance]) => ({ ...(doc.metadata as EpisodicEntry), similarity: 1 - distance / 2 }))
      .filter((m) => !exclude.has(m.id))
      .slice(0, k);
  }

  /** Drops the user's derived index from memory and disk (the store copy is the caller's). */
  async dropIndex(userId: string): Promise<void> {
    await this.building.get(userId)?.catch(() => undefined);
    this.indexes.delete(userId);
    if (this.options.indexDir) await rm(this.indexPath(userId), { recursive: true, force: true });
  }

  private async meta(userId: string): Promise<EpisodicMeta | undefined> {
    const item = await this.store.get(userNamespace(userId, "meta"), META_KEY);
    return item?.value as EpisodicMeta | undefined;
  }

  private indexPath(userId: string): string {
    return join(this.options.indexDir!, userFileKey(userId));
  }

  /** The user's index, matching the store's current revision; one build per user at a time. */
  private async ensureIndex(userId: string, onProgress?: Progress): Promise<LoadedIndex | undefined> {
    const pending = this.building.get(userId);
    if (pending) return pending;
    const build = this.syncIndex(userId, onProgress).finally(() => this.building.delete(userId));
    this.building.set(userId, build);
    return build;
  }

  private async syncIndex(userId: string, onProgress?: Progress): Promise<LoadedIndex | undefined> {
    const meta = await this.meta(userId);
    if (!meta || meta.count === 0) return undefined;
    let index = this.indexes.get(userId) ?? (await this.loadPersisted(userId));
    if (index?.revision !== meta.revision) {
      index = await this.rebuild(userId, meta.revision, index?.faiss, onProgress);
      await this.persist(userId, index);
    }
    this.remember(userId, index);
    return index;
  }

  /** Adds what the index lacks; starts over if it holds entries the store no longer has. */
  private async rebuild(userId: string, revision: string, previous: FaissStore | undefined, onProgress?: Progress): Promise<LoadedIndex> {
    const entries = await this.list(userId);
    const wanted = new Set(entries.map((e) => e.id));
    const indexed = new Set(previous ? Object.values(previous.getMapping()) : []);
    const reusable = previous !== undefined && [...indexed].every((id) => wanted.has(id));
    const embeddings = await this.embedder();
    const faiss = reusable ? previous : new FaissStore(embeddings, {});
    const missing = entries.filter((e) => !(reusable && indexed.has(e.id)));
    for (let start = 0; start < missing.length; start += EMBED_BATCH) {
      const batch = missing.slice(start, start + EMBED_BATCH);
      const vectors = await embeddings.embedDocuments(batch.map(entryText));
      const docs = batch.map((e) => new Document({ pageContent: entryText(e), metadata: { ...e } }));
      await faiss.addVectors(vectors, docs, { ids: batch.map((e) => e.id) });
      onProgress?.(start + batch.length, missing.length);
    }
    return { faiss, revision };
  }

  private async loadPersisted(userId: string): Promise<LoadedIndex | undefined> {
    if (!this.options.indexDir) return undefined;
    const dir = this.indexPath(userId);
    try {
      const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as IndexManifest;
      if (manifest.embeddings !== this.options.embeddingsId) return undefined;
      return { faiss: await FaissStore.load(dir, await this.embedder()), revision: manifest.revision };
    } catch {
      return undefined; // missing or unreadable: derived data, rebuilt from the store
    }
  }

  /** Written beside, then renamed into place: readers never see a half-written index. */
  private async persist(userId: string, index: LoadedIndex): Promise<void> {
    if (!this.options.indexDir) return;
    const dir = this.indexPath(userId);
    const tmp = `${dir}.tmp-${process.pid}-${randomUUID()}`;
    await mkdir(tmp, { recursive: true });
    await index.faiss.save(tmp);
    const manifest: IndexManifest = { revision: index.revision, embeddings: this.options.embeddingsId };
    await writeFile(join(tmp, "manifest.json"), JSON.stringify(manifest));
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  }

  private remember(userId: string, index: LoadedIndex): void {
    this.indexes.delete(userId);
    this.indexes.set(userId, index);
    const max = this.options.maxCachedIndexes ?? 64;
    for (const oldest of this.indexes.keys()) {
      if (this.indexes.size <= max) break;
      this.indexes.delete(oldest);
    }
  }
}
