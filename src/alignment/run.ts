/** What `align --json` and `feedback --json` report about one alignment run. */
import type { AlignmentStateType, Gradient, Validation } from "./state.js";

export interface AlignmentSummary {
  user: string;
  fromVersion: number;
  toVersion: number;
  iterations: { version: number; kept: boolean; feedback: Gradient[]; validation?: Validation }[];
  /** The gate's verdict on the last iteration (only with validation). */
  validated?: Validation;
}

export function summarizeAlignment(state: AlignmentStateType): AlignmentSummary {
  const last = state.iterations.at(-1);
  return {
    user: state.userId,
    fromVersion: state.fromVersion,
    toVersion: state.version,
    iterations: state.iterations,
    ...(last?.validation ? { validated: last.validation } : {}),
  };
}

export function describeAlignment(s: AlignmentSummary): string {
  const verdict = s.validated
    ? s.validated.kept
      ? ` (validated: ${s.validated.newScore.toFixed(2)} >= ${s.validated.oldScore.toFixed(2)} on ${s.validated.heldOut} held-out)`
      : `; the new persona scored ${s.validated.newScore.toFixed(2)} < ${s.validated.oldScore.toFixed(2)} on ${s.validated.heldOut} held-out interactions, so the old one stays`
    : "";
  const change =
    s.toVersion === s.fromVersion
      ? `persona stays at v${s.fromVersion}`
      : `persona v${s.fromVersion} -> v${s.toVersion}`;
  return `aligned user "${s.user}" in ${s.iterations.length} iteration(s): ${change}${verdict}`;
}
