/**
 * The paper's population (Appendix E, following OPPU / Tan et al. 2024b): per user, a profile (the
 * history, oldest first) and a list of test queries. OPPU's processed files hold
 * `[{user_id, profile: [...], query: [{id, input, gold?}]}]` (golds may sit in a separate LaMP
 * outputs file; `user_id` is used as given); `lampToUsers` (persons.ts) builds the same from
 * LaMP's question files. `selectActiveUsers` picks the most active; `checkNoLeaks` refuses a
 * profile holding a query's own item. Rules and their sources: docs/EVAL.md "Population".
 */
import { z } from "zod";
import { UserError } from "../../../src/errors/errors.js";
import { itemInput, normalizeText, questionInput, readJson, type LampProfileItem, type LampTask } from "./lamp.js";

export { SPLITS, type Split } from "./lamp-names.js";
export { lampToUsers, type Population, type PopulationSummary } from "./persons.js";

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
    throw new UserError(
      `${path}: not OPPU's per-user format ([{user_id, profile, query: [{id, input, gold?}]}]): "${issue.path.join(".")}" ${issue.message}`,
    );
  }
  return parsed.data.map((user) => ({
    id: user.user_id,
    profile: user.profile as LampProfileItem[],
    queries: user.query.map((q) => {
      const output = q.gold ?? golds?.get(q.id);
      if (output === undefined)
        throw new UserError(
          `${path}: query "${q.id}" of user "${user.user_id}" has no gold (no "gold" field and none in the outputs file)`,
        );
      return { id: q.id, input: q.input, output };
    }),
  }));
}

/** The `n` most active users: the largest profiles first (ties: user id, in code-unit order). */
export function selectActiveUsers(users: readonly EvalUser[], n: number): EvalUser[] {
  return [...users]
    .sort((a, b) => b.profile.length - a.profile.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, n);
}

/**
 * Refuses users whose profile holds what one of their queries asks about (the test article, paper
 * or review, compared by its task input): the query's answer would be in the user's memory.
 */
export function checkNoLeaks(task: LampTask, users: readonly EvalUser[], source: string): void {
  for (const user of users) {
    const inputs = new Map(user.profile.map((item) => [itemInput(task, item), item.id]));
    for (const q of user.queries) {
      const leaked = inputs.get(normalizeText(questionInput(task, q.input)));
      if (leaked !== undefined) {
        throw new UserError(
          `${source}: query "${q.id}" of user "${user.id}" asks about profile item "${leaked}" of the same user, whose answer would be in memory; remove the item (persona-agent data convert does)`,
        );
      }
    }
  }
}

/** Each user's query ids must be unique across the population (results are keyed by them). */
export function checkUsers(users: readonly EvalUser[], source: string): void {
  const seen = new Map<string, string>();
  for (const user of users) {
    for (const q of user.queries) {
      const other = seen.get(q.id);
      if (other !== undefined)
        throw new UserError(`${source}: query id "${q.id}" appears twice (users "${other}" and "${user.id}")`);
      seen.set(q.id, user.id);
    }
  }
}
