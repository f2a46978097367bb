/** The paper's population: LaMP time-split files -> users with a profile and several test queries (OPPU's format). */
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadLamp } from "../../src/data/lamp.js";
import { checkUsers, lampToUsers, loadOppuUsers, selectActiveUsers, type EvalUser } from "../../src/data/oppu.js";
import { generateLamp } from "../../src/eval/synthetic.js";
import { tempDir } from "../../testing/fixtures.js";

const dir = tempDir("oppu-");
afterAll(() => rm(dir, { recursive: true, force: true }));
const SAMPLES = fileURLToPath(new URL("../fixtures/lamp-samples/", import.meta.url));

function timeSplit(users: number, queries: number) {
  const { questions, outputs } = generateLamp("lamp-2m", { users, items: 4, queries, dated: true });
  return questions.map((q) => ({ ...q, output: outputs.golds.find((g) => g.id === q.id)!.output }));
}

describe("LaMP time-split questions -> users (OPPU's per-user format)", () => {
  it("groups a user's questions, orders them in time, and keeps only the history before the first query", () => {
    const examples = timeSplit(3, 3);
    const users = lampToUsers([...examples].reverse(), "time"); // file order must not matter
    expect(users).toHaveLength(3);
    for (const user of users) {
      expect(user.queries.map((q) => q.id)).toEqual([0, 1, 2].map((j) => `${user.id[0]}0${j}`));
      const first = examples.find((e) => e.id === user.queries[0]!.id)!;
      expect(user.profile).toEqual(first.profile);
      // No test query (nor anything after the first one) is in the profile.
      const profileIds = new Set(user.profile.map((p) => p.id));
      for (const later of examples.filter((e) => user.queries.some((q) => q.id === e.id))) {
        for (const item of later.profile.filter((p) => !profileIds.has(p.id))) expect(item.id).toMatch(/q\d$/);
      }
      expect(user.profile.some((p) => /q\d$/.test(p.id))).toBe(false);
    }
  });

  it("groups by user_id when the release names the author", () => {
    const examples = [
      { id: "a1", input: "x", output: "1", user_id: "7", profile: [{ id: "p1", text: "t", score: "1" }] },
      { id: "a2", input: "y", output: "2", user_id: "7", profile: [{ id: "p9", text: "u", score: "2" }, { id: "p8", text: "v", score: "3" }] },
      { id: "b1", input: "z", output: "3", user_id: "8", profile: [{ id: "p1", text: "t", score: "1" }] },
    ];
    const users = lampToUsers(examples, "time");
    expect(users.map((u) => [u.id, u.queries.map((q) => q.id), u.profile.length])).toEqual([["7", ["a1", "a2"], 1], ["8", ["b1"], 1]]);
  });

  it("user split: every question is a user of its own (LaMP's user-based files)", async () => {
    const examples = await loadLamp(join(SAMPLES, "LaMP_2N_train_questions.json"), join(SAMPLES, "LaMP_2N_train_outputs.json"));
    const users = lampToUsers(examples, "user");
    expect(users.map((u) => [u.id, u.queries.length, u.profile.length])).toEqual([["100", 1, 4], ["101", 1, 18], ["102", 1, 18], ["103", 1, 18]]);
  });

  it("picks the most active users over every file of the split (profile + queries), not within one file", () => {
    const train = timeSplit(4, 1); // user u has 4 + u profile items
    const dev = timeSplit(4, 3).filter((e) => e.id.startsWith("0")); // user 0: 3 queries in another file
    const users = lampToUsers([...train.map((e) => ({ ...e, id: `t${e.id}` })), ...dev], "time");
    // user 0 appears in both files: its questions are grouped into one user with 4 queries.
    const zero = users.find((u) => u.queries.some((q) => q.id === "t000"))!;
    expect(zero.queries).toHaveLength(4);
    // In the train file alone user 0 is the least active (4 + 1); over the split it ties user 3
    // (4 profile items + 4 queries = 7 + 1) and comes first in data order.
    expect(selectActiveUsers(lampToUsers(train, "time"), 1).map((u) => u.queries[0]!.id)).toEqual(["300"]);
    expect(selectActiveUsers(users, 3).map((u) => u.queries[0]!.id)).toEqual(["t000", "t300", "t200"]);
  });

  it("loads OPPU's per-user file, golds inline or from an outputs file", async () => {
    const path = join(dir, "users.json");
    await writeFile(path, JSON.stringify([{ user_id: 5, profile: [{ id: "p", text: "t", score: "4" }], query: [{ id: "q1", input: "review: a", gold: "4" }, { id: "q2", input: "review: b" }] }]));
    await expect(loadOppuUsers(path)).rejects.toThrow(`${path}: query "q2" of user "5" has no gold`);
    const users = await loadOppuUsers(path, new Map([["q2", "2"]]));
    expect(users).toEqual<EvalUser[]>([{ id: "5", profile: [{ id: "p", text: "t", score: "4" }], queries: [{ id: "q1", input: "review: a", output: "4" }, { id: "q2", input: "review: b", output: "2" }] }]);
    await writeFile(path, JSON.stringify([{ profile: [] }]));
    await expect(loadOppuUsers(path)).rejects.toThrow(`${path}: not OPPU's per-user format`);
  });

  it("refuses a query id used twice across users", () => {
    const user = (id: string): EvalUser => ({ id, profile: [], queries: [{ id: "q", input: "i", output: "1" }] });
    expect(() => checkUsers([user("a"), user("b")], "f.json")).toThrow('f.json: query id "q" appears twice (users "a" and "b")');
  });
});
