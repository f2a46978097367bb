/**
 * Issue #19 items 1-3: LaMP's question files (no user ids, question-prefixed item ids) become the
 * paper's persons: questions grouped by shared profile content, one profile per person without
 * any of the person's own test items, nothing dated after the first query, the most active first.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  itemInput,
  loadLamp,
  normalizeText,
  questionInput,
  type LampExample,
  type LampTask,
} from "../../apps/eval/data/lamp.js";
import { checkNoLeaks, lampToUsers, selectActiveUsers, type EvalUser } from "../../apps/eval/data/oppu.js";
import { SAME_PERSON_SHARE } from "../../apps/eval/data/persons.js";
import { generateExamples } from "../../apps/eval/synthetic.js";
import { FIXTURE_POPULATION, lampPersonsFixture, PERSONS } from "../../testing/lamp-persons.js";

const SAMPLES = fileURLToPath(new URL("../fixtures/lamp-samples/", import.meta.url));
const TASKS: LampTask[] = ["lamp-1", "lamp-2m", "lamp-2n", "lamp-3"];

/** Profile items of `user` that one of the user's queries asks about. */
const leaks = (task: LampTask, user: EvalUser) => {
  const asked = new Set(user.queries.map((q) => normalizeText(questionInput(task, q.input))));
  return user.profile.filter((item) => asked.has(itemInput(task, item)));
};

describe.each(TASKS)("%s persons fixture (LaMP's shapes)", (task) => {
  const fixture = lampPersonsFixture(task);
  const { users, summary } = lampToUsers(task, fixture.examples, "time");
  const userOf = (name: (typeof PERSONS)[number]) =>
    users.find((u) => u.queries.some((q) => q.id === fixture.persons[name][0]))!;

  it("one user per person, each with all of the person's questions in time order", () => {
    expect(users.map((u) => u.queries.map((q) => q.id))).toEqual(PERSONS.map((name) => fixture.persons[name]));
    expect(users.map((u) => u.id)).toEqual(PERSONS.map((name) => fixture.persons[name][0]));
    // The reader shares one of its five items with the journalist: 20 %, another person.
    expect(userOf("reader").queries).toHaveLength(1);
  });

  it("the profile is the union without the person's own test items; a leak-free file stays so", () => {
    for (const user of users) expect(leaks(task, user)).toEqual([]);
    // Before: every journalist question's profile holds the other two test articles with their labels.
    for (const id of fixture.persons.journalist) {
      const question = fixture.examples.find((e) => e.id === id)!;
      const asked = fixture.persons.journalist
        .filter((other) => other !== id)
        .map((other) => normalizeText(questionInput(task, fixture.examples.find((e) => e.id === other)!.input)));
      expect(question.profile.filter((item) => asked.includes(itemInput(task, item)))).toHaveLength(2);
    }
    // After: the six history items, once each (LaMP's ids differ per question; contents do not).
    const journalist = userOf("journalist");
    expect(journalist.profile).toHaveLength(6);
    expect(journalist.profile.map((item) => item.id)).toEqual(["1000", "1001", "1002", "1003", "1004", "1005"]);
    expect(() => checkNoLeaks(task, users, "users.json")).not.toThrow();
  });

  it("with dates, nothing dated on or after the person's first query (its date: its own item's, from the later question)", () => {
    const timed = userOf("timed");
    expect(timed.profile.map((item) => item.id)).toEqual(["2000", "2001", "2002", "2003", "2004"]);
    expect(summary).toEqual(FIXTURE_POPULATION);
  });

  it("a person with no profile is a person with an empty profile", () => {
    expect(userOf("silent").profile).toEqual([]);
  });

  it("the most active persons: largest profile first, ties by user id", () => {
    expect(selectActiveUsers(users, 7).map((u) => [u.id, u.profile.length])).toEqual([
      ["100", 6],
      ["200", 5],
      ["500", 5],
      ["600", 5],
      ["700", 5],
      ["400", 1],
      ["300", 0],
    ]);
    expect(selectActiveUsers([...users].reverse(), 3).map((u) => u.id)).toEqual(["100", "200", "500"]);
  });

  it("--split user: every question is its own user with its own profile, leaks removed all the same", () => {
    const single = lampToUsers(task, fixture.examples, "user");
    expect(single.users.map((u) => u.id)).toEqual(fixture.examples.map((e) => e.id));
    for (const user of single.users) expect(leaks(task, user)).toEqual([]);
    expect(single.summary).toMatchObject({ persons: 10, merged: 0, leaksRemoved: 0, laterRemoved: 0 });
  });
});

describe("grouping rule", () => {
  const item = (id: string, text: string) => ({ id, text, title: text.split(" ")[0], category: "politics" });
  const question = (id: string, profile: ReturnType<typeof item>[]): LampExample => ({
    id,
    input: `... categories: [politics] article: asked in ${id}`,
    profile,
    output: "politics",
  });
  const texts = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix} article ${i}`);

  it(`two questions are one person when they share at least ${SAME_PERSON_SHARE * 100} % of the smaller profile, transitively`, () => {
    const a = texts("a", 4);
    const b = texts("b", 4);
    const examples = [
      question(
        "1",
        a.map((t, i) => item(`1${i}`, t)),
      ),
      // 2 of its 4 items are question 1's: exactly half, one person.
      question(
        "2",
        [...a.slice(0, 2), ...b.slice(0, 2)].map((t, i) => item(`2${i}`, t)),
      ),
      // Shares only with question 2 (3 of 4): joins the same person through it.
      question(
        "3",
        [...b.slice(0, 3), "c article"].map((t, i) => item(`3${i}`, t)),
      ),
      // 1 of 4 shared: below half, another person.
      question(
        "4",
        [a[3]!, ...texts("d", 3)].map((t, i) => item(`4${i}`, t)),
      ),
    ];
    expect(lampToUsers("lamp-2n", examples, "time").users.map((u) => u.queries.map((q) => q.id))).toEqual([
      ["1", "2", "3"],
      ["4"],
    ]);
  });

  it("the same text with another answer is another interaction (LaMP-2M: one movie, two people's tags)", () => {
    const movie = (id: string, description: string, tag: string) => ({ id, description, tag });
    const ask = (id: string, profile: ReturnType<typeof movie>[]): LampExample => ({
      id,
      input: `... tags: [comedy] description: asked in ${id}`,
      profile,
      output: "comedy",
    });
    const examples = [
      ask("1", [movie("10", "A heist.", "comedy"), movie("11", "A duel.", "action")]),
      ask("2", [movie("20", "A heist.", "classic"), movie("21", "A duel.", "violence")]),
    ];
    expect(lampToUsers("lamp-2m", examples, "time").users).toHaveLength(2);
  });

  it("groups by user_id where a record has one, as given", () => {
    const examples = [
      { id: "a1", input: "x", output: "1", user_id: "7", profile: [{ id: "p1", text: "t", score: "1" }] },
      {
        id: "a2",
        input: "y",
        output: "2",
        user_id: "7",
        profile: [
          { id: "p9", text: "u", score: "2" },
          { id: "p8", text: "v", score: "3" },
        ],
      },
      { id: "b1", input: "z", output: "3", user_id: "8", profile: [{ id: "p1", text: "t", score: "1" }] },
    ];
    const { users } = lampToUsers("lamp-3", examples, "time");
    expect(users.map((u) => [u.id, u.queries.map((q) => q.id), u.profile.length])).toEqual([
      ["7", ["a1", "a2"], 3],
      ["8", ["b1"], 1],
    ]);
  });

  it("the real LaMP-2N sample: the journalist's three questions are one person, without their test articles", async () => {
    const examples = await loadLamp(
      join(SAMPLES, "LaMP_2N_train_questions.json"),
      join(SAMPLES, "LaMP_2N_train_outputs.json"),
    );
    const { users, summary } = lampToUsers("lamp-2n", examples, "time");
    expect(users.map((u) => [u.id, u.queries.map((q) => q.id), u.profile.length])).toEqual([
      ["100", ["100"], 4],
      ["101", ["101", "102", "103"], 16],
    ]); // 16 shared items; each question's other 2 are the others' test articles
    expect(summary).toMatchObject({ persons: 2, merged: 2, leaksRemoved: 3 });
    for (const user of users) expect(leaks("lamp-2n", user)).toEqual([]);
  });

  it("generated time-split questions: one person per user, the earlier test items out of the profile", () => {
    const examples = generateExamples("lamp-2m", { users: 3, items: 4, queries: 3, dated: true });
    const { users } = lampToUsers("lamp-2m", [...examples].reverse(), "time"); // file order must not matter
    expect(users.map((u) => u.queries.map((q) => q.id)).sort()).toEqual([
      ["000", "001", "002"],
      ["100", "101", "102"],
      ["200", "201", "202"],
    ]);
    for (const user of users) {
      expect(user.profile).toHaveLength(4 + Number(user.id[0]));
      expect(leaks("lamp-2m", user)).toEqual([]);
    }
  });
});

describe("checkNoLeaks (eval on a users file)", () => {
  it("refuses a profile holding a query's own item, naming the query, whitespace aside", () => {
    const users: EvalUser[] = [
      {
        id: "u1",
        profile: [{ id: "p1", text: "Great  blender.\n", score: "5" }],
        queries: [
          {
            id: "q1",
            input:
              "What is the score of the following review on a scale of 1 to 5? just answer with 1, 2, 3, 4, or 5 without further explanation. review: Great blender.",
            output: "5",
          },
        ],
      },
    ];
    expect(() => checkNoLeaks("lamp-3", users, "users.json")).toThrow(
      'users.json: query "q1" of user "u1" asks about profile item "p1" of the same user, whose answer would be in memory; remove the item (persona-agent data convert does)',
    );
    expect(() =>
      checkNoLeaks(
        "lamp-3",
        [{ ...users[0]!, profile: [{ id: "p2", text: "Fine toaster.", score: "3" }] }],
        "users.json",
      ),
    ).not.toThrow();
  });
});
