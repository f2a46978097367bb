/**
 * Fetches LaMP's official files into a local cache. URL layout of the official host
 * (https://ciir.cs.umass.edu/downloads/LaMP), as used by LaMP's own loaders and scripts:
 *   user-based split: <base>/LaMP_<N>/<split>/<split>_{questions,outputs}.json
 *   time-based split: <base>/time/LaMP_<N>/<split>/<split>_{questions,outputs}.json
 * LaMP-2 is two tasks: news categorization is `LaMP_2/`, movie tagging is `LaMP_2/new/`.
 * The host answers some wrong paths with HTTP 200 and an HTML page, so the body is checked
 * to start like JSON, and its length is checked against Content-Length.
 */
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ServiceUnavailableError, UserError } from "../../src/errors/errors.js";
import type { LampTask } from "./data/lamp.js";
import { lampBaseUrl, type LampSplit } from "./data/lamp-names.js";

export { LAMP_BASE_URL, LAMP_SPLITS, lampBaseUrl, type LampSplit } from "./data/lamp-names.js";
const PARTS = ["train", "dev"] as const;
const KINDS = ["questions", "outputs"] as const;

const TASK_PATH: Record<LampTask, string> = {
  "lamp-1": "LaMP_1",
  "lamp-2m": "LaMP_2/new",
  "lamp-2n": "LaMP_2",
  "lamp-3": "LaMP_3",
};

export interface LampFile {
  url: string;
  /** Path inside the cache folder, e.g. `lamp-2m/user/dev_questions.json`. */
  path: string;
}

export function lampFiles(task: LampTask, split: LampSplit, base = lampBaseUrl()): LampFile[] {
  const root = `${base}${split === "time" ? "/time" : ""}/${TASK_PATH[task]}`;
  return PARTS.flatMap((part) =>
    KINDS.map((kind) => ({
      url: `${root}/${part}/${part}_${kind}.json`,
      path: join(task, split, `${part}_${kind}.json`),
    })),
  );
}

export type DownloadProgress = (event: { file: LampFile; received: number; total?: number }) => void;

const exists = (path: string) =>
  stat(path).then(
    (s) => s.size > 0,
    () => false,
  );

function networkReason(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}

/** Downloads one file to `dest` through `dest.part`; nothing is left behind on failure. */
async function downloadFile(file: LampFile, dest: string, onProgress?: DownloadProgress): Promise<void> {
  const tmp = `${dest}.part`;
  let received = 0;
  let total: number | undefined;
  try {
    let res: Response;
    try {
      res = await fetch(file.url);
    } catch (error) {
      throw new ServiceUnavailableError(
        `cannot download ${file.url}: ${networkReason(error)} (offline? set PERSONA_AGENT_LAMP_URL to a mirror)`,
      );
    }
    if (!res.ok || !res.body) throw new ServiceUnavailableError(`cannot download ${file.url}: HTTP ${res.status}`);
    const length = res.headers.get("content-length");
    total = length ? Number(length) : undefined;
    let first = true;
    const check = new Transform({
      transform(chunk: Buffer, _enc, done) {
        if (first && chunk.length > 0) {
          first = false;
          const start = chunk.toString("utf8", 0, 64).trimStart()[0];
          if (start !== "[" && start !== "{")
            return done(new ServiceUnavailableError(`${file.url} is not JSON (the server sent an error page?)`));
        }
        received += chunk.length;
        onProgress?.({ file, received, total });
        done(null, chunk);
      },
    });
    await mkdir(dirname(dest), { recursive: true });
    try {
      await pipeline(Readable.fromWeb(res.body as never), check, createWriteStream(tmp));
    } catch (error) {
      if (error instanceof UserError) throw error;
      throw new ServiceUnavailableError(
        `download of ${file.url} broke off after ${received}${total ? ` of ${total}` : ""} bytes: ${networkReason(error)}`,
      );
    }
    if (total !== undefined && received !== total) {
      throw new ServiceUnavailableError(`download of ${file.url} is truncated: got ${received} of ${total} bytes`);
    }
    await rename(tmp, dest);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Downloads the train and dev questions and outputs of a task; files already cached are kept. */
export async function downloadLamp(
  task: LampTask,
  split: LampSplit,
  cacheDir: string,
  options: { force?: boolean; onProgress?: DownloadProgress; base?: string } = {},
): Promise<{ path: string; url: string; cached: boolean }[]> {
  const done: { path: string; url: string; cached: boolean }[] = [];
  for (const file of lampFiles(task, split, options.base)) {
    const dest = join(cacheDir, file.path);
    const cached = !options.force && (await exists(dest));
    if (!cached) await downloadFile(file, dest, options.onProgress);
    done.push({ path: dest, url: file.url, cached });
  }
  return done;
}
