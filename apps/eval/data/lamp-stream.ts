/**
 * The population of LaMP question files of any size (LaMP-1's and LaMP-3's train files are
 * ~600 MB, more than one JavaScript string holds), read as streams in two passes: the first keeps
 * of each question only what grouping and the profile rules need (PopulationIndex: hashes and
 * sizes), the second keeps the questions and profile items of the selected persons. Memory is
 * bounded by the distinct items and the selected persons, not by the file.
 */
import { UserError } from "../../../src/errors/errors.js";
import {
  LAMP_LABELS,
  loadLampOutputs,
  populationPapers,
  streamLampQuestions,
  type LampExample,
  type LampProfileItem,
  type LampTask,
} from "./lamp.js";
import type { Split } from "./lamp-names.js";
import {
  planPopulation,
  PopulationIndex,
  selectActivePersons,
  summarizePlans,
  userOf,
  type Population,
  type PersonPlan,
} from "./persons.js";

export interface FilePair {
  questions: string;
  outputs: string;
}

export interface StreamedPopulation extends Population {
  /** LaMP-1's negatives: every person's paper titles as [owner, title] (populationPapers over the whole population). */
  papers?: [string, string][];
}

/** One question with only the profile items a person needs (a sparse profile). */
type Kept = Pick<LampExample, "id" | "input" | "output" | "profile">;

/**
 * Persons of the question/output file pairs (planPopulation), the `select` most active ones
 * materialized (all when undefined); `users` are those, in population order.
 */
export async function streamLampPopulation(
  task: LampTask,
  files: readonly FilePair[],
  split: Split,
  select?: number,
): Promise<StreamedPopulation> {
  const labels = LAMP_LABELS[task]!;
  const golds = await Promise.all(files.map(async (pair) => (await loadLampOutputs(pair.outputs)).golds));
  const index = new PopulationIndex(task);
  for (const [f, pair] of files.entries()) {
    await streamLampQuestions(pair.questions, (question) => {
      const output = golds[f]!.get(question.id);
      if (output === undefined)
        throw new UserError(
          `${pair.outputs}: no gold output for question id "${question.id}" (from ${pair.questions})`,
        );
      if (!labels.includes(output.trim()))
        throw new UserError(`gold "${output}" of question "${question.id}" is not a ${task} label; is --task right?`);
      index.add(question);
    });
  }
  const persons = planPopulation(index, split);
  const selected = new Set(select === undefined ? persons : selectActivePersons(persons, select));
  // What the second pass keeps of a question: a selected person's text and profile items, another person's paper titles (LaMP-1).
  const titles = task === "lamp-1";
  const wanted = new Map<number, { whole: boolean; items: number[] }>();
  for (const person of persons) {
    const whole = selected.has(person);
    if (!whole && !titles) continue;
    for (const q of person.questions) wanted.set(q, { whole, items: [] });
    for (const [q, i] of person.profile) wanted.get(q)!.items.push(i);
  }
  const kept = new Map<number, Kept>();
  let q = 0;
  for (const [f, pair] of files.entries()) {
    await streamLampQuestions(pair.questions, (question) => {
      const at = q++;
      if (index.questions[at]?.id !== question.id)
        throw new UserError(`${pair.questions}: changed while it was read (question ${at} is now "${question.id}")`);
      const want = wanted.get(at);
      if (!want) return;
      const profile: LampProfileItem[] = [];
      for (const i of want.items)
        profile[i] = want.whole
          ? question.profile[i]!
          : { id: question.profile[i]!.id, title: question.profile[i]!.title };
      kept.set(
        at,
        want.whole
          ? { id: question.id, input: question.input, output: golds[f]!.get(question.id)!, profile }
          : { id: question.id, input: "", output: "", profile },
      );
    });
  }
  const userOfPlan = (plan: PersonPlan) => userOf(plan, (i) => kept.get(i)!);
  return {
    users: persons.filter((p) => selected.has(p)).map(userOfPlan),
    summary: summarizePlans(persons, index.questions.length),
    ...(titles ? { papers: populationPapers(task, persons.map(userOfPlan)) } : {}),
  };
}
