/**
 * Small LaMP-format data sets for offline tests and benchmarks: `{questions, outputs}` exactly as
 * the official `*_questions.json` / `*_outputs.json`. Each user has a favourite label that most of
 * their profile carries and their question's gold is, so personalization measurably helps.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LAMP_LABELS, type LampExample, type LampTask } from "./data/lamp.js";

export interface SyntheticOptions {
  users: number;
  /** Profile items of the first user; each next user has one more, so "most history" is well defined. */
  items: number;
  /** Add a `date` to profile items, as LaMP's time-based split does. */
  dated?: boolean;
  /**
   * Questions per user (default 1), as in LaMP's time-based split: the j-th question's profile is
   * the user's history plus the items of their j earlier questions (the earlier test items with
   * their labels), so all share the history. Item ids are prefixed by the question's, as in LaMP.
   */
  queries?: number;
  /** Pad every item and question text to this many words (LaMP's run to hundreds; default: a few), for token estimates of real sizes. */
  words?: number;
}

const OFFICIAL_TASK: Record<LampTask, string> = {
  "lamp-1": "LaMP_1",
  "lamp-2m": "LaMP_2",
  "lamp-2n": "LaMP_2",
  "lamp-3": "LaMP_3",
};
const WORDS = [
  "river",
  "orbit",
  "castle",
  "engine",
  "garden",
  "signal",
  "harbor",
  "desert",
  "violin",
  "glacier",
  "market",
  "lantern",
];

/** A test question of `task` about `text`, worded as LaMP's (LaMP-1: references "<text> revisited" and `other`). */
export function syntheticQuestion(task: LampTask, text: string, other: string): string {
  const labels = (LAMP_LABELS[task] ?? []).join(", ");
  switch (task) {
    case "lamp-1":
      return `For an author who has written the paper with the title "${text}", which reference is related? Just answer with [1] or [2] without explanation. [1]: "${text} revisited" [2]: "${other}"`;
    case "lamp-2m":
      return `Which tag does this movie relate to among the following tags? Just answer with the tag name without further explanation. tags: [${labels}] description: ${text}`;
    case "lamp-2n":
      return `Which category does this article relate to among the following categories? Just answer with the category name without further explanation. categories: [${labels}] article: ${text}`;
    case "lamp-3":
      return `What is the score of the following review on a scale of 1 to 5? just answer with 1, 2, 3, 4, or 5 without further explanation. review: ${text}`;
  }
}

/** A profile item of `task` about `text` with the user's answer `label`, in LaMP's fields. */
export function syntheticItem(
  task: LampTask,
  id: string,
  text: string,
  label: string,
): { id: string } & Record<string, string> {
  switch (task) {
    case "lamp-1":
      return { id, title: text, abstract: `We study ${text}.` };
    case "lamp-2m":
      return { id, description: text, tag: label };
    case "lamp-2n":
      return { id, title: text.split(" ").slice(0, 3).join(" "), text, category: label };
    case "lamp-3":
      return { id, text, score: label };
  }
}

/** `text` followed by filler words up to `words` words in all (none when undefined). */
const padded = (text: string, words?: number) => {
  const missing = (words ?? 0) - text.split(" ").length;
  return missing > 0
    ? `${text} ${Array.from({ length: missing }, (_, i) => WORDS[(i * 7) % WORDS.length]).join(" ")}`
    : text;
};

export function generateLamp(task: LampTask, options: SyntheticOptions) {
  const labels = LAMP_LABELS[task]!;
  const questions = [];
  const golds = [];
  const date = (u: number, i: number) => `20${String(10 + i).padStart(2, "0")}-0${1 + (u % 9)}-15`;
  for (let u = 0; u < options.users; u++) {
    const favourite = labels[(u * 3) % labels.length]!;
    const other = labels[(u * 3 + 1) % labels.length]!;
    const topic = WORDS[u % WORDS.length]!;
    const history = options.items + u;
    const profile = Array.from({ length: history }, (_, i) => {
      // Most items carry the favourite label and the question's topic; every third one and the
      // two most recent carry another label and topic, so recency and similarity disagree.
      const drift = i % 3 === 2 || i >= history - 2;
      const label = drift ? other : favourite;
      const subject = drift ? WORDS[(u + 5) % WORDS.length]! : topic;
      const item = syntheticItem(
        task,
        `${u}${String(i).padStart(3, "0")}`,
        padded(`${subject} story ${i} of user ${u}`, options.words),
        label,
      );
      return options.dated ? { ...item, date: date(u, i) } : item;
    });
    const gold = task === "lamp-1" ? "[1]" : favourite;
    for (let j = 0; j < (options.queries ?? 1); j++) {
      const id = `${u}0${j}`;
      const text = padded(
        j === 0 ? `${topic} story of user ${u}` : `${topic} story ${j} asked of user ${u}`,
        options.words,
      );
      // LaMP's item ids are prefixed by the question's: the same item has another id in every question.
      questions.push({
        id,
        input: syntheticQuestion(task, text, "an unrelated paper"),
        profile: profile.map((item, i): typeof item => ({ ...item, id: `${id}${i}` })),
      });
      golds.push({ id, output: gold });
      // The answered question is history for the user's next one (the time-based split).
      const answered = syntheticItem(task, `${u}q${j}`, text, task === "lamp-1" ? "[1]" : favourite);
      profile.push(options.dated ? { ...answered, date: date(u, history + j) } : answered);
    }
  }
  return { questions, outputs: { task: OFFICIAL_TASK[task], golds } };
}

/** The generated questions joined with their golds, as `loadLamp` returns LaMP's files. */
export function generateExamples(task: LampTask, options: SyntheticOptions): LampExample[] {
  const { questions, outputs } = generateLamp(task, options);
  return questions.map((q, i) => ({ ...q, output: outputs.golds[i]!.output }));
}

/** Writes `<dir>/<task>_questions.json` and `<dir>/<task>_outputs.json`; returns their paths. */
export async function writeSyntheticLamp(
  dir: string,
  task: LampTask,
  options: SyntheticOptions,
): Promise<{ questions: string; outputs: string }> {
  const data = generateLamp(task, options);
  await mkdir(dir, { recursive: true });
  const paths = { questions: join(dir, `${task}_questions.json`), outputs: join(dir, `${task}_outputs.json`) };
  await writeFile(paths.questions, JSON.stringify(data.questions, null, 1));
  await writeFile(paths.outputs, JSON.stringify(data.outputs, null, 1));
  return paths;
}
