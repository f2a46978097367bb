/** `persona-agent feedback`: record the user's true response; align every --align-every feedbacks. */
import type { Command } from "commander";
import { UserError } from "../../errors.js";
import type { AlignOptions } from "../session.js";
import { intOption, print } from "../shared.js";
import { addAlignOptions } from "./align.js";

export function registerFeedback(program: Command): void {
  addAlignOptions(
    program
      .command("feedback")
      .description("record the user's true response to a query; every --align-every feedbacks, align the persona")
      .requiredOption("--user <id>", "user id")
      .requiredOption("--query <text>", "the query")
      .requiredOption("--truth <text>", "the user's true response")
      .option("--align-every <n>", "run alignment after this many new feedbacks", intOption("--align-every", 1), 3)
      .option("--json", 'print {"user", "sinceAlignment", "alignment": {...} | null}'),
  ).action(async (opts: AlignOptions & { user: string; query: string; truth: string; alignEvery: number; json?: boolean }, command: Command) => {
    const [{ validateQuery }, { validateText }, { FeedbackLog }, { describeAlignment }, { describeProviderError }, { align, withUser }, { UserForgottenError }] = await Promise.all([
      import("../../agent/nodes.js"),
      import("../../memory/history.js"),
      import("../../alignment/feedback-log.js"),
      import("../../alignment/run.js"),
      import("../../models/chat.js"),
      import("../session.js"),
      import("../../store/lifecycle.js"),
    ]);
    const query = validateQuery(opts.query);
    const truth = validateText(opts.truth, "the true response (--truth)");
    const out = await withUser(command, opts.user, {}, async (services, persistence) => {
      if (!(await services.personas.current(opts.user))) {
        throw new UserError(`unknown user "${opts.user}": no persona yet (run persona-agent ingest first)`);
      }
      await services.memory.add(opts.user, [{ query, response: truth, timestamp: new Date().toISOString() }]);
      const sinceAlignment = await new FeedbackLog(persistence.store).add(opts.user);
      // The feedback is stored before alignment runs: if alignment fails, say so, so that the
      // user retries the alignment and not the feedback (which would store it twice).
      const alignment =
        sinceAlignment >= opts.alignEvery
          ? await align(services, persistence, opts).catch((error: unknown) => {
              if (error instanceof UserForgottenError) throw error; // nothing of the feedback is left to retry
              const reason = error instanceof UserError ? error.message : (describeProviderError(error) ?? String((error as Error)?.message ?? error));
              throw new UserError(`feedback recorded, but alignment failed: ${reason.replace(/^alignment failed: /, "")} (retry with persona-agent align --user ${opts.user})`, 3);
            })
          : null;
      return { user: opts.user, sinceAlignment, alignment };
    });
    print(
      Boolean(opts.json),
      out,
      out.alignment
        ? `feedback recorded; ${out.sinceAlignment} since the last alignment, so ${describeAlignment(out.alignment)}`
        : `feedback recorded (${out.sinceAlignment} of ${opts.alignEvery} before the next alignment)`,
    );
  });
}
