/** The profile summarization tasks; a module of its own so the CLI can list them without loading LangChain. */
import { UserError } from "../errors/errors.js";

/** The tasks with a summarization prompt of their own in `prompts/profile/`. */
export const PROFILE_TASKS = ["general", "lamp-1", "lamp-2m", "lamp-2n", "lamp-3"] as const;
export type ProfileTask = (typeof PROFILE_TASKS)[number];

export function parseProfileTask(task: string): ProfileTask {
  if (!(PROFILE_TASKS as readonly string[]).includes(task)) {
    throw new UserError(`unknown task "${task}": use one of ${PROFILE_TASKS.join(", ")}`);
  }
  return task as ProfileTask;
}
