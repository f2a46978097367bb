/**
 * Episodic memory: each user's interactions with their true responses. The store holds the
 * durable copy, each entry with its vector (embedded once, at add); a FAISS index per user is
 * derived from it, persisted under `indexDir` as a cache, and rebuilt (incrementally where it
 * can) whenever it no longer matches the store's revision. Any process or replica rebuilds an
 * index from the stored vectors without calling the embedding model; entries stored without a
 * vector (older data, another model) are embedded through the per-user cache (embedding-cache.ts).
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { setImmediate, setTimeout as sleep } from "node:timers/promises";
import type { BaseStore, Item } from "@langchain/langgraph";
import type { Embeddings } from "@langchain/core/embeddings";
import type { HistoryEntry } from "./history.js";
import { listAll } from "../store/list.js";
import { EMBEDDING_CACHE_FILE, EmbeddingCache } from "./embedding-cache.js";
import { userFileKey, userNamespace } from "../users/users.js";
import { UserError } from "../errors/errors.js";
import { hasLeases, isTransactional } from "../store/transactional.js";
import { unwrapStore } from "../adapters/batched-store.js";
import { decodeVector, encodeVector, indexKindFor, MemoryIndex, nativeFaiss } from "./vector-index.js";
import { assertCurrent, assertCurrentSync, UserForgottenError, withUserLock } from "../store/lifecycle.js";

export interface EpisodicEntry {
  id: string;
  /** Order of arrival; breaks ties between equal timestamps. */
  seq: number;
  query: string;
  response: string;
  timestamp: string;
  metadata: Record<string, unknown>;
  /** Added without a timestamp: `timestamp` is when it was stored, not when it happened, and is never shown as its date. */
  undated?: true;
}

export interface RetrievedMemory extends EpisodicEntry {
  /** Cosine similarity to the query (vectors are unit length). */
  similarity: number;
}

export type Progress = (done: number, total: number) => void;

/** An entry's vector as stored with it, tagged with the model that made it. */
interface StoredVector {
  model: string;
  /** The unit-length vector, float32 little-endian, base64 (vector-index.ts). */
  data: string;
}

/** The store record of an entry: the entry plus its vector. */
interface StoredEntry extends EpisodicEntry {
  vector?: StoredVector;
}

/** Entries one add accepts (a server request, an ingest file); larger histories are added in parts. */
export const MAX_ENTRIES_PER_ADD = 100_000;
/** Characters (queries, responses and metadata) one add accepts: the size of the largest history file. */
export const MAX_CHARS_PER_ADD = 32 * 1024 * 1024;

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
  /** The index kind's descriptor ("Flat" when missing: indexes written before approximate ones). */
  descriptor?: string;
  /** SHA-256 of the entries file (MemoryIndex.save); missing in indexes written before, which are rebuilt. */
  entries?: string;
}

interface LoadedIndex {
  index: MemoryIndex<EpisodicEntry>;
  revision: string;
}

const META_KEY = "episodic";
const EMBED_BATCH = 32;
/** Entries written per transaction by an add (~3 MB with 512-d vectors: SQLite's write lock held 0.1–0.7 s). */
const WRITE_BATCH = 1000;
/**
 * Between the parts of a large add on SQLite, the write lock is left free for as long as the part
 * held it, and never less than the longest sleep of SQLite's busy wait (100 ms): two large adds
 * otherwise took the lock back to back, and another user's ask, waking to retry, rarely found it
 * free and failed after the busy timeout (bench:sqlite-contention measures the waits).
 */
const MIN_WRITE_PAUSE_MS = 100;
/** Query vectors kept per EpisodicMemory (all users), least recently used dropped first. */
const QUERY_VECTORS_KEPT = 2048;

/** Same interaction, same id: re-ingesting a history adds nothing. */
export function entryId(entry: HistoryEntry): string {
  return createHash("sha256")
    .update(JSON.stringify([entry.query, entry.response, entry.timestamp ?? null]))
    .digest("hex")
    .slice(0, 32);
}

/**
 * What is embedded for an entry: the situation and what the user did. An entry whose metadata has
 * a `content` text (LaMP interactions: the item and the user's answer without the task's fixed
 * instruction, apps/eval/data/lamp.ts) is embedded as that text alone, so the boilerplate every such
 * query repeats does not dominate its vector.
 */
export function entryText(entry: { query: string; response: string; metadata?: Record<string, unknown> }): string {
  const content = entry.metadata?.content;
  return typeof content === "string" && content.trim() !== "" ? content : `${entry.query}\n${entry.response}`;
}

/** The entry without what only the index needs (its vector). */
function publicEntry(stored: StoredEntry): EpisodicEntry {
  const { vector: _vector, ...entry } = stored;
  return entry;
}

/** Refuses an add larger than one request may be (the caller splits it), before any work. */
function checkAddSize(entries: HistoryEntry[]): void {
  if (entries.length > MAX_ENTRIES_PER_ADD) {
    throw new UserError(
      `too many entries in one request (${entries.length}, at most ${MAX_ENTRIES_PER_ADD}); add them in several parts`,
    );
  }
  let chars = 0;
  for (const e of entries)
    chars += e.query.length + e.response.length + (e.metadata ? JSON.stringify(e.metadata).length : 0);
  if (chars > MAX_CHARS_PER_ADD) {
    throw new UserError(
      `the entries are too large for one request (${chars} characters, at most ${MAX_CHARS_PER_ADD}); add them in several parts`,
    );
  }
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

export class EpisodicMemory {
  private readonly indexes = new Map<string, LoadedIndex>();
  private readonly building = new Map<string, Promise<LoadedIndex | undefined>>();
  /**
   * Vectors of recent queries, per user: alignment replays the same stored interactions in
   * every iteration and every run, and a replay's retrieval asks the same query each time, so
   * it reuses the vector instead of embedding it again (~10–50 ms of CPU per replay).
   */
  private readonly queryVectors = new Map<string, number[]>();
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
      /** Cache vectors the store lacks (another model's) in the user's index directory (on by default with an indexDir). */
      embeddingCache?: boolean;
      /** Entries from which a user's index is approximate (a sketch) instead of exact; vector-index.ts says why 20,000. */
      approximateFrom?: number;
    },
  ) {}

  private embedder(): Promise<Embeddings> {
    this.embeddingsReady ??=
      typeof this.embeddings === "function" ? this.embeddings() : Promise.resolve(this.embeddings);
    return this.embeddingsReady;
  }

  /**
   * Adds the entries the user does not have yet, each stored with its vector (embedded here,
   * before anything is written: a failed embedding call leaves the store as it was). The meta
   * record is the commit: an entry is visible only once the meta count covers its seq, so an
   * add killed halfway shows nothing (its entries are written in parts, and PostgresStore writes
   * a batch's puts one by one), and its orphans are overwritten by the next add. Adds of one
   * user run one at a time under the user's lock, so concurrent adds from several processes
   * never lose entries either.
   */
  async add(
    userId: string,
    entries: HistoryEntry[],
    onProgress?: Progress,
  ): Promise<{ added: number; skipped: number }> {
    checkAddSize(entries);
    const ns = userNamespace(userId, "episodic");
    const metaNs = userNamespace(userId, "meta");
    const unique = [...new Map(entries.map((e) => [entryId(e), e]))];
    const now = new Date().toISOString();
    const isCommitted = (item: Item | null | undefined, count: number) =>
      (item?.value.seq as number | undefined) !== undefined && (item!.value.seq as number) < count;

    // Embedded outside any lock or transaction (it is the slow part); entries another writer
    // commits meanwhile are skipped below, and their vectors unused.
    const [before, existing] = await Promise.all([
      this.meta(userId),
      this.store.batch(unique.map(([key]) => ({ namespace: ns, key }))),
    ]);
    const toEmbed = unique.filter((_, i) => !isCommitted(existing[i], before?.count ?? 0));
    const vectors = await this.embedTexts(
      userId,
      toEmbed.map(([, e]) => entryText(e)),
      onProgress,
    );
    const vectorOf = new Map(
      toEmbed.map(([id], i) => [
        id,
        { model: this.options.embeddingsId, data: encodeVector(vectors[i]!) } satisfies StoredVector,
      ]),
    );

    const plan = (meta: EpisodicMeta | undefined, current: (Item | null)[]) => {
      const count = meta?.count ?? 0;
      const fresh = unique.filter((_, i) => !isCommitted(current[i], count));
      const puts = fresh.map(([id, e], i) => {
        const value: StoredEntry = {
          id,
          seq: count + i,
          query: e.query,
          response: e.response,
          timestamp: e.timestamp ?? now,
          metadata: e.metadata ?? {},
          ...(e.timestamp === undefined ? { undated: true as const } : {}),
        };
        const vector = vectorOf.get(id);
        if (vector) value.vector = vector;
        return { namespace: ns, key: id, value: { ...value } };
      });
      return { puts, meta: { count: count + fresh.length, revision: randomUUID() } satisfies EpisodicMeta };
    };

    const store = unwrapStore(this.store);
    // Entries go in parts, each its own short transaction: SQLite has one writer at a time, and
    // one transaction of a 100,000-entry add kept other users' writes waiting past the busy
    // timeout. A forget between parts refuses the rest (SQLite checks the generation in each;
    // on PostgreSQL forget waits for the user's lock held here).
    type Put = { namespace: string[]; key: string; value: Record<string, unknown> };
    /** Writes one part; returns how long it held SQLite's write lock (0 on other stores). */
    const write = async (puts: Put[]) => {
      if (!isTransactional(store)) {
        await store.batch(puts);
        await setImmediate(); // other requests of a server get their turn between parts
        return 0;
      }
      const started = performance.now();
      store.transaction(() => {
        assertCurrentSync(store, userId);
        for (const put of puts) store.putSync(put.namespace, put.key, put.value);
      });
      return performance.now() - started;
    };
    let added: number;
    try {
      // Under a lock of the user's adds across processes (SQLite: a lease; PostgreSQL: the
      // user's advisory lock): two processes adding for the same user would otherwise both take
      // the same seqs and one's entries would be lost.
      const lockAdds = <T>(fn: () => Promise<T>) =>
        hasLeases(store) ? store.withLease(`adds:${userFileKey(userId)}`, fn) : withUserLock(store, userId, fn);
      added = await lockAdds(async () => {
        await assertCurrent(store, userId);
        const meta = await this.meta(userId);
        const { puts, meta: next } = plan(meta, await store.batch(unique.map(([key]) => ({ namespace: ns, key }))));
        const parts: Put[][] = [];
        for (let start = 0; start < puts.length; start += WRITE_BATCH)
          parts.push(puts.slice(start, start + WRITE_BATCH));
        if (puts.length > 0) parts.push([{ namespace: metaNs, key: META_KEY, value: { ...next } }]); // strictly after every entry is written
        let held = 0; // the previous part's time on SQLite's lock: 0 before the first part and on other stores
        for (const part of parts) {
          if (held > 0 && parts.length > 2) await sleep(Math.max(held, MIN_WRITE_PAUSE_MS));
          held = await write(part);
        }
        return puts.length;
      });
    } catch (error) {
      // Forgotten while this add embedded: the embedding cache it filled since goes too.
      if (error instanceof UserForgottenError) await this.dropDerived(userId);
      throw error;
    }
    await this.ensureIndex(userId, onProgress);
    return { added, skipped: entries.length - added };
  }

  /**
   * Unit vectors of `texts`, in batches (so progress shows and other users' requests
   * interleave), through the user's embedding cache when there is an index directory: a fresh
   * store given the same texts again (the eval harness makes one per run) embeds nothing.
   */
  private async embedTexts(userId: string, texts: string[], onProgress?: Progress): Promise<number[][]> {
    if (texts.length === 0) return [];
    const embeddings = await this.embedder();
    const cache =
      this.options.indexDir && this.options.embeddingCache !== false
        ? await EmbeddingCache.open(this.indexPath(userId), this.options.embeddingsId)
        : undefined;
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += EMBED_BATCH) {
      const batch = texts.slice(start, start + EMBED_BATCH);
      const fresh = cache ? (await cache.embed(batch, embeddings)).vectors : await embeddings.embedDocuments(batch);
      vectors.push(...fresh.map(unitVector));
      onProgress?.(Math.min(start + EMBED_BATCH, texts.length), texts.length);
    }
    return vectors;
  }

  async count(userId: string): Promise<number> {
    return storedMemoryCount(this.store, userId);
  }

  /** Every entry of the user, oldest first. */
  async list(userId: string): Promise<EpisodicEntry[]> {
    return (await this.stored(userId)).map(publicEntry);
  }

  /** The committed store records of the user's entries (with their vectors), oldest first. */
  private async stored(userId: string): Promise<StoredEntry[]> {
    const [count, items] = await Promise.all([
      this.count(userId),
      listAll(this.store, userNamespace(userId, "episodic")),
    ]);
    return items
      .map((item) => item.value as unknown as StoredEntry)
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
  async retrieve(
    userId: string,
    query: string,
    k: number,
    options: { excludeIds?: readonly string[] } = {},
  ): Promise<RetrievedMemory[]> {
    const index = await this.ensureIndex(userId);
    if (!index) return [];
    const exclude = new Set(options.excludeIds ?? []);
    const vector = await this.queryVector(userId, query);
    // Each excluded id occupies at most one hit, so k + |exclude| hits still leave k after filtering.
    return (
      index.index
        .search(vector, k + exclude.size)
        .filter(({ entry }) => !exclude.has(entry.id))
        .slice(0, k)
        // FAISS returns squared L2 distance; both sides are unit vectors, so cosine = 1 - d/2.
        .map(({ entry, distance }) => ({ ...entry, similarity: 1 - distance / 2 }))
    );
  }

  private async queryVector(userId: string, query: string): Promise<number[]> {
    const key = `${userId}\u0000${query}`;
    let vector = this.queryVectors.get(key);
    if (vector)
      this.queryVectors.delete(key); // re-inserted below as the most recent
    else vector = unitVector(await (await this.embedder()).embedQuery(query));
    this.queryVectors.set(key, vector);
    if (this.queryVectors.size > QUERY_VECTORS_KEPT) this.queryVectors.delete(this.queryVectors.keys().next().value!);
    return vector;
  }

  /** Drops what this process holds of the user's memories: index and query vectors in memory, index files. */
  private async dropDerived(userId: string): Promise<void> {
    this.indexes.delete(userId);
    for (const key of this.queryVectors.keys()) if (key.startsWith(`${userId}\u0000`)) this.queryVectors.delete(key);
    // Retried: another process saving the index into it meanwhile makes rm fail with ENOTEMPTY.
    if (this.options.indexDir) await rm(this.indexPath(userId), { recursive: true, force: true, maxRetries: 5 });
  }

  private holdsDerived(userId: string): boolean {
    if (this.indexes.has(userId) || (this.options.indexDir && existsSync(this.indexPath(userId)))) return true;
    for (const key of this.queryVectors.keys()) if (key.startsWith(`${userId}\u0000`)) return true;
    return false;
  }

  /** Drops the user's derived index and embedding cache from memory and disk (the store copy is the caller's). */
  async dropIndex(userId: string): Promise<void> {
    await this.building.get(userId)?.catch(() => undefined);
    await this.dropDerived(userId);
  }

  private async meta(userId: string): Promise<EpisodicMeta | undefined> {
    return readMeta(this.store, userId);
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

  /**
   * Checks the store's revision before using a cached index, in memory or on disk: an index
   * built before a forget (this process's or another replica's) is dropped once the user's meta
   * record is gone, so no process keeps serving or holding a forgotten user's memories.
   */
  private async syncIndex(userId: string, onProgress?: Progress): Promise<LoadedIndex | undefined> {
    const none = async () => {
      // Not dropIndex: it waits for the build in progress, which is this one.
      if (this.holdsDerived(userId)) await this.dropDerived(userId);
      return undefined;
    };
    const meta = await this.meta(userId);
    if (!meta || meta.count === 0) return none();
    nativeFaiss(); // loaded before any search: it keeps FAISS's one-query searches on one thread (vector-index.ts)
    let index = this.indexes.get(userId) ?? (await this.loadPersisted(userId));
    if (index?.revision !== meta.revision) {
      const rebuilt = await this.rebuild(userId, meta.revision, index, onProgress);
      if (!rebuilt) return none(); // forgotten since the meta record was read
      index = rebuilt;
      await this.persist(userId, index);
    }
    this.remember(userId, index);
    return index;
  }

  /**
   * Brings the index up to the store: adds what it lacks, or builds it anew when it holds
   * entries the store no longer has, when most entries are new, or when its kind (exact or
   * approximate, list count) no longer fits its size. Vectors come from the store; only entries
   * stored without one (or with another model's) are embedded. None when the store has no
   * entries left (a forget since the caller read the meta record).
   */
  private async rebuild(
    userId: string,
    revision: string,
    previous: LoadedIndex | undefined,
    onProgress?: Progress,
  ): Promise<LoadedIndex | undefined> {
    const entries = await this.stored(userId);
    if (entries.length === 0) return undefined;
    const wanted = new Set(entries.map((e) => e.id));
    const indexed = new Set(previous?.index.ids());
    const kind = indexKindFor(entries.length, this.options.approximateFrom);
    const missing = entries.filter((e) => !indexed.has(e.id));
    const incremental =
      previous !== undefined &&
      previous.index.kind.descriptor === kind.descriptor &&
      missing.length <= indexed.size &&
      [...indexed].every((id) => wanted.has(id));
    const todo = incremental ? missing : entries;
    const vectors = await this.vectorsOf(userId, todo, onProgress);
    if (incremental) {
      previous.index.add(todo.map(publicEntry), vectors);
      return { index: previous.index, revision };
    }
    return { index: await MemoryIndex.build(todo.map(publicEntry), vectors, kind), revision };
  }

  /** The entries' vectors: stored ones decoded, the others (another model's) embedded. */
  private async vectorsOf(userId: string, entries: StoredEntry[], onProgress?: Progress): Promise<ArrayLike<number>[]> {
    const model = this.options.embeddingsId;
    const vectors: ArrayLike<number>[] = entries.map((e) =>
      e.vector?.model === model ? decodeVector(e.vector.data) : [],
    );
    const unembedded = entries.flatMap((e, i) => (vectors[i]!.length === 0 ? [i] : []));
    const fresh = await this.embedTexts(
      userId,
      unembedded.map((i) => entryText(entries[i]!)),
      onProgress,
    );
    unembedded.forEach((i, j) => (vectors[i] = fresh[j]!));
    return vectors;
  }

  private async loadPersisted(userId: string): Promise<LoadedIndex | undefined> {
    if (!this.options.indexDir) return undefined;
    const dir = this.indexPath(userId);
    try {
      const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as IndexManifest;
      if (manifest.embeddings !== this.options.embeddingsId || !manifest.unit || typeof manifest.entries !== "string")
        return undefined;
      const kind = { descriptor: manifest.descriptor ?? "Flat", kFactor: 0 }; // k_factor is saved in the index file
      return { index: await MemoryIndex.load<EpisodicEntry>(dir, kind, manifest.entries), revision: manifest.revision };
    } catch {
      return undefined; // missing, unreadable or of an older format: derived data, rebuilt from the store
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
      const entries = await index.index.save(tmp);
      const manifest: IndexManifest = {
        revision: index.revision,
        embeddings: this.options.embeddingsId,
        unit: true,
        descriptor: index.index.kind.descriptor,
        entries,
      };
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
    for (const loaded of this.indexes.values()) vectors += loaded.index.size;
    for (const [oldest, loaded] of this.indexes) {
      if (oldest === userId || (this.indexes.size <= max && vectors <= maxVectors)) break;
      vectors -= loaded.index.size;
      this.indexes.delete(oldest);
    }
  }

  /** Users whose index is loaded in memory, least recently used first (for tests and benchmarks). */
  cachedIndexes(): string[] {
    return [...this.indexes.keys()];
  }
}

async function readMeta(store: BaseStore, userId: string): Promise<EpisodicMeta | undefined> {
  return (await store.get(userNamespace(userId, "meta"), META_KEY))?.value as EpisodicMeta | undefined;
}

/** How many memories the user has, from the store alone (no embedding model, no index). */
export async function storedMemoryCount(store: BaseStore, userId: string): Promise<number> {
  return (await readMeta(store, userId))?.count ?? 0;
}
