/**
 * The compiled CLI's side of a resident process (`persona-agent resident`, resident-server.ts).
 * A new process spends most of a quick command loading LangChain and LangGraph (bench:cli);
 * when a resident process serves the data directory with the same build and environment, the
 * command runs there instead, and this process only passes its arguments and prints the reply.
 * Part of the launcher bundle: it loads nothing but Node's net and crypto modules.
 */
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { behaviourEnvironment, residentAllowed, settingsFromEnv } from "../settings.js";

/** Commands a resident process runs: quick ones that draw no progress bar and read no stdin. */
export const RESIDENT_COMMANDS: ReadonlySet<string> = new Set(["ask", "persona", "feedback", "forget"]);

/** Where the resident process of a data directory listens (the directory's permissions guard it, the socket is 0600). */
export function residentSocket(dataDir: string): string {
  return join(resolve(dataDir), "resident.sock");
}

/**
 * The build (dist/.built's time, or "source" when run through tsx) and the environment that
 * decide what a command does: a resident process started with other settings, credentials or
 * code refuses the command, which then runs in its own process.
 */
export function residentFingerprint(): string {
  let build = "source";
  try {
    build = String(statSync(fileURLToPath(new URL("../.built", import.meta.url))).mtimeMs);
  } catch {
    // not a compiled build
  }
  return createHash("sha256").update(JSON.stringify([process.version, build, behaviourEnvironment()])).digest("hex");
}

export interface ResidentTarget {
  socket: string;
  fingerprint: string;
}

/** The resident process a command could run in (its socket exists), or undefined. */
export function residentTarget(command: string, dataDirOption: string | undefined): ResidentTarget | undefined {
  if (!RESIDENT_COMMANDS.has(command)) return undefined;
  try {
    if (!residentAllowed()) return undefined;
    const socket = residentSocket(dataDirOption ?? settingsFromEnv().dataDir);
    return existsSync(socket) ? { socket, fingerprint: residentFingerprint() } : undefined;
  } catch {
    return undefined; // invalid settings: the command itself reports them
  }
}

export interface ResidentRequest {
  fingerprint: string;
  /** The command line after `persona-agent`. */
  args: string[];
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A resident process's answer: the command's result, or why it did not run it. */
export type ResidentReply = CommandResult | { refused: string };

/**
 * Runs the command in the resident process. Undefined when it did not run there (no process
 * listening, a stale socket, another build or environment): the caller runs it itself. A
 * resident process that goes away while it runs the command is an error, not a reason to run
 * the command twice.
 */
export function runInResident({ socket, fingerprint }: ResidentTarget, args: string[]): Promise<CommandResult | undefined> {
  return new Promise((done) => {
    let sent = false;
    let reply = "";
    const connection = connect(socket, () => {
      sent = true;
      // write, not end: a half-closed connection would be closed by the server before it replies
      connection.write(`${JSON.stringify({ fingerprint, args } satisfies ResidentRequest)}\n`);
    });
    connection.setEncoding("utf8");
    connection.on("data", (chunk: string) => (reply += chunk));
    connection.on("error", () => undefined); // settled by "close"
    connection.on("close", () => {
      if (!sent) return done(undefined);
      try {
        const parsed = JSON.parse(reply) as ResidentReply;
        done("refused" in parsed ? undefined : parsed);
      } catch {
        done({ exitCode: 1, stdout: "", stderr: `persona-agent: the resident process at ${socket} stopped before the command finished; see its log\n` });
      }
    });
  });
}
