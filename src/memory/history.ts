/**
 * A user's interaction history for `persona-agent ingest`: JSONL, one
 * `{"query", "response", "timestamp"?, "metadata"?}` object per line.
 */
import { open } from "node:fs/promises";
import { createInterface } from "node:readline";
import { z } from "zod";
import { fileReadError, UserError } from "../errors.js";

export interface HistoryEntry {
  query: string;
  response: string;
  timestamp?: string;
  metadata?: Record<string, unknown>;
}

const nonEmptyString = (field: string) =>
  z
    .string({
      required_error: `"${field}" is missing`,
      invalid_type_error: `"${field}" must be a non-empty string`,
    })
    // Whitespace-only text would become an empty memory, so it counts as empty.
    .refine((s) => s.trim() !== "", `"${field}" must be a non-empty string`);

// Only the shape of an ISO-8601 date or date-time: Date.parse alone also accepts
// engine-specific formats such as "March 7" that would be misread silently.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;
const TIMESTAMP_ERROR = `"timestamp" must be an ISO-8601 date string`;

const entrySchema = z.object(
  {
    query: nonEmptyString("query"),
    response: nonEmptyString("response"),
    // null is what many exporters write for "no value"; treat it as absent.
    timestamp: z
      .string({ invalid_type_error: TIMESTAMP_ERROR })
      .nullish()
      .refine((s) => s == null || (ISO_8601.test(s) && !Number.isNaN(Date.parse(s))), TIMESTAMP_ERROR)
      .transform((s) => (s == null ? undefined : new Date(s).toISOString())),
    metadata: z
      .record(z.unknown(), { invalid_type_error: `"metadata" must be a JSON object` })
      .nullish()
      .transform((m) => m ?? undefined),
  },
  { invalid_type_error: "expected a JSON object" },
);

/** Validates one line; undefined for a blank line. Shared by the string and the streaming reader. */
function entryFromLine(line: string, source: string, lineNo: number): HistoryEntry | undefined {
  if (lineNo === 1 && line.startsWith("\uFEFF")) line = line.slice(1);
  if (line.trim() === "") return undefined;
  const fail = (what: string) => new UserError(`${source}:${lineNo}: ${what}`);
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw fail(`invalid JSON (${(err as Error).message})`);
  }
  return validateHistoryEntry(value, `${source}:${lineNo}`);
}

/** Validates one entry object (a parsed JSONL line, or an item of the ingest graph's input); `where` prefixes the error. */
export function validateHistoryEntry(value: unknown, where: string): HistoryEntry {
  const parsed = entrySchema.safeParse(value);
  if (!parsed.success) throw new UserError(`${where}: ${parsed.error.issues[0]?.message ?? "invalid entry"}`);
  const { query, response, timestamp, metadata } = parsed.data;
  // Optional keys are left out rather than set to undefined, so entries compare cleanly.
  const entry: HistoryEntry = { query, response };
  if (timestamp !== undefined) entry.timestamp = timestamp;
  if (metadata !== undefined) entry.metadata = metadata;
  return entry;
}

function requireEntries(entries: HistoryEntry[], source: string): HistoryEntry[] {
  if (entries.length === 0) throw new UserError(`${source}: no history entries (the file is empty or blank)`);
  return entries;
}

/** Parses JSONL text; `source` names the file in error messages. */
export function parseHistoryJsonl(text: string, source: string): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  // Same line breaks as node:readline, so both readers number lines identically.
  text.split(/\r\n|\n|\r/).forEach((line, i) => {
    const entry = entryFromLine(line, source, i + 1);
    if (entry) entries.push(entry);
  });
  return requireEntries(entries, source);
}

/** Reads a history file line by line, so a multi-GB file is never held as one string. */
export async function readHistoryFile(path: string): Promise<HistoryEntry[]> {
  let handle;
  try {
    handle = await open(path);
    // open() succeeds on a directory on Linux; the read would then fail with a less clear error.
    if ((await handle.stat()).isDirectory()) throw Object.assign(new Error(), { code: "EISDIR" });
  } catch (err) {
    await handle?.close();
    throw fileReadError(path, err);
  }
  const stream = handle.createReadStream({ encoding: "utf8" }); // closes the handle when done
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  const entries: HistoryEntry[] = [];
  let lineNo = 0;
  try {
    for await (const line of lines) {
      const entry = entryFromLine(line, path, ++lineNo);
      if (entry) entries.push(entry);
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot read ${path}: ${(err as Error).message}`);
  } finally {
    lines.close();
    stream.destroy();
  }
  return requireEntries(entries, path);
}
