/** Algorithm 1's defaults; a module of its own so `--help` can show them without loading LangGraph. */
/** The paper's n: latest interactions re-run per iteration. */
export const DEFAULT_BATCH_SIZE = 3;
/** The paper's E: rounds of simulate -> feedback -> update. */
export const DEFAULT_ITERATIONS = 1;
/** Feedbacks (true responses) between two alignments, when feedback triggers them. */
export const DEFAULT_ALIGN_EVERY = 3;
