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
import { hash } from "node:crypto";
import type { EvalUser, UserQuery } from "./oppu.js";
import {
  itemInput,
  itemKey,
  itemTimestamp,
  normalizeText,
  questionInput,
  type LampExample,
  type LampQuestion,
  type LampTask,
} from "./lamp.js";
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

/**
 * What grouping and the profile rules need of a question, without its texts: ids of contents
 * (hashes, interned) instead of the contents. Built one question at a time, so a file of any size
 * is grouped in memory proportional to its distinct items (apps/eval/data/lamp-stream.ts).
 */
export interface QuestionSketch {
  id: string;
  user_id?: string;
  /** What the question asks about (normalized questionInput), interned. */
  asks: number;
  /** Its profile's items as variants (content key and date), in file order. */
  items: Uint32Array;
}

/** A distinct profile item as the rules see it: its content key, its task input, its date (and an id to name it in errors). */
interface ItemVariant {
  key: number;
  input: number;
  id: string;
  date: unknown;
}

/** Sketches of the questions of a task, and the distinct contents and items they refer to. */
export class PopulationIndex {
  readonly questions: QuestionSketch[] = [];
  private readonly interned = new Map<string, number>();
  private readonly variantIds = new Map<string | number, number>();
  readonly variants: ItemVariant[] = [];
  private readonly timestamps = new Map<number, string | undefined>();
  constructor(readonly task: LampTask) {}

  /** A small id per distinct string; `digest` false for strings that are hashes already (itemKey). */
  private intern(text: string, digest = true): number {
    const name = digest ? hash("sha1", text, "base64") : text;
    let id = this.interned.get(name);
    if (id === undefined) this.interned.set(name, (id = this.interned.size));
    return id;
  }

  add(question: Pick<LampQuestion, "id" | "input" | "profile" | "user_id">): void {
    const items = new Uint32Array(question.profile.length);
    question.profile.forEach((item, i) => {
      const key = this.intern(itemKey(this.task, item), false);
      // Most items have no date: those are found by their key alone.
      const name = item.date === undefined ? key : `${key}\u0000${JSON.stringify(item.date)}`;
      let variant = this.variantIds.get(name);
      if (variant === undefined) {
        // The task input is a content field: the same for every copy of the item, hashed once.
        this.variantIds.set(name, (variant = this.variants.length));
        this.variants.push({ key, input: this.intern(itemInput(this.task, item)), id: item.id, date: item.date });
      }
      items[i] = variant;
    });
    const sketch: QuestionSketch = {
      id: question.id,
      asks: this.intern(normalizeText(questionInput(this.task, question.input))),
      items,
    };
    if (question.user_id !== undefined) sketch.user_id = question.user_id;
    this.questions.push(sketch);
  }

  keys(q: number): number[] {
    return Array.from(this.questions[q]!.items, (v) => this.variants[v]!.key);
  }

  timestamp(variant: number): string | undefined {
    if (!this.timestamps.has(variant)) {
      const { id, date } = this.variants[variant]!;
      this.timestamps.set(variant, itemTimestamp(this.task, { id, date }));
    }
    return this.timestamps.get(variant);
  }
}

/** Question indices grouped into persons: by `user_id` where given, else by shared profile items (`keysOf`: each question's item keys). */
function groupQuestions(
  questions: readonly Pick<QuestionSketch, "user_id">[],
  keysOf: (q: number) => readonly number[],
): number[][] {
  const parent = questions.map((_, i) => i);
  const find = (i: number): number => {
    let root = i;
    while (parent[root] !== root) root = parent[root]!;
    // Path compression: every question on the way now points at the root.
    for (let node = i; node !== root;) {
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
  const questionsWith = new Map<number, number[]>(); // item key -> earlier questions whose profile has it
  const sizes: number[] = [];
  questions.forEach((question, i) => {
    if (question.user_id !== undefined) {
      const first = byUserId.get(question.user_id);
      if (first === undefined) byUserId.set(question.user_id, i);
      else union(first, i);
      return;
    }
    const keys = new Set(keysOf(i));
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
  questions.forEach((_, i) => {
    const root = find(i);
    const group = groups.get(root);
    if (group) group.push(i);
    else groups.set(root, [i]);
  });
  return [...groups.values()];
}

/** A person as the rules make them, by reference into the questions: what to read of them to build the user. */
export interface PersonPlan {
  id: string;
  /** The person's questions (indices into the index's questions), in time order: their queries. */
  questions: number[];
  /** The profile: [question index, item position] of each item kept, in order. */
  profile: [number, number][];
  leaksRemoved: number;
  laterRemoved: number;
}

/** One person from their questions (indices, in time order): the profile rules of the module comment. */
function planPerson(index: PopulationIndex, questions: readonly number[]): PersonPlan {
  const sketches = questions.map((q) => index.questions[q]!);
  const first = sketches[0]!;
  const asked = new Set(sketches.map((q) => q.asks));
  const seen = new Set<number>();
  const union: { at: [number, number]; variant: number }[] = [];
  const queryDates: string[] = [];
  let leaksRemoved = 0;
  sketches.forEach((question, q) => {
    question.items.forEach((variant, i) => {
      const { key, input } = index.variants[variant]!;
      if (seen.has(key)) return;
      seen.add(key);
      if (!asked.has(input)) {
        union.push({ at: [questions[q]!, i], variant });
        return;
      }
      leaksRemoved++;
      const date = index.timestamp(variant);
      if (date) queryDates.push(date);
    });
  });
  const firstQueryDate = queryDates.sort()[0];
  const firstOwn = new Set(index.keys(questions[0]!));
  const before = ({ variant }: { variant: number }) => {
    const date = firstQueryDate && index.timestamp(variant);
    return !date || date < firstQueryDate || firstOwn.has(index.variants[variant]!.key);
  };
  const profile = union.filter(before).map(({ at }) => at);
  return {
    id: first.user_id ?? first.id,
    questions: [...questions],
    profile,
    leaksRemoved,
    laterRemoved: union.length - profile.length,
  };
}

/**
 * The persons of the indexed questions, in population order. `time` (the paper's population):
 * questions grouped into persons as above. `user`: every question is a person of its own with its
 * own profile (LaMP's per-question protocol), the same leak rule applied.
 */
export function planPopulation(index: PopulationIndex, split: Split): PersonPlan[] {
  const { questions } = index;
  const groups =
    split === "user"
      ? questions.map((_, i) => [i])
      : groupQuestions(questions, (q) => index.keys(q)).map((indices) =>
          [...indices].sort((a, b) => questions[a]!.items.length - questions[b]!.items.length || a - b),
        );
  return groups.map((indices) => planPerson(index, indices));
}

/** The `n` most active persons (selectActiveUsers' order: the largest profiles first, ties: id). */
export function selectActivePersons(persons: readonly PersonPlan[], n: number): PersonPlan[] {
  return [...persons]
    .sort((a, b) => b.profile.length - a.profile.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, n);
}

/** The user a plan describes, from its questions (`question(i)`: the full question with gold). */
export function userOf(
  plan: PersonPlan,
  question: (q: number) => Pick<LampExample, "id" | "input" | "output" | "profile">,
): EvalUser {
  const profile = plan.profile.map(([q, i]) => question(q).profile[i]!);
  const queries = plan.questions.map((q): UserQuery => {
    const { id, input, output } = question(q);
    return { id, input, output };
  });
  return { id: plan.id, profile, queries };
}

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Persons, queries per person and what the profile rules removed (printed by `data convert` and `eval`). */
export function summarize(
  users: readonly { queries: readonly unknown[] }[],
  questions: number,
  removed: Pick<PopulationSummary, "leaksRemoved" | "laterRemoved"> = { leaksRemoved: 0, laterRemoved: 0 },
): PopulationSummary {
  const counts = users.map((u) => u.queries.length).sort((a, b) => a - b);
  const queriesPerPerson =
    counts.length === 0
      ? { min: 0, median: 0, max: 0 }
      : { min: counts[0]!, median: median(counts), max: counts.at(-1)! };
  return { questions, persons: users.length, queriesPerPerson, merged: questions - users.length, ...removed };
}

/** The population summary of planned persons. */
export function summarizePlans(persons: readonly PersonPlan[], questions: number): PopulationSummary {
  const removed = { leaksRemoved: 0, laterRemoved: 0 };
  for (const p of persons) {
    removed.leaksRemoved += p.leaksRemoved;
    removed.laterRemoved += p.laterRemoved;
  }
  return summarize(
    persons.map((p) => ({ queries: p.questions })),
    questions,
    removed,
  );
}

/** LaMP question records (with golds, from every file of the split) to persons (planPopulation), all in memory. */
export function lampToUsers(task: LampTask, examples: readonly LampExample[], split: Split): Population {
  const index = new PopulationIndex(task);
  for (const example of examples) index.add(example);
  const persons = planPopulation(index, split);
  return {
    users: persons.map((plan) => userOf(plan, (q) => examples[q]!)),
    summary: summarizePlans(persons, examples.length),
  };
}
