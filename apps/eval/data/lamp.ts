/**
 * Loaders for the LaMP benchmark's official files: `*_questions.json` is
 * `[{id, input, profile: [{id, ...task fields}]}]`, `*_outputs.json` is `{task, golds: [{id, output}]}`;
 * and a user's profile as task-shaped interactions (the task's own question about each item and
 * the user's answer), what ingest, retrieval and alignment replays use (docs/EVAL.md).
 */
import { createHash, hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { JSONParser } from "@streamparser/json";
import { z } from "zod";
import { fileReadError, UserError } from "../../../src/errors/errors.js";
import { renderPrompt } from "../../../src/prompts/prompts.js";
import type { HistoryEntry } from "../../../src/memory/history.js";

export type LampTask = "lamp-1" | "lamp-2m" | "lamp-2n" | "lamp-3";
export interface LampProfileItem {
  id: string;
  [field: string]: unknown;
}
export interface LampQuestion {
  id: string;
  input: string;
  profile: LampProfileItem[];
  /** The author, where a release names it (grouping by user, apps/eval/data/oppu.ts). */
  user_id?: string;
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
    "sci-fi",
    "based on a book",
    "comedy",
    "action",
    "twist ending",
    "dystopia",
    "dark comedy",
    "classic",
    "psychology",
    "fantasy",
    "romance",
    "thought-provoking",
    "social commentary",
    "violence",
    "true story",
  ],
  "lamp-2n": [
    "women",
    "religion",
    "politics",
    "style & beauty",
    "entertainment",
    "culture & arts",
    "sports",
    "science & technology",
    "travel",
    "business",
    "crime",
    "education",
    "healthy living",
    "parents",
    "food & drink",
  ],
  "lamp-3": ["1", "2", "3", "4", "5"],
};

const idSchema = z.string().min(1);
const questionSchema = z.object({
  id: idSchema,
  input: z.string().min(1),
  // Task fields differ per task and are checked where they are used (profileInteractions).
  profile: z.array(z.object({ id: idSchema }).passthrough()),
  user_id: z.union([z.string(), z.number()]).transform(String).optional(),
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

export async function readJson(path: string): Promise<unknown> {
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
 * Validates one record so the error can name its index and id, and rejects duplicate ids
 * (`seen`: id -> index), which would make the join with the golds ambiguous.
 */
function parseRecord<T extends { id: string }>(
  path: string,
  what: string,
  record: unknown,
  i: number,
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  seen: Map<string, number>,
): T {
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
}

function parseRecords<T extends { id: string }>(
  path: string,
  what: string,
  records: unknown[],
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
): T[] {
  const seen = new Map<string, number>();
  return records.map((record, i) => parseRecord(path, what, record, i, schema, seen));
}

export async function loadLampQuestions(path: string): Promise<LampQuestion[]> {
  const questions: LampQuestion[] = [];
  await streamLampQuestions(path, (question) => questions.push(question));
  return questions;
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];
const JSON_SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * Reads a LaMP questions file as a stream, one question at a time (validated as loadLampQuestions
 * does), for files too large for one string (LaMP-1's and LaMP-3's train files, ~600 MB): memory
 * holds one question and the ids seen, whatever the file's size.
 */
export async function streamLampQuestions(
  path: string,
  onQuestion: (question: LampQuestion, index: number) => void,
): Promise<number> {
  const parser = new JSONParser({ paths: ["$.*"], keepStack: false });
  const seen = new Map<string, number>();
  let count = 0;
  let started = false;
  parser.onValue = ({ value }) =>
    onQuestion(parseRecord(path, "question", value, count, questionSchema, seen), count++);
  let stream;
  try {
    stream = createReadStream(path);
    for await (let chunk of stream as AsyncIterable<Buffer>) {
      if (!started) {
        if (UTF8_BOM.every((byte, i) => chunk[i] === byte)) chunk = chunk.subarray(3);
        const first = chunk.findIndex((byte) => !JSON_SPACE.has(byte));
        if (first === -1) continue;
        started = true;
        if (chunk[first] !== 0x5b)
          throw new UserError(
            `${path}: expected a JSON array of questions, got ${chunk[first] === 0x7b ? "object" : "something else"}`,
          );
      }
      parser.write(chunk);
    }
    if (!parser.isEnded) parser.end(); // it ends itself after the closing bracket
  } catch (err) {
    if (err instanceof UserError) throw err;
    if ((err as NodeJS.ErrnoException).code) throw fileReadError(path, err);
    throw new UserError(`${path}: not valid JSON (${(err as Error).message})`);
  } finally {
    stream?.destroy();
  }
  if (!started) throw new UserError(`${path}: not valid JSON (the file is empty)`);
  return count;
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
    if (output === undefined)
      throw new UserError(`${outputsPath}: no gold output for question id "${q.id}" (from ${questionsPath})`);
    return { ...q, output };
  });
}

/** The profile field holding a LaMP item's task input (what its test question asks about) and the user's answer. */
const ITEM_FIELDS: Record<LampTask, { input: string; answer?: string }> = {
  "lamp-1": { input: "title" }, // a paper the user wrote; the answer is built (Appendix E), see lamp1Interaction
  "lamp-2m": { input: "description", answer: "tag" }, // a movie -> the tag the user gave it
  "lamp-2n": { input: "text", answer: "category" }, // an article the user wrote -> its category
  "lamp-3": { input: "text", answer: "score" }, // a review the user wrote -> the user's score
};

/**
 * The fields that make two profile items the same interaction: its content and the user's
 * answer. LaMP's item ids cannot tell (they are prefixed by the question id: the same article is
 * "1132" in one question and "1142" in the next).
 */
const CONTENT_FIELDS: Record<LampTask, readonly string[]> = {
  "lamp-1": ["title", "abstract"],
  "lamp-2m": ["description", "title", "tag"],
  "lamp-2n": ["text", "title", "category"],
  "lamp-3": ["text", "score"],
};

/** Whitespace other than a single space; most texts have none and are only trimmed (this runs per item of LaMP-size files). */
const IRREGULAR_SPACE = /[^\S ]| {2}/;

/** Whitespace runs as one space, ends trimmed: how contents are compared. */
export function normalizeText(text: string): string {
  return (IRREGULAR_SPACE.test(text) ? text.replace(/\s+/g, " ") : text).trim();
}

const fieldText = (item: LampProfileItem, field: string) => {
  const value = item[field];
  return typeof value === "string" || typeof value === "number" ? normalizeText(String(value)) : "";
};

/** A profile item's task input, normalized: the paper / movie / article / review a test question can ask about. */
export function itemInput(task: LampTask, item: LampProfileItem): string {
  return fieldText(item, ITEM_FIELDS[task].input);
}

/** One key per distinct interaction (content and answer, normalized); ids are ignored. */
export function itemKey(task: LampTask, item: LampProfileItem): string {
  return hash("sha1", CONTENT_FIELDS[task].map((field) => fieldText(item, field)).join("\u0000"), "base64");
}

/**
 * Where the task input starts in a LaMP-2M/2N/3 question, as OPPU's utils.py finds it
 * (extract_movie, extract_news_cat, extract_product_review: the first occurrence).
 */
const INPUT_MARKER: Record<Exclude<LampTask, "lamp-1">, string> = {
  "lamp-2m": "] description: ",
  "lamp-2n": "] article: ",
  "lamp-3": "without further explanation. review: ",
};
/** OPPU's extract_citation_title: the title of the user's paper in a LaMP-1 question. */
const LAMP1_TITLE = /written the paper with the title "([^"]*)"/;

/**
 * A LaMP question exactly as the benchmark's own test questions are written (prompts/lamp/question):
 * the same instruction, label list and answer format. LaMP-1 needs the two candidate references.
 */
export async function lampQuestion(
  task: LampTask,
  input: string,
  references?: readonly [string, string],
): Promise<string> {
  if (task === "lamp-1") {
    if (!references) throw new Error("a LaMP-1 question needs two candidate references");
    return renderPrompt("lamp/question/lamp-1", { title: input, first: references[0], second: references[1] });
  }
  return renderPrompt(`lamp/question/${task}`, { input, labels: (LAMP_LABELS[task] ?? []).join(", ") });
}

/**
 * A LaMP question as every method asks it (prompts/lamp/<task>.md): the question, then the line
 * saying which answers are allowed; `context` (examples, profile) goes before it. Test queries,
 * the stored interactions alignment replays and LLM_grad's question all use this one format.
 */
export async function taskPrompt(task: LampTask, question: string, context = ""): Promise<string> {
  return renderPrompt(`lamp/${task}`, { context, question, labels: (LAMP_LABELS[task] ?? []).join(", ") });
}

/**
 * What a LaMP question asks about, extracted as OPPU's utils.py does: the text after
 * "] description: " / "] article: " / "without further explanation. review: ", and for LaMP-1 the
 * title of the user's paper. The whole question when the marker is missing.
 */
export function questionInput(task: LampTask, question: string): string {
  if (task === "lamp-1") return LAMP1_TITLE.exec(question)?.[1] ?? question;
  const marker = question.indexOf(INPUT_MARKER[task]);
  return marker === -1 ? question : question.slice(marker + INPUT_MARKER[task].length);
}

/** Python's str.isspace() characters: what OPPU's `text.split()` splits on. */
// eslint-disable-next-line no-control-regex -- Python's str.split() whitespace includes \x1c-\x1f
const PYTHON_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** OPPU's get_first_k_tokens: the first `k` whitespace-separated tokens, joined by single spaces. */
export function firstTokens(text: string, k: number): string {
  return text.split(PYTHON_WHITESPACE).filter(Boolean).slice(0, k).join(" ");
}

/** OPPU cuts every profile field to its first 368 tokens before formatting the BM25 documents. */
const DOCUMENT_FIELD_TOKENS = 368;

/** The BM25 document of a profile item: OPPU's per-task template (prompts/lamp/oppu/document) over its fields cut to 368 tokens. */
export async function retrievalDocument(task: LampTask, item: LampProfileItem): Promise<string> {
  const fields = Object.fromEntries(
    Object.keys(item).map((field) => [field, firstTokens(String(item[field] ?? ""), DOCUMENT_FIELD_TOKENS)]),
  );
  return `${await renderPrompt(`lamp/oppu/document/${task}`, fields)}\n`;
}

/** The BM25 query of a test question: OPPU's per-task query template around what the question asks about. */
export async function retrievalQuery(task: LampTask, question: string): Promise<string> {
  return renderPrompt(`lamp/oppu/query/${task}`, { input: questionInput(task, question) });
}

/** Choices a LaMP-1 interaction leaves open; see docs/EVAL.md "Task-shaped interactions". */
export interface InteractionOptions {
  /** Seeds the negative reference and the [1]/[2] order of LaMP-1 interactions. */
  seed?: number;
  /** Paper titles of other users (LaMP-1 negatives), as [owner, title]; the user's own are skipped. */
  otherPapers?: readonly (readonly [string, string])[];
}

/** Every user's paper titles as [owner, title]: the pool of LaMP-1 negatives (undefined for other tasks). */
export function populationPapers(
  task: LampTask,
  users: readonly { id: string; profile: readonly LampProfileItem[] }[],
): [string, string][] | undefined {
  if (task !== "lamp-1") return undefined;
  return users.flatMap((u) =>
    u.profile
      .filter((p) => typeof p.title === "string" && p.title.trim() !== "")
      .map((p): [string, string] => [u.id, p.title as string]),
  );
}

/** A deterministic 32-bit number from a seed and a key (no global random state, same on every run). */
export function seeded(seed: number, key: string, salt: string): number {
  return createHash("sha256").update(`${seed}\u0000${salt}\u0000${key}`).digest().readUInt32BE(0);
}

function text(task: LampTask, item: LampProfileItem, field: string): string {
  const value = item[field];
  // LaMP-3 scores may be numbers in some releases; the label set is strings.
  const s = typeof value === "number" && Number.isFinite(value) ? String(value) : value;
  if (typeof s !== "string" || s.trim() === "")
    throw new UserError(`${task} profile item "${item.id}": "${field}" must be a non-empty string`);
  return s;
}

/** The item's `date` as an ISO timestamp, or undefined when it has none. */
export function itemTimestamp(task: LampTask, item: LampProfileItem): string | undefined {
  const date = item.date;
  if (date == null) return undefined;
  // A bare year (string or number) becomes January 1st of that year, UTC.
  const parsed = typeof date === "string" || typeof date === "number" ? new Date(String(date)) : undefined;
  if (!parsed || Number.isNaN(parsed.getTime()))
    throw new UserError(`${task} profile item "${item.id}": invalid "date" ${JSON.stringify(date)}`);
  return parsed.toISOString();
}

/**
 * LaMP-1 (Appendix E): "one real citation from the paper is used as the positive candidate, while a
 * negative citation is sampled from the citing papers from the other users". The positive is the
 * item's `citation` field when the data has one (OPPU's processed LaMP-1 does); LaMP's own files
 * list no references of profile papers, so the positive is then the user's own paper closest in
 * time before it (after it for the first one) - a self-citation, recorded as `citation: "own-paper"`.
 */
function lamp1References(
  userId: string,
  profile: readonly LampProfileItem[],
  index: number,
  pool: readonly (readonly [string, string])[],
  seed: number,
) {
  const item = profile[index]!;
  const given = typeof item.citation === "string" && item.citation.trim() !== "" ? item.citation : undefined;
  const neighbour = profile[index > 0 ? index - 1 : index + 1];
  const positive = given ?? (neighbour ? text("lamp-1", neighbour, "title") : undefined);
  if (positive === undefined || pool.length === 0) return undefined;
  const negative = pool[seeded(seed, `${userId}/${item.id}`, "negative") % pool.length]![1];
  const positiveFirst = seeded(seed, `${userId}/${item.id}`, "order") % 2 === 0;
  return {
    references: (positiveFirst ? [positive, negative] : [negative, positive]) as [string, string],
    positive,
    answer: positiveFirst ? "[1]" : "[2]",
    source: given ? "real" : "own-paper",
  };
}

/**
 * A user's profile as task-shaped interactions, oldest first: each item becomes the task's test
 * question about that item, asked as test queries are (taskPrompt), and the user's answer in the
 * task's answer format, as OPPU turns profile items into its training prompts. Metadata:
 * `content`, the item as OPPU's profile record (content and answer, no instruction: what the
 * memory retriever embeds and the profile summary reads); `document`, its BM25 document. An item
 * without a date gets no timestamp. LaMP-1 items without a possible positive or negative are skipped.
 */
export async function profileInteractions(
  task: LampTask,
  userId: string,
  profile: readonly LampProfileItem[],
  options: InteractionOptions = {},
): Promise<HistoryEntry[]> {
  const { input: inputField, answer: answerField } = ITEM_FIELDS[task];
  const entries: HistoryEntry[] = [];
  const pool = task === "lamp-1" ? (options.otherPapers ?? []).filter(([owner]) => owner !== userId) : [];
  for (const [index, item] of profile.entries()) {
    const input = text(task, item, inputField);
    const timestamp = itemTimestamp(task, item);
    let question: string;
    let response: string;
    let fields: Record<string, string>;
    const metadata: Record<string, unknown> = { id: item.id };
    if (task === "lamp-1") {
      const built = lamp1References(userId, profile, index, pool, options.seed ?? 0);
      if (!built) continue;
      question = await lampQuestion(task, input, built.references);
      response = built.answer;
      fields = { title: input, citation: built.positive };
      metadata.citation = built.source;
    } else {
      question = await lampQuestion(task, input);
      response = text(task, item, answerField!);
      fields = { [inputField]: input, [answerField!]: response };
    }
    metadata.content = await renderPrompt(`lamp/oppu/record/${task}`, fields);
    metadata.document = await retrievalDocument(task, item);
    const entry: HistoryEntry = { query: await taskPrompt(task, question), response, metadata };
    entries.push(timestamp ? { ...entry, timestamp } : entry);
  }
  return entries;
}
