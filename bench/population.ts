/**
 * Persons from LaMP-size question files (issue #19 item 1): the time `lampToUsers` takes to group
 * questions by shared profile content (inverted index item -> questions, union-find) and build
 * each person's leak-free profile. The questions have LaMP-2N's shape: no user ids, item ids
 * prefixed by the question id, each of a person's questions holding the person's history and the
 * other questions' test articles with their labels; article texts of ~300 characters.
 *   npx tsx bench/population.ts [persons] [questions per person] [history items]
 */
import { LAMP_LABELS, type LampExample } from "../apps/eval/data/lamp.js";
import { lampToUsers } from "../apps/eval/data/persons.js";
import { syntheticQuestion } from "../apps/eval/synthetic.js";
import { fmt, table } from "./lib.js";

const PERSONS = Number(process.argv[2] ?? 5_000);
const QUESTIONS = Number(process.argv[3] ?? 4);
const HISTORY = Number(process.argv[4] ?? 100);
const labels = LAMP_LABELS["lamp-2n"]!;
const WORDS =
  "the a of and to in story city people government school music team health market court family study new world".split(
    " ",
  );
const article = (person: number, i: number) =>
  `Article ${i} of writer ${person}: ${Array.from({ length: 45 }, (_, j) => WORDS[(person * 7 + i * 13 + j * 3) % WORDS.length]).join(" ")}.`;

function questions(): LampExample[] {
  const out: LampExample[] = [];
  for (let p = 0; p < PERSONS; p++) {
    const history = Array.from({ length: HISTORY }, (_, i) => ({
      text: article(p, i),
      category: labels[(p + i) % labels.length]!,
    }));
    const tests = Array.from({ length: QUESTIONS }, (_, k) => ({
      text: article(p, HISTORY + k),
      category: labels[(p + k) % labels.length]!,
    }));
    tests.forEach((test, k) => {
      const id = `${p}${String(k).padStart(2, "0")}`;
      const profile = [...history, ...tests.filter((_, m) => m !== k)].map((item, i) => ({
        id: `${id}${i}`,
        text: item.text,
        title: item.text.slice(0, 20),
        category: item.category,
      }));
      out.push({ id, input: syntheticQuestion("lamp-2n", test.text, ""), profile, output: test.category });
    });
  }
  return out;
}

const examples = questions();
const items = examples.reduce((n, e) => n + e.profile.length, 0);
const runs: number[] = [];
let summary;
for (let run = 0; run < 3; run++) {
  const started = performance.now();
  summary = lampToUsers("lamp-2n", examples, "time").summary;
  runs.push(performance.now() - started);
}
console.log(
  `lampToUsers on ${examples.length.toLocaleString("en-US")} questions, ${items.toLocaleString("en-US")} profile items (3 runs)`,
);
console.log(
  table(
    ["questions", "items", "persons", "leaks removed", "median ms", "min ms", "max ms"],
    [
      [
        examples.length,
        items,
        summary!.persons,
        summary!.leaksRemoved,
        fmt([...runs].sort((a, b) => a - b)[1]!, 0),
        fmt(Math.min(...runs), 0),
        fmt(Math.max(...runs), 0),
      ],
    ],
  ),
);
