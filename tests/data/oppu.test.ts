/** OPPU's per-user format and the population checks (grouping LaMP's questions into persons: persons.test.ts). */
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { checkUsers, lampToUsers, loadOppuUsers, selectActiveUsers, type EvalUser } from "../../apps/eval/data/oppu.js";
import { generateExamples } from "../../apps/eval/synthetic.js";
import { tempDir } from "../../testing/fixtures.js";

const dir = tempDir("oppu-");
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("OPPU's per-user format", () => {
  it("picks the most active persons over every file of the split, not within one file", () => {
    const train = generateExamples("lamp-2m", { users: 4, items: 4 }); // user u: 4 + u profile items
    // User 0's later questions sit in another file (dev), their profiles grown by the earlier test items.
    const dev = generateExamples("lamp-2m", { users: 4, items: 4, queries: 3 }).filter(
      (e) => e.id.startsWith("0") && e.id !== "000",
    );
    const { users } = lampToUsers("lamp-2m", [...train, ...dev], "time");
    const zero = users.find((u) => u.queries.some((q) => q.id === "000"))!;
    expect(zero.queries.map((q) => q.id)).toEqual(["000", "001", "002"]);
    expect(zero.profile).toHaveLength(4); // its own history; its test items are not in it
    expect(selectActiveUsers(users, 2).map((u) => u.id)).toEqual(["300", "200"]);
  });

  it("loads OPPU's per-user file, golds inline or from an outputs file", async () => {
    const path = join(dir, "users.json");
    await writeFile(
      path,
      JSON.stringify([
        {
          user_id: 5,
          profile: [{ id: "p", text: "t", score: "4" }],
          query: [
            { id: "q1", input: "review: a", gold: "4" },
            { id: "q2", input: "review: b" },
          ],
        },
      ]),
    );
    await expect(loadOppuUsers(path)).rejects.toThrow(`${path}: query "q2" of user "5" has no gold`);
    const users = await loadOppuUsers(path, new Map([["q2", "2"]]));
    expect(users).toEqual<EvalUser[]>([
      {
        id: "5",
        profile: [{ id: "p", text: "t", score: "4" }],
        queries: [
          { id: "q1", input: "review: a", output: "4" },
          { id: "q2", input: "review: b", output: "2" },
        ],
      },
    ]);
    await writeFile(path, JSON.stringify([{ profile: [] }]));
    await expect(loadOppuUsers(path)).rejects.toThrow(`${path}: not OPPU's per-user format`);
  });

  it("refuses a query id used twice across users", () => {
    const user = (id: string): EvalUser => ({ id, profile: [], queries: [{ id: "q", input: "i", output: "1" }] });
    expect(() => checkUsers([user("a"), user("b")], "f.json")).toThrow(
      'f.json: query id "q" appears twice (users "a" and "b")',
    );
  });
});
