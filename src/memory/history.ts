/**
 * A user's interaction history for `persona-agent ingest`: JSONL, one
 * `{"query", "response", "timestamp"?, "metadata"?}` object per line.
 */
import { open } from "node:fs/promises";
import { createInterface } from "node:readline";
import { z } from "zod";
import { fileReadError, UserError } from "../errors/errors.js";

export interface HistoryEntry {
  query: string;
  response: string;
  timestamp?: string;
  metadata?: Record<string, unknown>;
}

/**
 * The one limit of every free-text field: history queries, responses and metadata (as JSON),
 * `ask` queries, `feedback --query` and `--truth`. Longer text is refused, never cut (a memory is
 * a past interaction, not a document).
 */
export const MAX_TEXT_CHARS = 100_000;

/**
 * Validates one free-text input (`what` names it in the error): trimmed, non-empty, at most
 * MAX_TEXT_CHARS, storable on every backend. Returns the trimmed text.
 */
export function validateText(text: string, what: string): string {
  const trimmed = text.trim();
  if (!trimmed) throw new UserError(`${what} is empty`);
  if (trimmed.length > MAX_TEXT_CHARS)
    throw new UserError(`${what} is too long (${trimmed.length} characters, at most ${MAX_TEXT_CHARS})`);
  const why = unstorableText(trimmed);
  if (why) throw new UserError(`${what} ${why}`);
  return trimmed;
}

/**
 * Why `text` cannot be stored, or undefined: PostgreSQL's JSONB refuses NUL characters and
 * unpaired UTF-16 surrogates (e.g. a JSON "\ud800" escape), so they are refused at the input
 * on every backend rather than failing halfway through a write on one.
 */
export function unstorableText(text: string): string | undefined {
  if (text.includes("\u0000")) return "contains a NUL character (U+0000)";
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text))
    return "contains an unpaired UTF-16 surrogate (invalid Unicode)";
  return undefined;
}

/** The first string (value or key) inside a JSON value that cannot be stored, described. */
function unstorableJson(value: unknown): string | undefined {
  if (typeof value === "string") return unstorableText(value);
  if (Array.isArray(value)) {
    for (const v of value) {
      const why = unstorableJson(v);
      if (why) return why;
    }
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      const why = unstorableText(k) ?? unstorableJson(v);
      if (why) return why;
    }
  }
  return undefined;
}

const nonEmptyString = (field: string) =>
  z
    .string({
      required_error: `"${field}" is missing`,
      invalid_type_error: `"${field}" must be a non-empty string`,
    })
    // Whitespace-only text would become an empty memory, so it counts as empty.
    .refine((s) => s.trim() !== "", `"${field}" must be a non-empty string`)
    .superRefine((s, ctx) => {
      if (s.length > MAX_TEXT_CHARS) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `"${field}" is too long (${s.length} characters, at most ${MAX_TEXT_CHARS})`,
        });
        return;
      }
      const why = unstorableText(s);
      if (why) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${field}" ${why}` });
    });

// Only the shape of an ISO-8601 date or date-time: Date.parse alone also accepts
// engine-specific formats such as "March 7" that would be misread silently.
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;
const TIMESTAMP_ERROR = `"timestamp" must be an ISO-8601 date string`;

/**
 * The instant of an ISO-8601 timestamp, or why it is not one. A date-time without a zone is
 * read as UTC (not the machine's local time, so re-ingesting under another TZ finds the same
 * entries); a date that does not exist (2024-02-30, 2023-02-29, 25:00) is refused, never rolled
 * over into the next month or day.
 */
export function parseTimestamp(text: string): { iso: string } | { error: string } {
  const m = ISO_8601.exec(text);
  if (!m) return { error: TIMESTAMP_ERROR };
  const [, year, month, day, hour = "0", minute = "0", second = "0", zone] = m;
  const fields = [Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)] as const;
  const asUtc = new Date(Date.UTC(...fields));
  asUtc.setUTCFullYear(fields[0]); // Date.UTC maps years 0-99 to 1900-1999
  const real = [
    asUtc.getUTCFullYear(),
    asUtc.getUTCMonth(),
    asUtc.getUTCDate(),
    asUtc.getUTCHours(),
    asUtc.getUTCMinutes(),
    asUtc.getUTCSeconds(),
  ];
  if (real.some((v, i) => v !== fields[i]))
    return { error: `${TIMESTAMP_ERROR}: ${JSON.stringify(text)} is not a real date and time` };
  const hasTime = m[4] !== undefined;
  const normalized = hasTime && !zone ? `${text.replace(" ", "T")}Z` : text.replace(" ", "T");
  const time = Date.parse(normalized);
  return Number.isNaN(time) ? { error: TIMESTAMP_ERROR } : { iso: new Date(time).toISOString() };
}

/** Metadata keys JavaScript objects cannot hold as ordinary keys: refused rather than dropped silently. */
const RESERVED_KEYS = new Set(["__proto__"]);

/** The first reserved key anywhere inside a parsed JSON value, or undefined. */
function reservedKey(value: unknown): string | undefined {
  if (value === null || typeof value !== "object") return undefined;
  for (const [k, v] of Object.entries(value)) {
    if (RESERVED_KEYS.has(k)) return k;
    const inner = reservedKey(v);
    if (inner) return inner;
  }
  return undefined;
}

const entrySchema = z.object(
  {
    query: nonEmptyString("query"),
    response: nonEmptyString("response"),
    // null is what many exporters write for "no value"; treat it as absent.
    timestamp: z
      .string({ invalid_type_error: TIMESTAMP_ERROR })
      .nullish()
      .superRefine((s, ctx) => {
        const parsed = s == null ? undefined : parseTimestamp(s);
        if (parsed && "error" in parsed) ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed.error });
      })
      .transform((s) => (s == null ? undefined : (parseTimestamp(s) as { iso: string }).iso)),
    metadata: z
      .record(z.unknown(), { invalid_type_error: `"metadata" must be a JSON object` })
      .nullish()
      .superRefine((m, ctx) => {
        if (m == null) return;
        const size = JSON.stringify(m).length;
        if (size > MAX_TEXT_CHARS) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            message: `"metadata" is too large (${size} characters as JSON, at most ${MAX_TEXT_CHARS})`,
          });
          return;
        }
        const why = unstorableJson(m);
        if (why) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"metadata" ${why}` });
      })
      .transform((m) => m ?? undefined),
  },
  { invalid_type_error: "expected a JSON object" },
);

/**
 * A history file larger than this is refused before reading: ingest holds the entries, their
 * store records and the index's documents in memory (a 50 MB file of 26k entries peaks at
 * ~1.1 GB RSS), so larger histories are split into several files, each ingested in turn.
 */
export const MAX_HISTORY_FILE_BYTES = 32 * 1024 * 1024;

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
  // Checked on the raw value: parsing copies metadata into a plain object, where "__proto__" would vanish.
  const reserved = reservedKey((value as { metadata?: unknown } | null)?.metadata);
  if (reserved)
    throw new UserError(
      `${where}: "metadata" has a key ${JSON.stringify(reserved)}, which cannot be stored; rename it`,
    );
  const parsed = entrySchema.safeParse(value);
  if (!parsed.success) throw new UserError(`${where}: ${parsed.error.issues[0]?.message ?? "invalid entry"}`);
  const { query, response, timestamp, metadata } = parsed.data;
  // Optional keys are left out rather than set to undefined, so entries compare cleanly.
  const entry: HistoryEntry = { query, response };
  if (timestamp !== undefined) entry.timestamp = timestamp;
  if (metadata !== undefined) entry.metadata = metadata;
  return entry;
}

/** Characters (as JSON) one record written through the server's store API may hold: a memory's query, response and metadata at their limit, and its vector. */
export const MAX_RECORD_CHARS = 4 * MAX_TEXT_CHARS;

/**
 * A record written straight through the server's store API (`PUT /store/items`, into the
 * caller's own namespace ["users", id, kind]) gets the limits every other way in has: a memory
 * (kind "episodic") is checked as a history entry, like a line of an ingest file or an item of
 * the ingest graph's input; any record's text must be storable and the whole at most
 * MAX_RECORD_CHARS. Throws UserError.
 */
export function validateStoreRecord(kind: string | undefined, value: unknown): void {
  if (kind === "episodic") validateHistoryEntry(value, "a memory");
  const size = JSON.stringify(value ?? null).length;
  if (size > MAX_RECORD_CHARS)
    throw new UserError(`the record is too large (${size} characters as JSON, at most ${MAX_RECORD_CHARS})`);
  const why = unstorableJson(value);
  if (why) throw new UserError(`the record ${why}`);
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
    const stat = await handle.stat();
    if (stat.isDirectory()) throw Object.assign(new Error(), { code: "EISDIR" });
    if (stat.size > MAX_HISTORY_FILE_BYTES) {
      await handle.close();
      const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
      throw new UserError(
        `${path}: the history is too large (${mb(stat.size)}, at most ${mb(MAX_HISTORY_FILE_BYTES)} per ingest); split it into several files and ingest each`,
      );
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
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
