/**
 * The paper's Tables 2 and 3 (PersonaAgent, Zhang et al. 2025, arXiv:2506.06254, Section 3;
 * Claude-3.5 Sonnet on Amazon Bedrock, 100 users per task), as data for the report's "paper"
 * columns, copied from the paper's tables: each line below is one column of Table 2 or one row
 * of Table 3, the paper's datasets in its order (LaMP-1, LaMP-2M, LaMP-2N, LaMP-3). A correction
 * must come from the paper; tests/eval/paper-results.test.ts pins the numbers and checks their
 * shape and what the paper says of them (PersonaAgent best everywhere, every ablation below it).
 */
import type { LampTask } from "./data/lamp.js";
import type { MethodName } from "./methods.js";

export type PaperMetrics = Record<string, number>;
export type PaperTable = Partial<Record<MethodName, Record<LampTask, PaperMetrics>>>;

const row = (
  l1: [number, number],
  l2m: [number, number],
  l2n: [number, number],
  l3: [number, number],
): Record<LampTask, PaperMetrics> => ({
  "lamp-1": { accuracy: l1[0], f1: l1[1] },
  "lamp-2m": { accuracy: l2m[0], f1: l2m[1] },
  "lamp-2n": { accuracy: l2n[0], f1: l2n[1] },
  "lamp-3": { mae: l3[0], rmse: l3[1] },
});

/**
 * Table 2: one method per line, the paper's columns Prompt, ICL (Non-Personalized), RAG-1,
 * RAG-4, PAG-4 (Personalized Workflow), ReAct, MemBank (General Agent), PersonaAgent; each
 * `row(...)` holds the paper's rows LaMP-1 Acc./F1, LaMP-2M Acc./F1, LaMP-2N Acc./F1, LaMP-3 MAE/RMSE.
 */
export const PAPER_TABLE2: PaperTable = {
  prompt: row([0.772, 0.771], [0.387, 0.302], [0.66, 0.386], [0.295, 0.59]),
  icl: row([0.78, 0.766], [0.283, 0.217], [0.388, 0.145], [0.277, 0.543]),
  "rag-1": row([0.683, 0.705], [0.32, 0.256], [0.687, 0.439], [0.304, 0.655]),
  "rag-4": row([0.715, 0.714], [0.427, 0.386], [0.742, 0.484], [0.313, 0.713]),
  "pag-4": row([0.837, 0.837], [0.43, 0.387], [0.768, 0.509], [0.339, 0.835]),
  react: row([0.837, 0.853], [0.45, 0.378], [0.639, 0.381], [0.313, 0.59]),
  membank: row([0.862, 0.861], [0.47, 0.391], [0.741, 0.456], [0.321, 0.582]),
  "persona-agent": row([0.919, 0.918], [0.513, 0.424], [0.796, 0.532], [0.241, 0.509]),
};

/**
 * Table 3 (ablations): one line per row of the paper (PersonaAgent, w/o alignment, w/o persona,
 * w/o Memory, w/o Action), its columns in the order of Table 2's rows.
 */
export const PAPER_TABLE3: PaperTable = {
  "persona-agent": PAPER_TABLE2["persona-agent"],
  "persona-agent-no-alignment": row([0.894, 0.893], [0.487, 0.403], [0.775, 0.502], [0.259, 0.56]),
  "persona-agent-no-persona": row([0.846, 0.855], [0.463, 0.361], [0.769, 0.483], [0.277, 0.542]),
  "persona-agent-no-memory": row([0.821, 0.841], [0.46, 0.365], [0.646, 0.388], [0.348, 0.661]),
  "persona-agent-no-action": row([0.764, 0.789], [0.403, 0.329], [0.626, 0.375], [0.375, 0.756]),
};
