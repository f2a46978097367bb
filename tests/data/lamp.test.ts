import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../../src/errors/errors.js";
import {
  LAMP_LABELS,
  loadLamp,
  loadLampOutputs,
  loadLampQuestions,
  populationPapers,
  profileInteractions,
  questionInput,
  taskPrompt,
  type LampProfileItem,
} from "../../apps/eval/data/lamp.js";

/** Real LaMP records, kept in the repository as test fixtures. */
const SAMPLES = fileURLToPath(new URL("../fixtures/lamp-samples/", import.meta.url));
const L1_Q = join(SAMPLES, "LaMP_1_train_questions.json");
const L1_O = join(SAMPLES, "LaMP_1_train_outputs.json");
const L2N_Q = join(SAMPLES, "LaMP_2N_train_questions.json");
const L2N_O = join(SAMPLES, "LaMP_2N_train_outputs.json");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lamp-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileNo = 0;
async function tempJson(content: unknown): Promise<string> {
  const path = join(dir, `f${fileNo++}.json`);
  await writeFile(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

async function userError(fn: () => Promise<unknown>): Promise<string> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  return (err as Error).message;
}

describe("real LaMP sample files", () => {
  it("loads LaMP-1 questions with their profiles", async () => {
    const qs = await loadLampQuestions(L1_Q);
    expect(qs.map((q) => q.id)).toEqual(["000", "001", "002"]);
    expect(qs.map((q) => q.profile.length)).toEqual([117, 50, 128]);
    expect(qs[0]!.input).toMatch(
      /^For an author who has written the paper with the title "Algorithms for routing around a rectangle"/,
    );
    expect(qs[0]!.profile[0]).toMatchObject({
      id: "0000",
      title: "Convex Drawings of Internally Triconnected Plane Graphs on O(n2) Grids",
    });
    expect(qs[1]!.profile.at(-1)!.id).toBe("00149");
    for (const item of qs.flatMap((q) => q.profile))
      expect(Object.keys(item).sort()).toEqual(["abstract", "id", "title"]);
  });

  it("loads LaMP-1 outputs", async () => {
    const { task, golds } = await loadLampOutputs(L1_O);
    expect(task).toBe("LaMP_1");
    expect([...golds]).toEqual([
      ["000", "[1]"],
      ["001", "[1]"],
      ["002", "[2]"],
    ]);
  });

  it("joins LaMP-2N questions with golds, all within the label set", async () => {
    const examples = await loadLamp(L2N_Q, L2N_O);
    expect(examples.map((e) => [e.id, e.output, e.profile.length])).toEqual([
      ["100", "business", 4],
      ["101", "style & beauty", 18],
      ["102", "style & beauty", 18],
      ["103", "entertainment", 18],
    ]);
    const labels = LAMP_LABELS["lamp-2n"]!;
    for (const e of examples) {
      expect(labels).toContain(e.output);
      for (const item of e.profile) expect(labels).toContain(item.category);
    }
    const l1 = await loadLamp(L1_Q, L1_O);
    for (const e of l1) expect(LAMP_LABELS["lamp-1"]).toContain(e.output);
  });

  it("uses the LaMP-2N category list exactly as the dataset's prompts give it", async () => {
    const [q] = await loadLampQuestions(L2N_Q);
    const listed = /categories: \[([^\]]*)\]/.exec(q!.input)![1]!.split(", ");
    expect(LAMP_LABELS["lamp-2n"]).toEqual(listed);
  });

  it("turns real LaMP-2N profile items into questions asked exactly as the file's own test questions are", async () => {
    const [n] = await loadLampQuestions(L2N_Q);
    const [entry] = await profileInteractions("lamp-2n", n!.id, n!.profile);
    const article =
      "The three make a trip of atypical opera themes, but no new opera brought the Met as much controversy as Klinghoffer.";
    // Same instruction and category list as the test question; only the article differs. Both are
    // asked with the task's answer-format line (taskPrompt), as every method asks test queries.
    const prefix = n!.input.slice(0, n!.input.indexOf("article: ") + "article: ".length);
    expect(entry).toEqual({
      query: await taskPrompt("lamp-2n", `${prefix}${article}`),
      response: "culture & arts",
      metadata: {
        id: "1000",
        content: `article: ${article} category: culture & arts`,
        document: `article: ${article} category: culture & arts\n`,
      },
    });
    expect(entry!.query).toMatch(
      /article: The three make .*Klinghoffer\.\n\nAnswer with exactly one of these categories and nothing else: women, religion, .*, food & drink\.$/s,
    );
    expect(questionInput("lamp-2n", n!.input)).toMatch(/^It's hard to find a restaurant/);
  });

  it("builds LaMP-1 questions from real papers: the user's paper, a positive and another user's paper", async () => {
    const [a, b] = await loadLampQuestions(L1_Q);
    const users = [a!, b!].map((q) => ({ id: q.id, profile: q.profile }));
    const papers = populationPapers("lamp-1", users)!;
    const entries = await profileInteractions("lamp-1", a!.id, a!.profile, { otherPapers: papers, seed: 0 });
    expect(entries).toHaveLength(a!.profile.length);
    const own = new Set(a!.profile.map((p) => p.title as string));
    const others = new Set(b!.profile.map((p) => p.title as string));
    const format =
      /^For an author who has written the paper with the title "(.*)", which reference is related\? Just answer with \[1\] or \[2\] without explanation\. \[1\]: "(.*)" \[2\]: "(.*)"\n\nAnswer with exactly "\[1\]" or "\[2\]" and nothing else\.$/s;
    // The test question, as every method asks it, has exactly this form.
    expect(await taskPrompt("lamp-1", a!.input)).toMatch(format);
    for (const [i, entry] of entries.entries()) {
      const [, title, first, second] = format.exec(entry.query)!;
      expect(title).toBe(a!.profile[i]!.title);
      const [positive, negative] = entry.response === "[1]" ? [first, second] : [second, first];
      expect(own.has(positive!)).toBe(true); // no reference lists in LaMP's files: the user's own neighbouring paper
      expect(others.has(negative!)).toBe(true);
      // What is embedded and summarized: OPPU's record of the paper and the reference it cites.
      expect(entry.metadata).toMatchObject({
        id: a!.profile[i]!.id,
        citation: "own-paper",
        content: `paper title: ${title} reference: ${positive}`,
      });
    }
    // Both orders occur, and the same seed gives the same questions.
    expect(new Set(entries.map((e) => e.response))).toEqual(new Set(["[1]", "[2]"]));
    expect(await profileInteractions("lamp-1", a!.id, a!.profile, { otherPapers: papers, seed: 0 })).toEqual(entries);
    expect(await profileInteractions("lamp-1", a!.id, a!.profile, { otherPapers: papers, seed: 1 })).not.toEqual(
      entries,
    );
  });
});

describe("LAMP_LABELS", () => {
  it("has the benchmark's label sets", () => {
    expect(LAMP_LABELS["lamp-1"]).toEqual(["[1]", "[2]"]);
    expect(LAMP_LABELS["lamp-3"]).toEqual(["1", "2", "3", "4", "5"]);
    expect(LAMP_LABELS["lamp-2m"]).toHaveLength(15);
    expect(LAMP_LABELS["lamp-2m"]).toEqual(
      expect.arrayContaining(["sci-fi", "based on a book", "twist ending", "true story"]),
    );
    expect(new Set(LAMP_LABELS["lamp-2m"]).size).toBe(15);
    expect(LAMP_LABELS["lamp-2n"]).toHaveLength(15);
    expect(new Set(LAMP_LABELS["lamp-2n"]).size).toBe(15);
  });
});

describe("profileInteractions", () => {
  it("writes LaMP-2M items as the task's question with its tag list; the timestamp from date", async () => {
    const item: LampProfileItem = {
      id: "m1",
      description: "A hacker learns reality is a simulation.",
      tag: "sci-fi",
      date: "2015-06-01",
    };
    const tags = LAMP_LABELS["lamp-2m"]!.join(", ");
    expect(await profileInteractions("lamp-2m", "u", [item])).toEqual([
      {
        query: `Which tag does this movie relate to among the following tags? Just answer with the tag name without further explanation. tags: [${tags}] description: A hacker learns reality is a simulation.\n\nAnswer with exactly one of these tags and nothing else: ${tags}.`,
        response: "sci-fi",
        timestamp: "2015-06-01T00:00:00.000Z",
        metadata: {
          id: "m1",
          content: "description: A hacker learns reality is a simulation. tag: sci-fi",
          document: "description: A hacker learns reality is a simulation. tag: sci-fi\n",
        },
      },
    ]);
    // Undated: no timestamp (memory then shows no date).
    expect((await profileInteractions("lamp-2m", "u", [{ ...item, date: undefined }]))[0]).not.toHaveProperty(
      "timestamp",
    );
  });

  it("writes LaMP-3 reviews as the rating question, accepting numeric scores and bare-year dates", async () => {
    const [entry] = await profileInteractions("lamp-3", "u", [
      { id: "r1", text: "Great blender.", score: 4, date: 2009 },
    ]);
    expect(entry).toEqual({
      query:
        "What is the score of the following review on a scale of 1 to 5? just answer with 1, 2, 3, 4, or 5 without further explanation. review: Great blender.\n\nAnswer with a single score, one of 1, 2, 3, 4 or 5, and nothing else.",
      response: "4",
      timestamp: "2009-01-01T00:00:00.000Z",
      metadata: { id: "r1", content: "review: Great blender. score: 4", document: "review: Great blender. score: 4\n" },
    });
  });

  it("uses a LaMP-1 item's real citation when the data has one (OPPU's processed files)", async () => {
    const profile = [{ id: "p1", title: "Deep nets", abstract: "We ...", citation: "Backprop revisited" }];
    const [entry] = await profileInteractions("lamp-1", "u", profile, { otherPapers: [["v", "Bird songs"]] });
    expect(entry!.query).toContain('"Backprop revisited"');
    expect(entry!.query).toContain('"Bird songs"');
    expect(entry!.metadata).toMatchObject({ citation: "real" });
  });

  it("skips LaMP-1 items with no possible candidates (no other user's paper, no positive)", async () => {
    const profile = [
      { id: "p1", title: "A", abstract: "x" },
      { id: "p2", title: "B", abstract: "y" },
    ];
    expect(await profileInteractions("lamp-1", "u", profile)).toEqual([]);
    expect(await profileInteractions("lamp-1", "u", profile.slice(0, 1), { otherPapers: [["v", "C"]] })).toEqual([]);
  });

  it("rejects a missing task field, naming the item id and field", async () => {
    await expect(profileInteractions("lamp-1", "u", [{ id: "0007" }], { otherPapers: [["v", "C"]] })).rejects.toThrow(
      new UserError('lamp-1 profile item "0007": "title" must be a non-empty string'),
    );
    await expect(
      profileInteractions("lamp-2n", "u", [{ id: "9", title: "T", text: "", category: "crime" }]),
    ).rejects.toThrow('lamp-2n profile item "9": "text" must be a non-empty string');
  });

  it("rejects an invalid date", async () => {
    await expect(
      profileInteractions("lamp-2m", "u", [{ id: "m2", description: "d", tag: "classic", date: "someday" }]),
    ).rejects.toThrow('lamp-2m profile item "m2": invalid "date" "someday"');
  });
});

describe("malformed question files", () => {
  const good = { id: "a", input: "in", profile: [{ id: "p1", text: "t" }] };
  it.each<[string, unknown, string]>([
    ["not JSON", "[{", ": not valid JSON ("],
    ["not an array", { id: "a" }, ": expected a JSON array of questions, got object"],
    ["a missing input", [good, { id: "b", profile: [] }], ': question 1 (id "b"): missing "input"'],
    ["an empty input", [good, { id: "b", input: "", profile: [] }], ': question 1 (id "b"): "input" must not be empty'],
    [
      "a non-array profile",
      [good, { id: "b", input: "x", profile: {} }],
      ': question 1 (id "b"): "profile" must be an array, got object',
    ],
    [
      "a profile item without id",
      [{ ...good, profile: [{ id: "p1" }, { text: "t" }] }],
      ': question 0 (id "a"): missing "profile[1].id"',
    ],
    [
      "a numeric profile id",
      [{ ...good, profile: [{ id: 7 }] }],
      ': question 0 (id "a"): "profile[0].id" must be a string, got number',
    ],
    ["a missing question id", [good, { input: "x", profile: [] }], ': question 1: missing "id"'],
    ["a non-object record", [good, "x"], ": question 1: expected an object, got string"],
    ["a duplicate id", [good, { ...good, input: "other" }], ': question 1 (id "a"): duplicate id (also question 0)'],
  ])("rejects %s, naming file and record", async (_, content, suffix) => {
    const path = await tempJson(content);
    const msg = await userError(() => loadLampQuestions(path));
    expect(msg.startsWith(path + suffix)).toBe(true);
  });

  it("reports a missing file", async () => {
    const path = join(dir, "missing.json");
    expect(await userError(() => loadLampQuestions(path))).toBe(`cannot read ${path}: no such file`);
  });
});

describe("malformed output files", () => {
  it.each<[string, unknown, string]>([
    ["not JSON", "{", ": not valid JSON ("],
    ["an array", [], ': expected {"task", "golds": [...]}: got an array'],
    ["missing golds", { task: "LaMP_1" }, ': expected {"task", "golds": [...]}: missing "golds"'],
    [
      "non-array golds",
      { task: "LaMP_1", golds: {} },
      ': expected {"task", "golds": [...]}: "golds" must be an array, got object',
    ],
    [
      "a gold without output",
      { task: "t", golds: [{ id: "1", output: "x" }, { id: "2" }] },
      ': gold 1 (id "2"): missing "output"',
    ],
    [
      "a duplicate gold id",
      {
        task: "t",
        golds: [
          { id: "1", output: "x" },
          { id: "1", output: "y" },
        ],
      },
      ': gold 1 (id "1"): duplicate id (also gold 0)',
    ],
  ])("rejects %s, naming file and record", async (_, content, suffix) => {
    const path = await tempJson(content);
    const msg = await userError(() => loadLampOutputs(path));
    expect(msg.startsWith(path + suffix)).toBe(true);
  });
});

describe("loadLamp", () => {
  it("rejects a question without a gold, naming its id", async () => {
    const golds = await tempJson({
      task: "LaMP_1",
      golds: [
        { id: "000", output: "[1]" },
        { id: "001", output: "[2]" },
      ],
    });
    expect(await userError(() => loadLamp(L1_Q, golds))).toBe(
      `${golds}: no gold output for question id "002" (from ${L1_Q})`,
    );
  });

  it("ignores golds that have no question", async () => {
    const questions = await tempJson([{ id: "x", input: "in", profile: [] }]);
    const golds = await tempJson({
      task: "t",
      golds: [
        { id: "x", output: "1" },
        { id: "y", output: "2" },
      ],
    });
    expect(await loadLamp(questions, golds)).toEqual([{ id: "x", input: "in", profile: [], output: "1" }]);
  });
});
