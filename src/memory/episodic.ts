/**
 * Episodic memory: each user's interactions with their true responses. The store holds the
 * durable copy; a FAISS index per user is derived from it, persisted under `indexDir`, and
 * rebuilt (incrementally where it can) whenever it no longer matches the store. Entry vectors
 * are cached beside the index (embedding-cache.ts), so a rebuild embeds only texts never seen.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { BaseStore, Item } from "@langchain/langgraph";
import type { Embeddings } from "@langchain/core/embeddings";
import { Document } from "@langchain/core/documents";
import { FaissStore } from "@langchain/community/vectorstores/faiss";
import type { HistoryEntry } from "./history.js";
import { listAll } from "../store/list.js";
import { EMBEDDING_CACHE_FILE, EmbeddingCache } from "./embedding-cache.js";
import { userFileKey, userNamespace } from "../users.js";
import { isTransactional, unwrapStore } from "../store/transactional.js";
import { assertCurrent, assertCurrentSync, withUserLock } from "../store/lifecycle.js";

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
  /** Vectors stored at unit length (indexes written before were not, and are rebuilt). */
  unit?: boolean;
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

/** Temp dirs of index writers that died (killed mid-save); live writers' temps are kept. */
async function removeAbandonedTemps(dir: string): Promise<void> {
  const prefix = `${basename(dir)}.tmp-`;
  const siblings = await readdir(dirname(dir)).catch(() => [] as string[]);
  for (const name of siblings.filter((n) => n.startsWith(prefix))) {
    const pid = Number(name.slice(prefix.length).split("-")[0]);
    if (!isAlive(pid)) await rm(join(dirname(dir), name), { recursive: true, force: true });
  }
}

/**
 * `vector` scaled to length 1, so squared L2 distance d gives cosine similarity 1 - d/2 for any
 * embedding model (OpenAI and Bedrock vectors are not all unit length). A zero vector stays zero.
 */
export function unitVector(vector: number[]): number[] {
  const norm = Math.hypot(...vector);
  return norm > 0 ? vector.map((x) => x / norm) : vector;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * What FaissStore.addVectors does, in one FAISS call per batch and O(1) per document: its
 * docstore copies every known id to check each new one, which makes building an n-entry index
 * O(n²) (≈ 100 s for 100k entries; see bench/RESULTS.md).
 */
export async function addToFaissStore(store: FaissStore, vectors: number[][], docs: Document[], ids: string[]): Promise<void> {
  if (vectors.length === 0) return;
  if (vectors.length !== docs.length || ids.length !== docs.length) throw new Error("vectors, documents and ids must have the same length");
  const dim = vectors[0]!.length;
  let index = store._index;
  if (!index) {
    const { IndexFlatL2 } = await FaissStore.importFaiss();
    store._index = index = new IndexFlatL2(dim);
  }
  if (index.getDimension() !== dim) throw new Error(`vectors have ${dim} dimensions, the index ${index.getDimension()}`);
  const known = store.docstore._docs;
  if (ids.some((id) => known.has(id)) || new Set(ids).size !== ids.length) throw new Error("an id is already in the index");
  const base = index.ntotal();
  index.add(vectors.flat());
  ids.forEach((id, i) => {
    store._mapping[base + i] = id;
    known.set(id, docs[i]!);
  });
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
      /**
       * Vectors (summed over users) the indexes kept in memory may hold; least recently used
       * indexes are evicted past it (the one just used always stays). Unbounded if unset.
       */
      maxCachedVectors?: number;
      /** Cache entry vectors in the user's index directory (on by default with an indexDir). */
      embeddingCache?: boolean;
    },
  ) {}

  private embedder(): Promise<Embeddings> {
    this.embeddingsReady ??= typeof this.embeddings === "function" ? this.embeddings() : Promise.resolve(this.embeddings);
    return this.embeddingsReady;
  }

  /**
   * Adds the entries the user does not have yet. The meta record is the commit: an entry is
   * visible only once the meta count covers its seq, so an add killed halfway shows nothing on
   * stores whose batches are not atomic (PostgresStore writes a batch's puts one by one), and
   * its orphans are overwritten by the next add. On SqliteStore the whole add is one
   * transaction, so concurrent adds from several processes never lose entries either.
   */
  async add(userId: string, entries: HistoryEntry[], onProgress?: Progress): Promise<{ added: number; skipped: number }> {
    const ns = userNamespace(userId, "episodic");
    const metaNs = userNamespace(userId, "meta");
    const unique = [...new Map(entries.map((e) => [entryId(e), e]))];
    const now = new Date().toISOString();
    const plan = (meta: EpisodicMeta | undefined, existing: (Item | null)[]) => {
      const count = meta?.count ?? 0;
      const fresh = unique.filter((_, i) => !((existing[i]?.value.seq as number | undefined) !== undefined && (existing[i]!.value.seq as number) < count));
      const puts = fresh.map(([id, e], i) => {
        const value: EpisodicEntry = { id, seq: count + i, query: e.query, response: e.response, timestamp: e.timestamp ?? now, metadata: e.metadata ?? {} };
        return { namespace: ns, key: id, value: { ...value } };
      });
      return { puts, meta: { count: count + fresh.length, revision: randomUUID() } satisfies EpisodicMeta };
    };

    const store = unwrapStore(this.store);
    let added: number;
    if (isTransactional(store)) {
      added = store.transaction(() => {
        assertCurrentSync(store, userId); // a run older than a forget of this user writes nothing
        const meta = store.getSync(metaNs, META_KEY)?.value as EpisodicMeta | undefined;
        const { puts, meta: next } = plan(meta, unique.map(([id]) => store.getSync(ns, id)));
        for (const put of puts) store.putSync(put.namespace, put.key, put.value);
        if (puts.length > 0) store.putSync(metaNs, META_KEY, { ...next });
        return puts.length;
      });
    } else {
      // Under the store's cross-process lock where it has one (PostgreSQL): two processes adding
      // for the same user would otherwise both take the same seqs and one's entries would be lost.
      added = await withUserLock(store, userId, async () => {
        await assertCurrent(store, userId);
        const meta = await this.meta(userId);
        const { puts, meta: next } = plan(meta, await store.batch(unique.map(([key]) => ({ namespace: ns, key }))));
        if (puts.length > 0) {
          await store.batch(puts);
          await store.put(metaNs, META_KEY, { ...next }); // strictly after every entry is written
        }
        return puts.length;
      });
    }
    await this.ensureIndex(userId, onProgress);
    return { added, skipped: entries.length - added };
  }

  async count(userId: string): Promise<number> {
    return (await this.meta(userId))?.count ?? 0;
  }

  /** Every entry of the user, oldest first. */
  async list(userId: string): Promise<EpisodicEntry[]> {
    const [count, items] = await Promise.all([this.count(userId), listAll(this.store, userNamespace(userId, "episodic"))]);
    return items
      .map((item) => item.value as unknown as EpisodicEntry)
      .filter((e) => e.seq < count) // uncommitted orphans of an interrupted add stay invisible
      .sort(byTime);
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
    const vector = unitVector(await (await this.embedder()).embedQuery(query));
    // Each excluded id occupies at most one hit, so k + |exclude| hits still leave k after filtering.
    const hits = await index.faiss.similaritySearchVectorWithScore(vector, Math.min(k + exclude.size, index.faiss.index.ntotal()));
    // FAISS returns squared L2 distance; both sides are unit vectors, so cosine = 1 - d/2.
    return hits
      .map(([doc, distance]) => ({ ...(doc.metadata as EpisodicEntry), similarity: 1 - distance / 2 }))
      .filter((m) => !exclude.has(m.id))
      .slice(0, k);
  }

  /** Drops the user's derived index and embedding cache from memory and disk (the store copy is the caller's). */
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
    const cache =
      missing.length > 0 && this.options.indexDir && this.options.embeddingCache !== false
        ? await EmbeddingCache.open(this.indexPath(userId), this.options.embeddingsId)
        : undefined;
    for (let start = 0; start < missing.length; start += EMBED_BATCH) {
      const batch = missing.slice(start, start + EMBED_BATCH);
      const texts = batch.map(entryText);
      const vectors = cache ? (await cache.embed(texts, embeddings)).vectors : await embeddings.embedDocuments(texts);
      const docs = batch.map((e) => new Document({ pageContent: entryText(e), metadata: { ...e } }));
      await addToFaissStore(faiss, vectors.map(unitVector), docs, batch.map((e) => e.id));
      onProgress?.(start + batch.length, missing.length);
    }
    return { faiss, revision };
  }

  private async loadPersisted(userId: string): Promise<LoadedIndex | undefined> {
    if (!this.options.indexDir) return undefined;
    const dir = this.indexPath(userId);
    try {
      const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as IndexManifest;
      if (manifest.embeddings !== this.options.embeddingsId || !manifest.unit) return undefined;
      return { faiss: await FaissStore.load(dir, await this.embedder()), revision: manifest.revision };
    } catch {
      return undefined; // missing or unreadable: derived data, rebuilt from the store
    }
  }

  /**
   * Written beside, then renamed into place: readers never see a half-written index. The index
   * is derived data, so a failed write (another process replacing the same directory at that
   * moment, a full disk) never fails the caller: the index stays in memory and the next run
   * rebuilds or reloads it.
   */
  private async persist(userId: string, index: LoadedIndex): Promise<void> {
    if (!this.options.indexDir) return;
    const dir = this.indexPath(userId);
    const tmp = `${dir}.tmp-${process.pid}-${randomUUID()}`;
    try {
      await removeAbandonedTemps(dir);
      await mkdir(tmp, { recursive: true });
      await index.faiss.save(tmp);
      const manifest: IndexManifest = { revision: index.revision, embeddings: this.options.embeddingsId, unit: true };
      await writeFile(join(tmp, "manifest.json"), JSON.stringify(manifest));
      // The embedding cache outlives the index it fed: carry it into the new directory.
      for (const name of (await readdir(dir).catch(() => [] as string[])).filter((n) => EMBEDDING_CACHE_FILE.test(n))) {
        await rename(join(dir, name), join(tmp, name)).catch(() => undefined);
      }
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
      // Forgotten while this index was built (its entries read before): take the files back off disk.
      if (!(await this.meta(userId))) await rm(dir, { recursive: true, force: true });
    } catch {
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  private remember(userId: string, index: LoadedIndex): void {
    this.indexes.delete(userId);
    this.indexes.set(userId, index);
    const max = this.options.maxCachedIndexes ?? 64;
    const maxVectors = this.options.maxCachedVectors ?? Infinity;
    let vectors = 0;
    for (const loaded of this.indexes.values()) vectors += loaded.faiss.index.ntotal();
    for (const [oldest, loaded] of this.indexes) {
      if (oldest === userId || (this.indexes.size <= max && vectors <= maxVectors)) break;
      vectors -= loaded.faiss.index.ntotal();
      this.indexes.delete(oldest);
    }
  }

  /** Users whose index is loaded in memory, least recently used first (for tests and benchmarks). */
  cachedIndexes(): string[] {
    return [...this.indexes.keys()];
  }
}
