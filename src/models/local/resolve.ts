/**
 * `local:<model>` -> a GGUF file on disk. `<model>` is a path, or an `hf:` / https URI that
 * node-llama-cpp downloads once (with its progress bar) into the model cache folder.
 * Every way this can fail is a UserError naming the path and what to set instead.
 */
import { lookup } from "node:dns/promises";
import { constants } from "node:fs";
import { access, open, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { SingleBar, Presets } from "cli-progress";
import { ServiceUnavailableError, UserError } from "../../errors/errors.js";
import { DEFAULT_SETTINGS, localModelSettings } from "../../configuration/settings.js";

/**
 * Suggested default: ~1 GB, runs on a laptop CPU, follows tool-calling prompts well.
 * An explicit file URI (hf:<user>/<repo>/<file>) rather than the `:Q4_K_M` tag form: it maps
 * to a fixed cache file name, so once downloaded it is found again offline.
 */
export const DEFAULT_LOCAL_MODEL = DEFAULT_SETTINGS.model.replace(/^local:/, "");

const INSTEAD =
  "set PERSONA_AGENT_MODEL=local:<path to a .gguf file>, or a hosted model (PERSONA_AGENT_MODEL=openai:... / bedrock:...)";

/** `PERSONA_AGENT_MODEL_CACHE`, else `<data dir>/models`. */
export function modelCacheDir(): string {
  return localModelSettings().cacheDir;
}

export function isRemoteModel(name: string): boolean {
  return /^(hf:|huggingface:|https?:\/\/)/i.test(name);
}

/** Checks what llama.cpp would otherwise report as a crash or an opaque "failed to load". */
export async function checkGgufFile(path: string): Promise<string> {
  const absolute = resolve(path);
  let info;
  try {
    info = await stat(absolute);
  } catch {
    throw new UserError(`local model file not found: ${absolute}; ${INSTEAD}`);
  }
  if (!info.isFile()) throw new UserError(`local model path is not a file: ${absolute}; ${INSTEAD}`);
  const magic = Buffer.alloc(4);
  try {
    await access(absolute, constants.R_OK);
    const handle = await open(absolute, "r");
    try {
      await handle.read(magic, 0, 4, 0);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new UserError(
      `cannot read local model file ${absolute} (${(error as NodeJS.ErrnoException).code ?? String(error)}); ${INSTEAD}`,
    );
  }
  if (magic.toString("latin1") !== "GGUF") {
    throw new UserError(`not a GGUF model file: ${absolute} (it does not start with "GGUF"); ${INSTEAD}`);
  }
  return absolute;
}

async function resolves(host: string): Promise<boolean> {
  const timeout = new Promise<false>((done) => setTimeout(done, 5_000, false).unref());
  return Promise.race([
    lookup(host).then(
      () => true,
      () => false,
    ),
    timeout,
  ]);
}

function isNetworkFailure(error: unknown): boolean {
  for (let e = error as { code?: string; message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (
      [
        "ENOTFOUND",
        "EAI_AGAIN",
        "ECONNREFUSED",
        "ECONNRESET",
        "ETIMEDOUT",
        "ENETUNREACH",
        "UND_ERR_CONNECT_TIMEOUT",
      ].includes(e.code ?? "")
    )
      return true;
    if (/fetch failed|getaddrinfo|network|socket/i.test(e.message ?? "")) return true;
  }
  return false;
}

/**
 * A remote model is looked up in the cache first (node-llama-cpp matches the file name the
 * URI maps to), so a machine that downloaded it once runs offline afterwards.
 */
export async function resolveLocalModel(name: string, cacheDir = modelCacheDir()): Promise<string> {
  if (!isRemoteModel(name)) return checkGgufFile(name);
  const { resolveModelFile } = await import("node-llama-cpp");
  const cached = await resolveModelFile(name, { directory: cacheDir, download: false, cli: false }).catch(
    () => undefined,
  );
  if (cached) return checkGgufFile(cached);
  // Offline, node-llama-cpp's downloader retries for minutes: find out in one DNS lookup.
  const host = /^https?:/i.test(name) ? new URL(name).hostname : "huggingface.co";
  if (!(await resolves(host))) {
    throw new ServiceUnavailableError(`cannot download ${name}: no network (${host} does not resolve); ${INSTEAD}`);
  }
  // node-llama-cpp's own progress bar writes to stdout, which `--json` output owns: draw ours on stderr.
  const bar = new SingleBar(
    { format: `downloading ${name} {bar} {percentage}% | {value}/{total} MB`, stream: process.stderr },
    Presets.shades_classic,
  );
  let started = false;
  let path: string;
  try {
    path = await resolveModelFile(name, {
      directory: cacheDir,
      cli: false,
      onProgress: ({ totalSize, downloadedSize }) => {
        const mb = (bytes: number) => Math.round(bytes / 1e6);
        if (!started) bar.start(mb(totalSize), 0);
        started = true;
        bar.update(mb(downloadedSize));
      },
    });
  } catch (error) {
    if (isNetworkFailure(error)) {
      throw new ServiceUnavailableError(
        `cannot download ${name}: no network; put the .gguf file in ${cacheDir} or ${INSTEAD}`,
      );
    }
    throw new UserError(`cannot get ${name}: ${String((error as Error).message ?? error).split("\n")[0]}; ${INSTEAD}`);
  } finally {
    if (started) bar.stop();
  }
  return checkGgufFile(path);
}
