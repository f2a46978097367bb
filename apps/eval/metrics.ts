/**
 * LaMP's own scoring (LaMP-Benchmark/LaMP, eval/evaluation.py), mirrored exactly:
 * - Answers and golds are only `strip()`ped; LaMP does not lower-case. An answer that is not
 *   exactly one of the task's labels maps to index -1, a class no gold has, so it counts as wrong.
 * - Macro F1 is sklearn's `f1_score(labels=range(len(all_labels)), average="macro")`: every label
 *   of the task counts, and a label with no gold and no prediction contributes F1 = 0.
 * - LaMP-3: `float(answer)`; if that fails, the answer becomes whichever of 1.0 / 5.0 is farther
 *   from the gold (the worst valid score). MAE and RMSE over those numbers.
 */
import { LAMP_LABELS, type LampTask } from "./data/lamp.js";

export interface ClassificationMetrics {
  accuracy: number;
  f1: number;
}
export interface RegressionMetrics {
  mae: number;
  rmse: number;
}
export type LampMetrics = ClassificationMetrics | RegressionMetrics;

/** Python's `str.strip()` (whitespace only). */
export const normalizeAnswer = (text: string): string => text.trim();

export function classificationMetrics(
  predictions: string[],
  golds: string[],
  labels: readonly string[],
): ClassificationMetrics {
  if (predictions.length !== golds.length) throw new Error("predictions and golds differ in length");
  const index = (x: string) => labels.indexOf(normalizeAnswer(x));
  const pred = predictions.map(index);
  const gold = golds.map(index);
  const n = gold.length;
  const correct = pred.filter((p, i) => p === gold[i]).length;
  let f1Sum = 0;
  for (let label = 0; label < labels.length; label++) {
    let tp = 0,
      fp = 0,
      fn = 0;
    for (let i = 0; i < n; i++) {
      if (pred[i] === label && gold[i] === label) tp++;
      else if (pred[i] === label) fp++;
      else if (gold[i] === label) fn++;
    }
    // sklearn: precision or recall with a zero denominator is 0 (zero_division default), so F1 is 0.
    const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
    const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
    f1Sum += precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  }
  return { accuracy: n === 0 ? 0 : correct / n, f1: labels.length === 0 ? 0 : f1Sum / labels.length };
}

/** Python `float()` syntax: decimal or exponent notation, inf/nan, surrounding whitespace. */
const PY_FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf(?:inity)?|nan)$/i;

export function parseScore(answer: string, gold: string): number {
  const text = normalizeAnswer(answer);
  if (PY_FLOAT.test(text)) {
    const lower = text.toLowerCase().replace(/^\+/, "");
    if (lower.endsWith("nan")) return NaN;
    if (lower.endsWith("inf") || lower.endsWith("infinity")) return lower.startsWith("-") ? -Infinity : Infinity;
    return Number(text);
  }
  const y = Number(normalizeAnswer(gold));
  return Math.abs(1 - y) > Math.abs(5 - y) ? 1 : 5;
}

export function regressionMetrics(predictions: string[], golds: string[]): RegressionMetrics {
  if (predictions.length !== golds.length) throw new Error("predictions and golds differ in length");
  const errors = predictions.map((p, i) => parseScore(p, golds[i]!) - parseScore(golds[i]!, golds[i]!));
  const n = errors.length || 1;
  return {
    mae: errors.reduce((s, e) => s + Math.abs(e), 0) / n,
    rmse: Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / n),
  };
}

export function isRegressionTask(task: LampTask): boolean {
  return task === "lamp-3";
}

export function scoreTask(task: LampTask, predictions: string[], golds: string[]): LampMetrics {
  return isRegressionTask(task)
    ? regressionMetrics(predictions, golds)
    : classificationMetrics(predictions, golds, LAMP_LABELS[task]!);
}

/** The headline metric of a task and whether higher is better (for plots and tables). */
export function primaryMetric(task: LampTask): { name: "accuracy" | "mae"; higherIsBetter: boolean } {
  return isRegressionTask(task) ? { name: "mae", higherIsBetter: false } : { name: "accuracy", higherIsBetter: true };
}
