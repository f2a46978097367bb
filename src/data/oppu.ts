/**
 * The paper's population (Appendix E, following OPPU / Tan et al. 2024b): per user, a profile (the
 * history, oldest first) and a list of test queries. OPPU's processed files hold
 * `[{user_id, profile: [...], query: [{id, input, gold?}]}]` (golds may sit in a separate LaMP
 * outputs file); `lampToUsers` builds the same from LaMP's question files. Rules, documented in
 * docs/EVAL.md "Population":
 * - time split: questions of one user are grouped by `user_id` where the release has it, else by
 *   shared profile items (in the time-based split a user's later questions see the earlier
 *   questions' history); user split: every question is its own user (LaMP's user-based format).
 * - a user's queries are ordered in time: a later question sees a longer history (ties: file order).
 * - the profile is the history before the user's first query, so no test query (and nothing
 *   after it) is ever in memory.
 * - `selectActiveUsers` ranks users by activity (profile items + queries) over every file given.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { UserError } from "../errors.js";
import { readJson, type LampExample, type LampProfileItem } from "./lamp.js";
import type { Split } from "./lamp-names.js";

export { SPLITS, type Split } from "./lamp-names.js";

export interface UserQuery {
  id: string;
  input: string;
  output: string;
}

export interface EvalUser {
  id: string;
  profile: LampProfileItem[];
  queries: UserQuery[];
}

const idSchema = z.union([z.string().min(1), z.number()]).transform(String);
const oppuSchema = z.array(
  z.object({
    user_id: idSchema,
    profile: z.array(z.object({ id: idSchema }).passthrough()),
    query: z.array(z.object({ id: idSchema, input: z.string().min(1), gold: z.string().optional() })).min(1),
  }),
);

/** OPPU's per-user file; golds come from each query's `gold` or from `golds` (a LaMP outputs file's map). */
export async function loadOppuUsers(path: string, golds?: Map<string, string>): Promise<EvalUser[]> {
  const parsed = oppuSchema.safeParse(await readJson(path));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`${path}: not OPPU's per-user format ([{user_id, profile, query: [{id, input, gold?}]}]): "${issue.path.join(".")}" ${issue.message}`);
  }
  return parsed.data.map((user) => ({
    id: user.user_id,
    profile: user.profile as LampProfileItem[],
    queries: user.query.map((q) => {
      const output = q.gold ?? golds?.get(q.id);
      if (output === undefined) throw new UserError(`${path}: query "${q.id}" of user "${user.user_id}" has no gold (no "gold" field and none in the outputs file)`);
      return { id: q.id, input: q.input, output };
    }),
  }));
}

const itemKey = (item: LampProfileItem) => createHash("sha256").update(JSON.stringify(Object.entries(item).sort(([a], [b]) => a.localeCompare(b)))).digest("hex");

/** Groups question indices by user: `user_id`, else connected by a shared profile item. */
function groupByUser(examples: readonly LampExample[]): number[][] {
  const parent = examples.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const union = (a: number, b: number) => {
    const [ra, rb] = [find(a), find(b)];
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  const owner = new Map<string, number>();
  examples.forEach((example, i) => {
    const keys = example.user_id !== undefined ? [`user:${example.user_id}`] : example.profile.map((item) => `item:${itemKey(item)}`);
    for (const key of keys) {
      const seen = owner.get(key);
      if (seen === undefined) owner.set(key, i);
      else union(seen, i);
    }
  });
  const groups = new Map<number, number[]>();
  examples.forEach((_, i) => {
    const root = find(i);
    groups.set(root, [...(groups.get(root) ?? []), i]);
  });
  return [...groups.values()];
}

/** LaMP question records (with golds, from every file of the split) to users with a profile and queries. */
export function lampToUsers(examples: readonly LampExample[], split: Split): EvalUser[] {
  const toQuery = (e: LampExample): UserQuery => ({ id: e.id, input: e.input, output: e.output });
  if (split === "user") return examples.map((e) => ({ id: e.user_id ?? e.id, profile: e.profile, queries: [toQuery(e)] }));
  return groupByUser(examples).map((indices) => {
    const ordered = [...indices].sort((a, b) => examples[a]!.profile.length - examples[b]!.profile.length || a - b).map((i) => examples[i]!);
    const first = ordered[0]!;
    return { id: first.user_id ?? first.id, profile: first.profile, queries: ordered.map(toQuery) };
  });
}

/** The `n` most active users (profile items + queries; ties: data order). */
export function selectActiveUsers(users: readonly EvalUser[], n: number): EvalUser[] {
  return users
    .map((user, order) => ({ user, order, activity: user.profile.length + user.queries.length }))
    .sort((a, b) => b.activity - a.activity || a.order - b.order)
    .slice(0, n)
    .map(({ user }) => user);
}

/** Each user's query ids must be unique across the population (results are keyed by them). */
export function checkUsers(users: readonly EvalUser[], source: string): void {
  const seen = new Map<string, string>();
  for (const user of users) {
    for (const q of user.queries) {
      const other = seen.get(q.id);
      if (other !== undefined) throw new UserError(`${source}: query id "${q.id}" appears twice (users "${other}" and "${user.id}")`);
      seen.set(q.id, user.id);
    }
  }
}
