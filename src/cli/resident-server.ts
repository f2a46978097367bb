/**
 * `persona-agent resident`: one process that keeps the CLI loaded for a data directory and runs
 * the quick commands (RESIDENT_COMMANDS) that other `persona-agent` processes hand it over its
 * Unix socket (resident-client.ts). A command runs exactly as in its own process (the same
 * program, arguments and exit code; its output sent back), on the store and checkpointer this
 * process keeps open, with the models, FAISS indexes and query vectors it already loaded.
 * Commands run one at a time, in the order they arrive; a client that goes away stops its own.
 */
import { existsSync, mkdirSync, chmodSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { UserError } from "../errors.js";
import type { Settings } from "../settings.js";
import { openPersistence } from "../store/open.js";
import { main } from "./program.js";
import { RESIDENT_COMMANDS, residentFingerprint, residentSocket, type CommandResult, type ResidentReply, type ResidentRequest } from "./resident-client.js";
import { runForClient, shareOpenPersistence } from "./session.js";

/** Linux's limit on a socket's path (sun_path), less its terminating zero. */
const MAX_SOCKET_PATH = 107;
/** A request is one JSON line of arguments: anything longer is not a command line. */
const MAX_REQUEST_BYTES = 1 << 20;

export interface ResidentOptions {
  /** Stops after this long without a command. */
  idleMs: number;
  /** Where it reports that it started, each command it ran (name, exit code, time) and that it stopped; never arguments or output. */
  log: (line: string) => void;
}

/** Serves until idle for `idleMs`, SIGINT or SIGTERM; resolves with the exit code. */
export async function serveResident(settings: Settings, { idleMs, log }: ResidentOptions): Promise<number> {
  const socketPath = residentSocket(settings.dataDir);
  if (socketPath.length > MAX_SOCKET_PATH) throw new UserError(`the data directory's path is too long for a socket (${socketPath}); use a shorter --data-dir`);
  mkdirSync(settings.dataDir, { recursive: true });
  if (existsSync(socketPath)) {
    if (await answers(socketPath)) throw new UserError(`a resident process already serves ${settings.dataDir}`);
    rmSync(socketPath, { force: true }); // left by a process that was killed
  }
  const fingerprint = residentFingerprint();
  const persistence = await openPersistence(settings);
  const unshare = shareOpenPersistence(settings, persistence);
  let queue = Promise.resolve();
  let running = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const rearm = () => {
    clearTimeout(idleTimer);
    if (running === 0) idleTimer = setTimeout(stop, idleMs);
  };

  const server = createServer((connection) =>
    readRequest(connection, (request) => {
      if (request.fingerprint !== fingerprint) return reply(connection, { refused: "another build or environment" });
      if (!RESIDENT_COMMANDS.has(request.args[0] ?? "")) return reply(connection, { refused: `not a resident command: ${request.args[0]}` });
      running++;
      clearTimeout(idleTimer);
      // A client that goes away (Ctrl-C) stops its command, as it would stop a process of its own.
      const client = new AbortController();
      connection.once("close", () => client.abort(new Error("the client went away")));
      queue = queue.then(async () => {
        const started = performance.now();
        if (client.signal.aborted) log(`${request.args[0]}: not run, the client went away`);
        else {
          const result = await runCaptured(request.args, client.signal);
          const gone = client.signal.aborted ? ", the client went away" : "";
          log(`${request.args[0]}: exit ${result.exitCode} in ${Math.round(performance.now() - started)} ms${gone}`);
          reply(connection, result);
        }
        running--;
        rearm();
      });
    }),
  );
  // Created 0600 (umask at bind time), so only this user's processes can hand it commands.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(socketPath, resolve));
  } finally {
    process.umask(umask);
  }
  chmodSync(socketPath, 0o600);
  const onSignal = () => stop();
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  log(`resident process for ${settings.dataDir}: runs ${[...RESIDENT_COMMANDS].join(", ")} of this environment; stops after ${idleMs / 60_000} idle minutes or on Ctrl-C`);
  rearm();

  await stopped;
  process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
  clearTimeout(idleTimer);
  await new Promise<void>((resolve) => server.close(() => resolve())); // refuses new connections, waits for the open ones
  await queue;
  rmSync(socketPath, { force: true });
  unshare();
  await persistence.close();
  log("resident process stopped");
  return 0;
}

/** Whether a process listens at `socketPath`. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(socketPath, () => {
      probe.destroy();
      resolve(true);
    });
    probe.on("error", () => resolve(false));
  });
}

function readRequest(connection: Socket, handle: (request: ResidentRequest) => void): void {
  let text = "";
  connection.setEncoding("utf8");
  connection.on("error", () => undefined); // a client that went away: its "close" stops its command
  connection.on("data", (chunk: string) => {
    text += chunk;
    const end = text.indexOf("\n");
    const tooLarge = text.length > MAX_REQUEST_BYTES;
    if (end < 0 && !tooLarge) return;
    connection.removeAllListeners("data"); // one request, or one refusal, per connection
    if (tooLarge) return reply(connection, { refused: "request too large" });
    let request: ResidentRequest;
    try {
      request = JSON.parse(text.slice(0, end)) as ResidentRequest;
      if (typeof request.fingerprint !== "string" || !Array.isArray(request.args) || !request.args.every((a) => typeof a === "string")) throw new Error();
    } catch {
      return reply(connection, { refused: "not a request" });
    }
    handle(request);
  });
}

function reply(connection: Socket, value: ResidentReply): void {
  if (!connection.destroyed) connection.end(`${JSON.stringify(value)}\n`);
}

/** Runs one command line for a client, with this process's stdout and stderr captured (commands run one at a time). */
async function runCaptured(args: string[], signal: AbortSignal): Promise<CommandResult> {
  const output = { stdout: "", stderr: "" };
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  const capture = (name: "stdout" | "stderr") =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      output[name] += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture("stdout");
  process.stderr.write = capture("stderr");
  try {
    const exitCode = await runForClient(signal, () => main(["node", "persona-agent", ...args]));
    return { exitCode, ...output };
  } finally {
    process.stdout.write = writes.stdout;
    process.stderr.write = writes.stderr;
  }
}
