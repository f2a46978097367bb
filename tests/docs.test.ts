/**
 * Docs that stay true: the paths they name exist in the repository and nothing points outside
 * it; the command lines they show use the options the CLI has; the shapes `--help` promises are
 * what the commands print.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli, scriptedEnv } from "./support/cli.js";
import { startOpenAIServer } from "../testing/openai-server.js";
import { ALICE_HISTORY, tempDir } from "../testing/fixtures.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const DOCS = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
  ".env.example",
];

/** Every text file of the project's own folders (what `grep -rn` over them reads). */
function projectFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? walk(`${dir}/${e.name}`)
        : /\.(ts|mts|cjs|mjs|js|md|json|jsonl)$/.test(e.name)
          ? [`${dir}/${e.name}`]
          : [],
    );
  return [
    ...["src", "apps", "tests", "testing", "scripts", "bench", "graphs", "docs", "prompts", "examples"].flatMap(walk),
    "README.md",
  ];
}

test("nothing in the project reads or links a folder beside the repository", () => {
  const outside = new RegExp("\\.\\./shared" + "/"); // spelled in two pieces, so this file matches neither itself nor a grep for the path
  const hits = projectFiles().flatMap((path) =>
    read(path)
      .split("\n")
      .flatMap((line, i) => (outside.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : [])),
  );
  expect(hits).toEqual([]);
});

test("every repository path the docs and comments name exists", () => {
  const named = new Set<string>();
  // Tests also name paths as data (files they create, or that must not exist): only their comments count.
  const text = (path: string) =>
    path.startsWith("tests/")
      ? read(path)
          .split("\n")
          .filter((line) => /^\s*(\*|\/\/|\/\*\*)/.test(line))
          .join("\n")
      : read(path);
  // bench/RESULTS.md is a log of measurements: it names the code of the time it measured.
  for (const path of [...projectFiles(), ...DOCS].filter((path) => path !== "bench/RESULTS.md")) {
    for (const [match] of text(path).matchAll(
      /(?<![\w./<-])(?:src|apps|graphs|scripts|bench|testing|tests|docs|prompts|examples)\/[\w./-]+\.(?:ts|md|mjs|cjs|jsonl|json)\b/g,
    ))
      named.add(match);
  }
  expect([...named].filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
  expect(named.size).toBeGreaterThan(20);
});

test("the command lines of docs/EVAL.md run the project's CLI with options it has", async () => {
  const blocks = [...read("docs/EVAL.md").matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\\\n\s*/g, " "));
  const commands = blocks
    .flatMap((block) => block.split("\n"))
    .flatMap((line) =>
      [...line.matchAll(/npx persona-agent ((?:eval report|data download|data convert|eval|ingest)\b[^;]*)/g)].map(
        (m) => m[1]!,
      ),
    );
  expect(commands.length).toBeGreaterThanOrEqual(6);
  // No bare `persona-agent` at the start of a command: nothing puts it on PATH.
  for (const block of blocks) expect(block).not.toMatch(/(^|[;&|]\s*|do\s+)persona-agent /m);
  const helps = new Map<string, string>();
  for (const command of commands) {
    const name = /^(eval report|data download|data convert|eval|ingest)/.exec(command)![1]!;
    if (!helps.has(name)) helps.set(name, (await runCli([...name.split(" "), "--help"], {})).stdout);
    for (const [option] of command.matchAll(/--[a-z-]+/g))
      expect([
        name,
        option,
        helps.get(name)!.includes(`${option} `) || helps.get(name)!.includes(`${option}\n`),
      ]).toEqual([name, option, true]);
  }
});

test("the README's feedback row names every option feedback has", async () => {
  const row = read("README.md")
    .split("\n")
    .find((line) => line.startsWith("| `feedback "))!;
  const help = (await runCli(["feedback", "--help"], {})).stdout;
  const options = [...help.matchAll(/^\s+(--[a-z-]+)/gm)].map((m) => m[1]!).filter((o) => o !== "--help");
  expect(options.length).toBeGreaterThan(5);
  expect(options.filter((option) => !row.includes(option))).toEqual([]);
});

test("persona --help's JSON shape is what persona --json prints", async () => {
  const server = await startOpenAIServer(() => ({ content: "Profile: a sci-fi fan" }));
  try {
    const dir = tempDir();
    const env = scriptedEnv(server.url, dir);
    const file = join(dir, "alice.jsonl");
    writeFileSync(file, ALICE_HISTORY.map((e) => JSON.stringify(e)).join("\n"));
    expect((await runCli(["ingest", "--user", "alice", "--file", file], env)).code).toBe(0);
    const printed = JSON.parse((await runCli(["persona", "--user", "alice", "--json"], env)).stdout) as {
      history: object[];
    };
    const help = (await runCli(["persona", "--help"], env)).stdout.replace(/\s+/g, " ");
    const promised = /print (\{.*\})/.exec(help)![1]!;
    expect(promised).toBe(
      `{${Object.keys(printed)
        .map((k) => `"${k}"`)
        .join(", ")
        .replace(
          '"history"',
          `"history": [{${Object.keys(printed.history[0]!)
            .map((k) => `"${k}"`)
            .join(", ")}}]`,
        )}}`,
    );
  } finally {
    await server.close();
  }
});
