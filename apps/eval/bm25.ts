/**
 * BM25 ranking exactly as rank_bm25's `BM25Okapi` computes it (the retriever of LaMP's and OPPU's
 * RAG baselines; OPPU.py: `BM25Okapi(tokenized_corpus).get_top_n(tokenized_query, docs, n=k)`).
 * LangChain's BM25Retriever scores differently (it lower-cases the query but not the documents
 * and counts substring matches), so it cannot stand in for it.
 *
 * - idf(t) = ln(N - n(t) + 0.5) - ln(n(t) + 0.5); a negative idf is replaced by
 *   epsilon x the mean idf over the corpus's terms (rank_bm25's floor).
 * - score(d, q) = sum over the query's tokens (repeats count) of
 *   idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |d| / avgdl)); a token no document has adds 0.
 * - The arithmetic is done in rank_bm25's order and the logarithms are correctly rounded, as C's
 *   `log` (which Python's math.log calls) gives them; V8's Math.log is off by one unit in the last
 *   place for some arguments (ln 23.5), enough to reorder near-ties. So the scores are
 *   rank_bm25's to the last bit.
 * - Ties: the later document first. rank_bm25 takes `np.argsort(scores)[::-1]`, whose order among
 *   equal scores depends on numpy's sort (not stable: on AVX-512 machines it differs from document
 *   order already for 5 documents); we use the reverse of a stable sort, which is what that
 *   expression gives when argsort keeps equal scores in document order.
 */
/** Fixed-point precision of `ln`: far more bits than a double keeps, so the final rounding is the correct one. */
const BITS = 128n;

/** 2 atanh((a - b) / (a + b)) = ln(a / b), in fixed point; converges fast for a / b in [1/2, 2]. */
function lnRatio(a: bigint, b: bigint): bigint {
  const z = ((a - b) << BITS) / (a + b);
  const z2 = (z * z) >> BITS;
  let sum = 0n;
  for (let power = z, k = 1n; power !== 0n; power = (power * z2) >> BITS, k += 2n) sum += power / k;
  return 2n * sum;
}

const LN2 = lnRatio(2n, 1n);

const logs = new Map<number, number>();

/** ln(x) for x = m + 0.5 (m >= 0 an integer, what BM25's idf takes), correctly rounded to a double; memoized (arguments are at most the corpus size). */
function lnHalfInteger(x: number): number {
  const known = logs.get(x);
  if (known !== undefined) return known;
  const numerator = BigInt(2 * x); // x = numerator / 2
  const shift = BigInt(numerator.toString(2).length - 1); // numerator / 2^shift is in [1, 2)
  const fixed = (shift - 1n) * LN2 + lnRatio(numerator, 1n << shift);
  const value = Number(fixed) / 2 ** Number(BITS); // Number() rounds to nearest; dividing by 2^128 is exact
  logs.set(x, value);
  return value;
}

export interface BM25Options {
  k1?: number;
  b?: number;
  epsilon?: number;
}

export class BM25Okapi {
  private readonly k1: number;
  private readonly b: number;
  private readonly docFreqs: Map<string, number>[];
  private readonly docLengths: number[];
  private readonly avgdl: number;
  private readonly idf = new Map<string, number>();

  /** `corpus`: each document's tokens (e.g. `text.split(" ")`, as OPPU tokenizes). */
  constructor(corpus: readonly (readonly string[])[], options: BM25Options = {}) {
    if (corpus.length === 0) throw new Error("BM25 needs at least one document");
    this.k1 = options.k1 ?? 1.5;
    this.b = options.b ?? 0.75;
    const epsilon = options.epsilon ?? 0.25;
    // Number of documents containing each term, in order of first appearance (Python's dict order:
    // the mean idf is summed in that order).
    const containing = new Map<string, number>();
    let tokens = 0;
    this.docLengths = corpus.map((doc) => doc.length);
    this.docFreqs = corpus.map((doc) => {
      tokens += doc.length;
      const freqs = new Map<string, number>();
      for (const token of doc) freqs.set(token, (freqs.get(token) ?? 0) + 1);
      for (const token of freqs.keys()) containing.set(token, (containing.get(token) ?? 0) + 1);
      return freqs;
    });
    this.avgdl = tokens / corpus.length;
    const n = corpus.length;
    let idfSum = 0;
    const negative: string[] = [];
    for (const [token, count] of containing) {
      const idf = lnHalfInteger(n - count + 0.5) - lnHalfInteger(count + 0.5);
      this.idf.set(token, idf);
      idfSum += idf;
      if (idf < 0) negative.push(token);
    }
    const floor = epsilon * (idfSum / this.idf.size);
    for (const token of negative) this.idf.set(token, floor);
  }

  /** Every document's score for the query's tokens, in document order. */
  scores(query: readonly string[]): number[] {
    const { k1, b, avgdl } = this;
    const scores = this.docFreqs.map(() => 0);
    for (const token of query) {
      const idf = this.idf.get(token) ?? 0;
      this.docFreqs.forEach((freqs, i) => {
        const tf = freqs.get(token) ?? 0;
        scores[i]! += idf * ((tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * this.docLengths[i]!) / avgdl)));
      });
    }
    return scores;
  }

  /** Indices of the `n` best documents, best first (ties: the later document first). */
  topN(query: readonly string[], n: number): number[] {
    const scores = this.scores(query);
    return scores
      .map((score, i) => ({ score, i }))
      .sort((x, y) => y.score - x.score || y.i - x.i)
      .slice(0, n)
      .map(({ i }) => i);
  }
}
