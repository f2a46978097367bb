/**
 * Issue #22 item 3: LaMP files of any size are read as streams in two passes; the population must
 * be the one the in-memory reader builds (persons, profiles, queries, summary, LaMP-1's negatives),
 * with only the selected persons materialized.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadLamp, populationPapers, type LampTask } from "../../apps/eval/data/lamp.js";
import { streamLampPopulation } from "../../apps/eval/data/lamp-stream.js";
import { lampToUsers, selectActiveUsers } from "../../apps/eval/data/oppu.js";
import { writeSyntheticLamp } from "../../apps/eval/synthetic.js";
import { writeLampPersonsFixture } from "../../testing/lamp-persons.js";

const SAMPLES = fileURLToPath(new URL("../fixtures/lamp-samples/", import.meta.url));
const TASKS: LampTask[] = ["lamp-1", "lamp-2m", "lamp-2n", "lamp-3"];
const dir = mkdtempSync(join(tmpdir(), "lamp-stream-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Files = { questions: string; outputs: string };

async function expectSamePopulation(task: LampTask, files: Files[]) {
  const examples = (await Promise.all(files.map((f) => loadLamp(f.questions, f.outputs)))).flat();
  for (const split of ["time", "user"] as const) {
    const whole = lampToUsers(task, examples, split);
    const streamed = await streamLampPopulation(task, files, split);
    expect(streamed.users).toEqual(whole.users);
    expect(streamed.summary).toEqual(whole.summary);
    expect(streamed.papers).toEqual(populationPapers(task, whole.users));
    // Only the most active persons materialized: the same persons, LaMP-1's pool still the whole population's.
    const n = Math.max(1, Math.floor(whole.users.length / 2));
    const some = await streamLampPopulation(task, files, split, n);
    const chosen = new Set(selectActiveUsers(whole.users, n));
    expect(some.users).toEqual(whole.users.filter((u) => chosen.has(u)));
    expect(some.summary).toEqual(whole.summary);
    expect(some.papers).toEqual(populationPapers(task, whole.users));
  }
}

describe.each(TASKS)("%s streamed population = in-memory population", (task) => {
  it("the persons fixture in LaMP's shapes (shared profiles, question-prefixed ids, test items inside profiles, dates)", async () => {
    const fixture = await writeLampPersonsFixture(join(dir, `persons-${task}`), task);
    await expectSamePopulation(task, [fixture]);
  });

  it("synthetic time-split data (several dated questions per person), and two files read as one population", async () => {
    const dated = await writeSyntheticLamp(join(dir, `dated-${task}`), task, {
      users: 12,
      items: 5,
      queries: 3,
      dated: true,
    });
    await expectSamePopulation(task, [dated]);
    const persons = await writeLampPersonsFixture(join(dir, `second-${task}`), task);
    const other = await writeSyntheticLamp(join(dir, `other-${task}`), task, { users: 3, items: 2 }); // ids "000".."200": none of the fixture's
    await expectSamePopulation(task, [persons, other]);
  });
});

it.each([
  ["lamp-1", "LaMP_1"],
  ["lamp-2n", "LaMP_2N"],
] as const)("the real %s samples", async (task, name) => {
  await expectSamePopulation(task, [
    { questions: join(SAMPLES, `${name}_train_questions.json`), outputs: join(SAMPLES, `${name}_train_outputs.json`) },
  ]);
});
