/** `persona-agent feedback`: record the user's true response; align every --align-every feedbacks. */
import type { Command } from "commander";
import { DEFAULT_ALIGN_EVERY } from "../../../src/alignment/defaults.js";
import { UserError } from "../../../src/errors/errors.js";
import type { AlignOptions } from "../session.js";
import { cliMessage, intOption, print } from "../shared.js";
import { addAlignOptions } from "./align.js";

export function registerFeedback(program: Command): void {
  addAlignOptions(
    program
      .command("feedback")
      .description("record the user's true response to a query; every --align-every feedbacks, align the persona")
      .requiredOption("--user <id>", "user id")
      .requiredOption("--query <text>", "the query")
      .requiredOption("--truth <text>", "the user's true response")
      .option(
        "--align-every <n>",
        "run alignment after this many new feedbacks",
        intOption("--align-every", 1),
        DEFAULT_ALIGN_EVERY,
      )
      .option("--json", 'print {"user", "sinceAlignment", "alignment": {...} | null}'),
  ).action(
    async (
      opts: AlignOptions & { user: string; query: string; truth: string; alignEvery: number; json?: boolean },
      command: Command,
    ) => {
      const [
        { validateQuery, validateTruth },
        { recordFeedback },
        { describeAlignment },
        { describeProviderError },
        { AlignmentError },
        { align, alignmentConfiguration, withUser },
        { UserForgottenError },
      ] = await Promise.all([
        import("../../../src/agent/nodes.js"),
        import("../../../src/alignment/feedback.js"),
        import("../../../src/alignment/run.js"),
        import("../../../src/models/chat.js"),
        import("../../../src/errors/errors.js"),
        import("../session.js"),
        import("../../../src/store/lifecycle.js"),
      ]);
      /** An alignment that failed after the feedback was stored: say to retry the alignment, not the feedback (which would store it twice). A forget that won leaves nothing to retry. */
      const alignmentFailed = (error: unknown): UserError => {
        const reason =
          error instanceof AlignmentError
            ? `${error.step}: ${error.reason}; the alignment saved nothing, the persona stays at v${error.version}`
            : error instanceof UserError
              ? cliMessage(error)
              : (describeProviderError(error) ?? String((error as Error)?.message ?? error));
        return new UserError(
          `feedback recorded, but alignment failed: ${reason} (retry with persona-agent align --user ${opts.user})`,
          3,
        );
      };
      const feedback = { query: validateQuery(opts.query), truth: validateTruth(opts.truth, "--truth") };
      const out = await withUser(command, opts.user, {}, async (services, persistence) => {
        await alignmentConfiguration(services, opts); // alignment options past the bounds are refused before the feedback is stored
        const { sinceAlignment } = await recordFeedback(services, feedback, "--truth");
        const alignment =
          sinceAlignment >= opts.alignEvery
            ? await align(services, persistence, opts).catch((error: unknown) =>
                Promise.reject(error instanceof UserForgottenError ? error : alignmentFailed(error)),
              )
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
    },
  );
}
