/**
 * Loaders for the LaMP benchmark's official files: `*_questions.json` is
 * `[{id, input, profile: [{id, ...task fields}]}]`, `*_outputs.json` is `{task, golds: [{id, output}]}`.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { fileReadError, UserError } from "../errors.js";
import type { HistoryEntry } from "../memory/history.js";

export type LampTask = "lamp-1" | "lamp-2m" | "lamp-2n" | "lamp-3";
export interface LampProfileItem {
  id: string;
  [field: string]: unknown;
}
export interface LampQuestion {
  id: string;
  input: string;
  profile: LampProfileItem[];
}
export interface LampExample extends LampQuestion {
  output: string;
}

/**
 * Label sets as in the official LaMP code and data. LaMP-2N says "education", not
 * "education & schools": that is what the dataset's own prompts list and its golds use.
 */
export const LAMP_LABELS: Record<LampTask, readonly string[] | null> = {
  "lamp-1": ["[1]", "[2]"],
  "lamp-2m": [
    "sci-fi", "based on a book", "comedy", "action", "twist ending", "dystopia", "dark comedy", "classic",
    "psychology", "fantasy", "romance", "thought-provoking", "social commentary", "violence", "true story",
  ],
  "lamp-2n": [
    "women", "religion", "politics", "style & beauty", "entertainment", "culture & arts", "sports",
    "science & technology", "travel", "business", "crime", "education", "healthy living", "parents", "food & drink",
  ],
  "lamp-3": ["1", "2", "3", "4", "5"],
};

const idSchema = z.string().min(1);
const questionSchema = z.object({
  id: idSchema,
  input: z.string().min(1),
  // Task fields differ per task and are checked where they are used (profileItemToHistoryEntry).
  profile: z.array(z.object({ id: idSchema }).passthrough()),
});
const goldSchema = z.object({ id: idSchema, output: z.string() });
const outputsSchema = z.object({ task: z.string(), golds: z.array(z.unknown()) });

/** One line per problem, e.g. `missing "input"` or `"profile[3].id" must be a string, got number`. */
function describeIssue(issue: z.ZodIssue): string {
  const field = issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : i ? `.${p}` : p)).join("");
  if (issue.code === "invalid_type") {
    if (issue.received === "undefined") return `missing "${field}"`;
    const expected = `${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}, got ${issue.received}`;
    return field ? `"${field}" must be ${expected}` : `expected ${expected}`;
  }
  if (issue.code === "too_small") return `"${field}" must not be empty`;
  return `"${field}": ${issue.message}`;
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw fileReadError(path, err);
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}

const kindOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v);

/**
 * Validates each record on its own so the error can name its index and id, and rejects
 * duplicate ids, which would make the join with the golds ambiguous.
 */
function parseRecords<T extends { id: string }>(path: string, what: string, records: unknown[], schema: z.ZodType<T>): T[] {
  const seen = new Map<string, number>();
  return records.map((record, i) => {
    const rawId = (record as { id?: unknown } | null)?.id;
    const where = `${path}: ${what} ${i}${typeof rawId === "string" ? ` (id "${rawId}")` : ""}`;
    const parsed = schema.safeParse(record);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UserError(`${where}: ${issue ? describeIssue(issue) : "invalid"}`);
    }
    const first = seen.get(parsed.data.id);
    if (first !== undefined) throw new UserError(`${where}: duplicate id (also ${what} ${first})`);
    seen.set(parsed.data.id, i);
    return parsed.data;
  });
}

export async function loadLampQuestions(path: string): Promise<LampQuestion[]> {
  const data = await readJson(path);
  if (!Array.isArray(data)) throw new UserError(`${path}: expected a JSON array of questions, got ${kindOf(data)}`);
  return parseRecords(path, "question", data, questionSchema);
}

export async function loadLampOutputs(path: string): Promise<{ task: string; golds: Map<string, string> }> {
  const data = await readJson(path);
  const top = outputsSchema.safeParse(data);
  if (!top.success) {
    const issue = top.error.issues[0];
    const why = issue && issue.path.length > 0 ? describeIssue(issue) : `got ${kindOf(data)}`;
    throw new UserError(`${path}: expected {"task", "golds": [...]}: ${why}`);
  }
  const golds = parseRecords(path, "gold", top.data.golds, goldSchema);
  return { task: top.data.task, golds: new Map(golds.map((g) => [g.id, g.output])) };
}

/** Joins questions with their gold outputs by id. Golds without a question are ignored. */
export async function loadLamp(questionsPath: string, outputsPath: string): Promise<LampExample[]> {
  const [questions, { golds }] = await Promise.all([loadLampQuestions(questionsPath), loadLampOutputs(outputsPath)]);
  return questions.map((q) => {
    const output = golds.get(q.id);
    if (output === undefined) throw new UserError(`${outputsPath}: no gold output for question id "${q.id}" (from ${questionsPath})`);
    return { ...q, output };
  });
}

/** Which profile field plays the user's request and which the user's own answer, per task. */
const ENTRY_FIELDS: Record<LampTask, { query: string; response: string }> = {
  "lamp-1": { query: "title", response: "abstract" }, // a paper the user wrote: title -> abstract
  "lamp-2n": { query: "text", response: "category" }, // an article the user wrote -> its category
  "lamp-2m": { query: "description", response: "tag" }, // a movie -> the tag the user gave it
  "lamp-3": { query: "text", response: "score" }, // a review the user wrote -> the user's score
};

/** Turns one profile record into an episodic-memory entry; the other fields (incl. id) become metadata. */
export function profileItemToHistoryEntry(task: LampTask, item: LampProfileItem): HistoryEntry {
  const { query: qField, response: rField } = ENTRY_FIELDS[task];
  const { [qField]: query, [rField]: response, date, ...metadata } = item;
  const fail = (what: string) => new UserError(`${task} profile item "${item.id}": ${what}`);
  const text = (value: unknown, field: string): string => {
    // LaMP-3 scores may be numbers in some releases; the label set is strings.
    const s = typeof value === "number" && Number.isFinite(value) ? String(value) : value;
    if (typeof s !== "string" || s.trim() === "") throw fail(`"${field}" must be a non-empty string`);
    return s;
  };
  const entry: HistoryEntry = { query: text(query, qField), response: text(response, rField), metadata };
  if (date != null) {
    // A bare year (string or number) becomes January 1st of that year, UTC.
    const parsed = typeof date === "string" || typeof date === "number" ? new Date(String(date)) : undefined;
    if (!parsed || Number.isNaN(parsed.getTime())) throw fail(`invalid "date" ${JSON.stringify(date)}`);
    entry.timestamp = parsed.toISOString();
  }
  return entry;
}
