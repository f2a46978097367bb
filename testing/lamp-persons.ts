/**
 * LaMP-format question files with the shapes of LaMP's own releases (compare the real records in
 * tests/fixtures/lamp-samples): no user ids, every profile item's id prefixed by its question's
 * id, and several questions of one person whose profiles hold each other's test items with their
 * labels. The persons:
 * - `journalist` (questions 100-102): each question's profile is the person's 6-item history plus
 *   the other two questions' test items with their labels (as the real LaMP-2N sample's
 *   journalist, whose questions share 17 of 18 items); those copies differ from the questions'
 *   text in whitespace, as copied text does.
 * - `timed` (200, 201): dated items; the second question's profile holds the first's test item
 *   and one item dated after it.
 * - `silent` (300): no profile at all.
 * - `single` (400): one profile item (a LaMP-1 person has nothing to cite it with).
 * - `reader` (500), `critic` (600), `fan` (700): one question each; the reader's profile shares 1
 *   of its 5 items with the journalist's history (20 %: not the same person).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LAMP_LABELS, type LampExample, type LampProfileItem, type LampTask } from "../apps/eval/data/lamp.js";
import { syntheticItem, syntheticQuestion } from "../apps/eval/synthetic.js";

export const PERSONS = ["journalist", "timed", "silent", "single", "reader", "critic", "fan"] as const;
export type PersonName = (typeof PERSONS)[number];

/**
 * What the grouping into persons (apps/eval/data/persons.ts) reports for the fixture: 10
 * questions, 7 persons (3 questions merged into another's person: the journalist's and timed's
 * later ones), 4 profile items removed as a query's own item, 1 dated on or after its person's
 * first query.
 */
export const FIXTURE_POPULATION = {
  questions: 10,
  persons: 7,
  queriesPerPerson: { min: 1, median: 1, max: 3 },
  merged: 3,
  leaksRemoved: 4,
  laterRemoved: 1,
};

export interface PersonsFixture {
  task: LampTask;
  /** Questions joined with their golds, in file order. */
  examples: LampExample[];
  /** Each person's question ids, oldest first. */
  persons: Record<PersonName, string[]>;
}

interface Draft {
  text: string;
  label: string;
  date?: string;
}

const OFFICIAL_TASK: Record<LampTask, string> = {
  "lamp-1": "LaMP_1",
  "lamp-2m": "LaMP_2",
  "lamp-2n": "LaMP_2",
  "lamp-3": "LaMP_3",
};

export function lampPersonsFixture(task: LampTask): PersonsFixture {
  const labels = LAMP_LABELS[task]!;
  const label = (i: number) => (task === "lamp-1" ? "[1]" : labels[i % labels.length]!);
  const drafts = (topic: string, n: number, first: number, dated?: number): Draft[] =>
    Array.from({ length: n }, (_, i) => ({
      text: `${topic} story ${i} about the ${topic} beat`,
      label: label(first),
      ...(dated ? { date: `${dated + i}-03-01` } : {}),
    }));
  const examples: LampExample[] = [];
  const persons = {} as Record<PersonName, string[]>;
  const add = (person: PersonName, id: string, test: Draft, profile: Draft[], respace = false) => {
    const items: LampProfileItem[] = profile.map((d, i) => {
      const text = respace && d.text.startsWith("test ") ? `  ${d.text.replace(/ /g, "  ")}\n` : d.text;
      const item = syntheticItem(task, `${id}${i}`, text, d.label);
      return d.date ? { ...item, date: task === "lamp-1" ? Number(d.date.slice(0, 4)) : d.date } : item;
    });
    examples.push({
      id,
      input: syntheticQuestion(task, test.text, "an unrelated paper"),
      profile: items,
      output: task === "lamp-1" ? "[1]" : test.label,
    });
    (persons[person] ??= []).push(id);
  };

  // The journalist: leave-one-out profiles, as LaMP's user-based files have them.
  const history = drafts("harbor", 6, 0);
  const tests = [0, 1, 2].map((k) => ({ text: `test article ${k} on the harbor beat`, label: label(k + 1) }));
  tests.forEach((test, k) => add("journalist", `10${k}`, test, [...history, ...tests.filter((_, m) => m !== k)], true));

  // The timed person: the later question sees the earlier test item and something newer.
  const timedHistory = drafts("orbit", 5, 2, 2010);
  const firstTest = { text: "test review of the orbit launch", label: label(3), date: "2016-05-01" };
  add("timed", "200", firstTest, timedHistory);
  add("timed", "201", { text: "test review of the orbit landing", label: label(3) }, [
    ...timedHistory,
    firstTest,
    { text: "orbit story after the first test", label: label(4), date: "2017-01-01" },
  ]);

  add("silent", "300", { text: "test note with no history", label: label(5) }, []);
  add("single", "400", { text: "test paper of a one-paper author", label: label(6) }, drafts("glacier", 1, 6));
  add("reader", "500", { text: "test piece of the reader", label: label(7) }, [history[0]!, ...drafts("violin", 4, 7)]);
  add("critic", "600", { text: "test piece of the critic", label: label(8) }, drafts("desert", 5, 8));
  add("fan", "700", { text: "test piece of the fan", label: label(9) }, drafts("lantern", 5, 9));
  return { task, examples, persons };
}

/** Writes the fixture as LaMP's two files, `<dir>/<task>_questions.json` and `_outputs.json`. */
export async function writeLampPersonsFixture(
  dir: string,
  task: LampTask,
): Promise<PersonsFixture & { questions: string; outputs: string }> {
  const fixture = lampPersonsFixture(task);
  await mkdir(dir, { recursive: true });
  const questions = join(dir, `${task}_persons_questions.json`);
  const outputs = join(dir, `${task}_persons_outputs.json`);
  await writeFile(
    questions,
    JSON.stringify(
      fixture.examples.map(({ output: _output, ...q }) => q),
      null,
      1,
    ),
  );
  await writeFile(
    outputs,
    JSON.stringify(
      { task: OFFICIAL_TASK[task], golds: fixture.examples.map((e) => ({ id: e.id, output: e.output })) },
      null,
      1,
    ),
  );
  return { ...fixture, questions, outputs };
}
