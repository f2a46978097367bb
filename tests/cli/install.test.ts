/**
 * Installs a user can trust: the committed lock is what `npm ci` installs, so its contents are
 * the contract. (`.ci/run` runs `npm ci` on a fresh clone; these checks say why it succeeds
 * quietly.)
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const lock = JSON.parse(readFileSync(`${root}package-lock.json`, "utf8")) as {
  packages: Record<
    string,
    {
      version?: string;
      engines?: { node?: string } | string[];
      optionalDependencies?: Record<string, string>;
      dev?: boolean;
    }
  >;
};
const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};
// The semver the LangGraph API server itself uses for its version check.
const apiRequire = createRequire(`${root}node_modules/@langchain/langgraph-api/package.json`);
const semver = apiRequire("semver") as { satisfies(version: string, range: string, options?: object): boolean };
const installed = (name: string) => lock.packages[`node_modules/${name}`]?.version;

test("the lock records package.json's dependencies as they are (npm ci refuses a lock out of sync)", () => {
  const recorded = lock.packages[""] as unknown as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  expect(recorded.dependencies).toEqual(pkg.dependencies);
  expect(recorded.devDependencies).toEqual(pkg.devDependencies);
});

test("no locked package asks for another Node than this one (no EBADENGINE warning)", () => {
  const refusing = Object.entries(lock.packages)
    .filter(([, p]) => typeof (p.engines as { node?: string } | undefined)?.node === "string")
    .filter(([, p]) => !semver.satisfies(process.version, (p.engines as { node: string }).node))
    .map(([path, p]) => `${path}@${p.version} wants node ${(p.engines as { node: string }).node}`);
  expect(refusing).toEqual([]);
});

test("every platform build of node-llama-cpp is in the lock (npm ci insists on all of them)", () => {
  const llama = lock.packages["node_modules/node-llama-cpp"]!;
  const platforms = Object.keys(llama.optionalDependencies ?? {});
  expect(platforms.length).toBeGreaterThan(5);
  for (const name of platforms) expect(installed(name)).toBe(llama.version);
});

test("the LangGraph API server (langgraphjs dev) supports the installed LangGraph packages", () => {
  const api = JSON.parse(readFileSync(apiRequire.resolve("./package.json"), "utf8")) as {
    peerDependencies: Record<string, string>;
  };
  for (const name of [
    "@langchain/core",
    "@langchain/langgraph",
    "@langchain/langgraph-checkpoint",
    "@langchain/langgraph-sdk",
  ]) {
    const range = api.peerDependencies[name];
    expect(range).toBeDefined();
    expect({
      name,
      version: installed(name),
      supported: semver.satisfies(installed(name)!, range!, { includePrerelease: true }),
    }).toEqual({ name, version: installed(name), supported: true });
  }
});

test("one @langchain/openai in the tree: the project's own (overrides)", () => {
  const copies = Object.entries(lock.packages).filter(([path]) => path.endsWith("node_modules/@langchain/openai"));
  expect(copies.map(([path]) => path)).toEqual(["node_modules/@langchain/openai"]);
  expect(semver.satisfies(copies[0]![1].version!, pkg.dependencies["@langchain/openai"]!)).toBe(true);
});

test("LangChain and LangGraph are taken as released: caret ranges, no install step that patches them", () => {
  const ranges = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies }).filter(([name]) =>
    name.startsWith("@langchain/"),
  );
  expect(ranges.length).toBeGreaterThan(5);
  expect(ranges.filter(([, range]) => !range.startsWith("^"))).toEqual([]);
  expect(Object.values(pkg.scripts).filter((script) => /patch/.test(script))).toEqual([]);
  expect(existsSync(`${root}patches`)).toBe(false);
});
