/**
 * LaMP question records to the paper's population: persons, each with one profile and all their
 * test queries (Appendix E, following OPPU / Tan et al. 2024b; docs/EVAL.md "Population" cites the
 * sentence each rule follows). LaMP's question files carry no user id and prefix every profile
 * item's id with the question's, so questions are grouped by what their profiles contain.
 *
 * - Same person: two questions whose profiles share at least SAME_PERSON_SHARE of the smaller
 *   profile's distinct items (compared by content and answer, itemKey), transitively; `user_id`
 *   groups instead where a record has one. An inverted index (item -> questions) finds the
 *   overlaps, so a file of tens of thousands of questions is never compared pair by pair.
 * - Queries: all the person's questions, in time order (a later question sees a longer history;
 *   ties: file order). The person's id is their first question's `user_id`, else its id.
 * - Profile: the union of the questions' profiles, deduplicated by content, in that order; never
 *   an item a query of the person asks about (the test article / paper / review, found by its
 *   task input: a leak of the query's answer), and, where items are dated, nothing dated on or
 *   after the person's first query (the date of a query is its own item's, where another of the
 *   person's questions has it), except the first question's own profile (LaMP-1 dates are years).
 */
import type { EvalUser, UserQuery } from "./oppu.js";
import { itemInput, itemKey, itemTimestamp, normalizeText, questionInput, type LampExample, type LampProfileItem, type LampTask } from "./lamp.js";
import type { Split } from "./lamp-names.js";

/** Share of the smaller of two profiles that must be in both for their questions to be one person. */
export const SAME_PERSON_SHARE = 0.5;

export interface PopulationSummary {
  questions: number;
  persons: number;
  queriesPerPerson: { min: number; median: number; max: number };
  /** Questions that joined another question's person (questions - persons). */
  merged: number;
  /** Profile items removed because a query of the same person asks about them. */
  leaksRemoved: number;
  /** Dated profile items removed because they are not before the person's first query. */
  laterRemoved: number;
}

export interface Population {
  users: EvalUser[];
  summary: PopulationSummary;
}

/** Question indices grouped into persons: by `user_id` where given, else by shared profile items (`keys`: each question's item keys). */
function groupQuestions(examples: readonly LampExample[], keysOf: readonly string[][]): number[][] {
  const parent = examples.map((_, i) => i);
  const find = (i: number): number => {
    let root = i;
    while (parent[root] !== root) root = parent[root]!;
    // Path compression: every question on the way now points at the root.
    for (let node = i; node !== root; ) {
      const up = parent[node]!;
      parent[node] = root;
      node = up;
    }
    return root;
  };
  const union = (a: number, b: number) => {
    const [ra, rb] = [find(a), find(b)];
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  const byUserId = new Map<string, number>();
  const questionsWith = new Map<string, number[]>(); // item key -> earlier questions whose profile has it
  const sizes: number[] = [];
  examples.forEach((example, i) => {
    if (example.user_id !== undefined) {
      const first = byUserId.get(example.user_id);
      if (first === undefined) byUserId.set(example.user_id, i);
      else union(first, i);
      return;
    }
    const keys = new Set(keysOf[i]);
    sizes[i] = keys.size;
    const shared = new Map<number, number>();
    for (const key of keys) {
      const earlier = questionsWith.get(key);
      if (!earlier) {
        questionsWith.set(key, [i]);
        continue;
      }
      for (const j of earlier) shared.set(j, (shared.get(j) ?? 0) + 1);
      earlier.push(i);
    }
    for (const [j, count] of shared) if (count >= SAME_PERSON_SHARE * Math.min(keys.size, sizes[j]!)) union(i, j);
  });
  const groups = new Map<number, number[]>();
  examples.forEach((_, i) => {
    const root = find(i);
    const group = groups.get(root);
    if (group) group.push(i);
    else groups.set(root, [i]);
  });
  return [...groups.values()];
}

interface Person {
  user: EvalUser;
  leaksRemoved: number;
  laterRemoved: number;
}

/** One person from their questions (in time order, with their item keys): the profile rules of the module comment. */
function personOf(task: LampTask, questions: readonly LampExample[], keysOf: readonly string[][]): Person {
  const first = questions[0]!;
  const asked = new Set(questions.map((q) => normalizeText(questionInput(task, q.input))));
  const seen = new Set<string>();
  const union: { item: LampProfileItem; key: string }[] = [];
  const queryDates: string[] = [];
  let leaksRemoved = 0;
  questions.forEach((question, q) => {
    question.profile.forEach((item, i) => {
      const key = keysOf[q]![i]!;
      if (seen.has(key)) return;
      seen.add(key);
      if (!asked.has(itemInput(task, item))) {
        union.push({ item, key });
        return;
      }
      leaksRemoved++;
      const date = itemTimestamp(task, item);
      if (date) queryDates.push(date);
    });
  });
  const firstQueryDate = queryDates.sort()[0];
  const firstOwn = new Set(keysOf[0]);
  const before = ({ item, key }: { item: LampProfileItem; key: string }) => {
    const date = firstQueryDate && itemTimestamp(task, item);
    return !date || date < firstQueryDate || firstOwn.has(key);
  };
  const profile = union.filter(before).map(({ item }) => item);
  const queries = questions.map((q): UserQuery => ({ id: q.id, input: q.input, output: q.output }));
  return { user: { id: first.user_id ?? first.id, profile, queries }, leaksRemoved, laterRemoved: union.length - profile.length };
}

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Persons, queries per person and what the profile rules removed (printed by `data convert` and `eval`). */
export function summarize(users: readonly EvalUser[], questions: number, removed: Pick<PopulationSummary, "leaksRemoved" | "laterRemoved"> = { leaksRemoved: 0, laterRemoved: 0 }): PopulationSummary {
  const counts = users.map((u) => u.queries.length).sort((a, b) => a - b);
  const queriesPerPerson = counts.length === 0 ? { min: 0, median: 0, max: 0 } : { min: counts[0]!, median: median(counts), max: counts.at(-1)! };
  return { questions, persons: users.length, queriesPerPerson, merged: questions - users.length, ...removed };
}

/**
 * LaMP question records (with golds, from every file of the split) to persons. `time` (the
 * paper's population): questions grouped into persons as above. `user`: every question is a
 * person of its own with its own profile (LaMP's per-question protocol), the same leak rule applied.
 */
export function lampToUsers(task: LampTask, examples: readonly LampExample[], split: Split): Population {
  const keysOf = examples.map((example) => example.profile.map((item) => itemKey(task, item)));
  const groups =
    split === "user"
      ? examples.map((_, i) => [i])
      : groupQuestions(examples, keysOf).map((indices) => [...indices].sort((a, b) => examples[a]!.profile.length - examples[b]!.profile.length || a - b));
  const persons = groups.map((indices) => personOf(task, indices.map((i) => examples[i]!), indices.map((i) => keysOf[i]!)));
  const users = persons.map((p) => p.user);
  const removed = { leaksRemoved: 0, laterRemoved: 0 };
  for (const p of persons) {
    removed.leaksRemoved += p.leaksRemoved;
    removed.laterRemoved += p.laterRemoved;
  }
  return { users, summary: summarize(users, examples.length, removed) };
}
