/**
 * Issue #19 item 4: RAG ranks with rank_bm25's BM25Okapi over OPPU's documents and queries. The
 * expected scores are computed here by hand from the formula (k1 = 1.5, b = 0.75, epsilon = 0.25).
 */
import { BM25Okapi } from "../../apps/eval/bm25.js";
import {
  firstTokens,
  LAMP_LABELS,
  questionInput,
  retrievalDocument,
  retrievalQuery,
} from "../../apps/eval/data/lamp.js";
import { syntheticQuestion } from "../../apps/eval/synthetic.js";

const tokens = (text: string) => text.split(" ");

describe("BM25Okapi (rank_bm25's semantics)", () => {
  // N = 3 documents, 15 tokens: avgdl = 5.
  const corpus = ["Trump wins the Electoral College", "the cat sat on the mat", "Electoral reform at last"].map(tokens);
  const bm25 = new BM25Okapi(corpus);
  // A term in 1 of 3 documents: ln(3 - 1 + 0.5) - ln(1 + 0.5) = ln(5/3). In 2 of 3: ln(1.5) - ln(2.5) < 0,
  // replaced by 0.25 x the mean idf; the mean over the 12 terms (10 at ln(5/3), 2 at -ln(5/3)) is 8/12 ln(5/3).
  const rare = Math.log(5 / 3);
  const floor = 0.25 * ((8 / 12) * rare);
  // tf * (k1 + 1) / (tf + k1 * (1 - b + b * |d| / avgdl)), with k1 = 1.5, b = 0.75.
  const weight = (tf: number, length: number) => (tf * 2.5) / (tf + 1.5 * (0.25 + (0.75 * length) / 5));

  it("scores by the formula: idf with rank_bm25's floor, length normalization, case kept, whole tokens", () => {
    const scores = bm25.scores(tokens("Trump Electoral"));
    expect(scores[0]).toBeCloseTo(rare * weight(1, 5) + floor * weight(1, 5), 14);
    expect(scores[1]).toBe(0);
    expect(scores[2]).toBeCloseTo(floor * weight(1, 4), 14);
    expect(bm25.topN(tokens("Trump Electoral"), 2)).toEqual([0, 2]);
    // Case is kept (LangChain's BM25Retriever lower-cases the query only and scored this 0).
    expect(bm25.scores(tokens("trump electoral"))).toEqual([0, 0, 0]);
    // Whole tokens: "at" is a word of document 2, not a part of cat, sat, mat.
    expect(bm25.scores(tokens("at")).map((s) => s > 0)).toEqual([false, false, true]);
    // A repeated query token counts each time; "the" (twice in document 1) is floored like Electoral.
    expect(bm25.scores(tokens("Trump Trump"))[0]).toBeCloseTo(2 * rare * weight(1, 5), 14);
    expect(bm25.scores(tokens("the"))[1]).toBeCloseTo(floor * weight(2, 6), 14);
  });

  it("a zero idf stays zero, and a negative mean makes the floor negative (rank_bm25 does the same)", () => {
    const small = new BM25Okapi([tokens("a b"), tokens("a c")]);
    // b: ln(2 - 1 + 0.5) - ln(1.5) = 0. a: ln(0.5) - ln(2.5) < 0 -> 0.25 x mean(ln(0.2), 0, 0).
    expect(small.scores(tokens("b"))).toEqual([0, 0]);
    const a = 0.25 * (Math.log(0.2) / 3);
    expect(small.scores(tokens("a"))[0]).toBeCloseTo(a * weight(1, 2 * 2.5), 14); // |d| = avgdl = 2: the weight is 1
    expect(a).toBeLessThan(0);
  });

  it("ties: the later document first (np.argsort(scores)[::-1] with equal scores kept in document order)", () => {
    expect(bm25.topN(tokens("nothing matches"), 3)).toEqual([2, 1, 0]);
    const twins = new BM25Okapi(["x y", "z w", "x y", "u v", "s t"].map(tokens));
    expect(twins.topN(tokens("x"), 5)).toEqual([2, 0, 4, 3, 1]);
  });
});

describe("OPPU's BM25 documents and queries", () => {
  it("documents: OPPU's template over fields cut to their first 368 tokens, with its closing newline", async () => {
    const long = Array.from({ length: 400 }, (_, i) => `w${i}`).join("  ");
    expect(await retrievalDocument("lamp-2m", { id: "1", description: long, tag: "comedy" })).toBe(
      `description: ${Array.from({ length: 368 }, (_, i) => `w${i}`).join(" ")} tag: comedy\n`,
    );
    expect(await retrievalDocument("lamp-1", { id: "2", title: "Deep\tnets", abstract: "We ..." })).toBe(
      "paper title: Deep nets\n",
    );
    expect(await retrievalDocument("lamp-2n", { id: "3", text: "A story.", title: "T", category: "crime" })).toBe(
      "article: A story. category: crime\n",
    );
    expect(await retrievalDocument("lamp-3", { id: "4", text: "Fine.", score: 4 })).toBe("review: Fine. score: 4\n");
  });

  it("queries: OPPU's templates verbatim (spelling included) around what the question asks about", async () => {
    const ask = (task: "lamp-1" | "lamp-2m" | "lamp-2n" | "lamp-3", text: string) =>
      retrievalQuery(task, syntheticQuestion(task, text, "Other"));
    expect(await ask("lamp-1", "Routing around a rectangle")).toBe(
      "Identify the most relevant reference for the listed publication by the researcher. Select the reference paper that is most closely related to the researcher's work. Please respond with only the number that corresponds to the reference.\npaper title: Routing around a rectangle",
    );
    expect(await ask("lamp-2m", "A heist.")).toBe(
      "Which tag does this movie relate to among the following tags? Just answer with the tag name without further explanation.\n description: A heist.",
    );
    expect(await ask("lamp-2n", "A story.")).toBe(
      "Which category does this article relate to among the following categories? arcicle: A story.",
    );
    expect(await ask("lamp-3", "Fine.")).toBe(
      "What is the score of the following review on a scale of 1 to 5? review: Fine.",
    );
  });

  it("extracts the test article as OPPU's utils.py does: the first marker after the label list", () => {
    const tags = LAMP_LABELS["lamp-2m"]!.join(", ");
    expect(
      questionInput("lamp-2m", `Which tag ... tags: [${tags}] description: A film whose description: says more.`),
    ).toBe("A film whose description: says more.");
    expect(questionInput("lamp-1", syntheticQuestion("lamp-1", "Graphs", "Other"))).toBe("Graphs");
  });

  it("cuts on Python's whitespace (str.split()), not on zero-width spaces", () => {
    expect(firstTokens("a\u00a0b\u0085c\u3000d\u200be", 10)).toBe("a b c d\u200be");
    expect(firstTokens("  a  b c ", 2)).toBe("a b");
    expect(firstTokens("", 3)).toBe("");
  });
});
