import { classificationMetrics, parseScore, regressionMetrics, scoreTask } from "../../apps/eval/metrics.js";
import { memoryBankRetrieve, retention } from "../../apps/eval/membank.js";
import { jaccard, wordSet } from "../../apps/eval/report.js";

describe("LaMP classification metrics (sklearn macro F1 over all labels)", () => {
  it("matches hand-computed accuracy and macro F1, counting labels never predicted nor gold as 0", () => {
    // labels a,b,c,d. gold: a a b c ; pred: a b b x(invalid)
    // a: tp1 fp0 fn1 -> P1 R.5 F 2/3 ; b: tp1 fp1 fn0 -> P.5 R1 F 2/3 ; c: tp0 fn1 -> 0 ; d: never -> 0
    const m = classificationMetrics(["a", "b", "b", "x"], ["a", "a", "b", "c"], ["a", "b", "c", "d"]);
    expect(m.accuracy).toBeCloseTo(0.5, 12);
    expect(m.f1).toBeCloseTo((2 / 3 + 2 / 3) / 4, 12);
  });

  it("strips whitespace like LaMP but does not lower-case (LaMP's eval compares exact labels)", () => {
    const m = classificationMetrics(["  sci-fi\n", "Comedy"], ["sci-fi", "comedy"], ["sci-fi", "comedy"]);
    expect(m.accuracy).toBe(0.5);
    // sci-fi F1 1; comedy: tp0 fn1 -> 0
    expect(m.f1).toBeCloseTo(0.5, 12);
  });

  it("scores an invalid output as wrong for every label (index -1, never gold)", () => {
    const m = scoreTask("lamp-1", ["[3]", "I think [1]"], ["[1]", "[2]"]);
    expect(m).toEqual({ accuracy: 0, f1: 0 });
    expect(scoreTask("lamp-1", ["[1]", "[2]"], ["[1]", "[2]"])).toEqual({ accuracy: 1, f1: 1 });
  });
});

describe("LaMP-3 metrics", () => {
  it("parses like Python float() and maps a non-number to the farther of 1 and 5", () => {
    expect(parseScore(" 4 ", "1")).toBe(4);
    expect(parseScore("4.5", "1")).toBe(4.5);
    expect(parseScore("2e0", "1")).toBe(2);
    expect(parseScore("four", "2")).toBe(5); // |1-2| = 1 < |5-2| = 3 -> 5
    expect(parseScore("four", "4")).toBe(1);
    expect(parseScore("", "3")).toBe(5); // tie keeps 5, as LaMP's `else` branch
  });

  it("matches hand-computed MAE and RMSE, invalid outputs included", () => {
    // errors: |5-5|=0, |3-1|=2, invalid vs gold 2 -> 5, |5-2|=3, |4-4|=0
    const m = regressionMetrics(["5", "3", "n/a", "4"], ["5", "1", "2", "4"]);
    expect(m.mae).toBeCloseTo(5 / 4, 12);
    expect(m.rmse).toBeCloseTo(Math.sqrt((0 + 4 + 9 + 0) / 4), 12);
  });
});

describe("protocol helpers", () => {
  it("word-set Jaccard", () => {
    expect(jaccard(wordSet("Likes sci-fi, likes films"), wordSet("likes films"))).toBeCloseTo(2 / 4, 12); // {likes, sci, fi, films}
    expect(jaccard(wordSet(""), wordSet(""))).toBe(1);
  });
});

describe("MemoryBank forgetting curve", () => {
  it("R = exp(-t / (5 S))", () => {
    expect(retention(0, 1)).toBe(1);
    expect(retention(5, 1)).toBeCloseTo(Math.exp(-1), 12);
    expect(retention(10, 2)).toBeCloseTo(Math.exp(-1), 12);
  });

  it("forgets old memories nobody recalled, keeps recalled ones", () => {
    const a = [1, 0],
      b = [0, 1];
    // 20 items: item 0 is `a`, the rest `b`. At t=20, item 0 (S=1, t=20) has R = e^-4 < 0.1: forgotten.
    const history = [a, ...Array.from({ length: 19 }, () => b)];
    expect(memoryBankRetrieve(history, a, 1)).not.toContain(0);
    // Recall `a` now and then (every 8 items an `a` arrives): item 0 keeps being strengthened.
    const rehearsed = Array.from({ length: 20 }, (_, i) => (i % 8 === 0 ? a : b));
    expect(memoryBankRetrieve(rehearsed, a, 3)).toEqual([16, 8, 0]);
  });
});
