/**
 * MemoryBank (Zhong et al. 2024) as a retrieval baseline: every memory decays along the
 * Ebbinghaus forgetting curve R = exp(-t / (5·S)).
 * Choices (documented in docs/EVAL.md):
 * - Time unit: one profile item. LaMP dates have mixed granularity (bare years in LaMP-1, days
 *   elsewhere) and the user-based split has none, so the i-th item of the user's history (oldest
 *   first) happens at time i and the test question at time n.
 * - Strength S starts at 1 and grows by 1 whenever the memory is recalled; t is the time since
 *   the last recall (or since the memory was made).
 * - Recalls: the history is replayed in time order and each new item recalls the one most similar
 *   earlier memory that is still retained, as a conversation with MemoryBank would, if it is
 *   related at all (cosine similarity >= `recallSimilarity`).
 * - Forgetting: a memory whose retention is below `threshold` is excluded from retrieval.
 */
export const MEMBANK_DEFAULTS = { threshold: 0.1, strengthScale: 5, replayRecalls: 1, recallSimilarity: 0.5 };

export function retention(elapsed: number, strength: number, strengthScale = MEMBANK_DEFAULTS.strengthScale): number {
  return Math.exp(-elapsed / (strengthScale * strength));
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

interface Trace {
  strength: number;
  lastRecall: number;
}

/** Retained memories (indices into `vectors`, oldest first) ranked by similarity, best first. */
function recall(
  vectors: number[][],
  traces: Trace[],
  now: number,
  query: number[],
  k: number,
  threshold: number,
  minSimilarity = -Infinity,
): number[] {
  return traces
    .map((trace, i) => ({ i, trace }))
    .filter(
      ({ trace, i }) =>
        retention(now - trace.lastRecall, trace.strength) >= threshold && dot(query, vectors[i]!) >= minSimilarity,
    )
    .sort((a, b) => dot(query, vectors[b.i]!) - dot(query, vectors[a.i]!) || b.i - a.i)
    .slice(0, k)
    .map(({ i }) => i);
}

/**
 * Replays a history (unit vectors, oldest first) and returns the indices of the top-`k`
 * memories still retained when the query comes, most similar first.
 */
export function memoryBankRetrieve(
  vectors: number[][],
  query: number[],
  k: number,
  options = MEMBANK_DEFAULTS,
): number[] {
  const traces: Trace[] = [];
  vectors.forEach((vector, now) => {
    for (const i of recall(
      vectors,
      traces,
      now,
      vector,
      options.replayRecalls,
      options.threshold,
      options.recallSimilarity,
    )) {
      traces[i] = { strength: traces[i]!.strength + 1, lastRecall: now };
    }
    traces.push({ strength: 1, lastRecall: now });
  });
  return recall(vectors, traces, vectors.length, query, k, options.threshold);
}
