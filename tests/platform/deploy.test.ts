/**
 * The API server's image as `npx @langchain/langgraph-cli dockerfile` (and `build`) makes it from
 * langgraph.json: the Dockerfile the CLI generates adds the project folder, so the build context
 * is that folder filtered by .dockerignore, read here with Docker's own matching rules
 * (@balena/dockerignore). Docker itself cannot run on this machine.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import dockerignoreModule from "@balena/dockerignore";
import { tempDir } from "../../testing/fixtures.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = join(ROOT, "node_modules/@langchain/langgraph-cli/dist/cli/cli.mjs");
const langgraph = JSON.parse(readFileSync(join(ROOT, "langgraph.json"), "utf8")) as {
  graphs: Record<string, string>;
  auth: { path: string };
  env: string;
};
// A CommonJS module whose types declare an ES default export: Node's default import is the function itself.
const dockerignore = dockerignoreModule as unknown as typeof dockerignoreModule.default;
const rules = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n");
const ignored = dockerignore().add(rules);

/**
 * The files Docker would send from `dir`: every file not ignored. A folder that is ignored is not
 * entered unless a `!` rule names something inside it (Docker's walk does the same).
 */
function buildContext(dir: string, prefix = ""): string[] {
  const negations = rules.filter((rule) => rule.startsWith("!")).map((rule) => rule.slice(1));
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory())
      return ignored.ignores(path) && !negations.some((rule) => rule.startsWith(`${path}/`))
        ? []
        : buildContext(dir, path);
    return ignored.ignores(path) ? [] : [path];
  });
}

test("the generated Dockerfile adds the project folder and installs with npm ci", async () => {
  const dockerfile = join(tempDir(), "Dockerfile");
  await promisify(execFile)(process.execPath, [CLI, "dockerfile", dockerfile, "-c", join(ROOT, "langgraph.json")], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LANGGRAPH_CLI_NO_ANALYTICS: "1" },
  });
  const lines = readFileSync(dockerfile, "utf8").split("\n");
  expect(lines.filter((line) => line.startsWith("ADD ")).map((line) => line.split(" ")[1])).toEqual(["."]);
  expect(lines).toContain("RUN npm ci");
  expect(lines.find((line) => line.startsWith("ENV LANGSERVE_GRAPHS="))).toContain(JSON.stringify(langgraph.graphs));
});

test("the build context holds what the image needs and nothing local: no node_modules, data, build output or secrets", () => {
  const context = buildContext(ROOT);
  expect(context.filter((path) => /(^|\/)node_modules\//.test(path))).toEqual([]);
  for (const local of ["dist/", "native/build/", ".persona-agent/", "eval-results/", ".langgraph_api/", ".git/"])
    expect([local, context.filter((path) => path.startsWith(local))]).toEqual([local, []]);
  const needed = [
    "package.json",
    "package-lock.json",
    "langgraph.json",
    "tsconfig.json",
    ".env.example",
    ...Object.values(langgraph.graphs).map((spec) => spec.slice(2).split(":")[0]!),
    langgraph.auth.path.slice(2).split(":")[0]!,
  ];
  expect(needed.filter((path) => !context.includes(path))).toEqual([]);
  expect(context.filter((path) => path.startsWith("prompts/paper/")).length).toBeGreaterThan(0);
  // Wherever they are made, local data folders and the settings file (langgraph.json's env) never go into an image.
  for (const path of [
    langgraph.env,
    ".env.production",
    ".persona-agent/store.sqlite",
    "eval-results/summaries/x.json",
    "src/node_modules/x/index.js",
    "dist/cli/all.cjs",
  ])
    expect([path, ignored.ignores(path)]).toEqual([path, true]);
  expect(langgraph.env).toBe(".env");
});
