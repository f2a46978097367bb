/**
 * bin/persona-agent.js runs the compiled bundle in dist/ (what `npm install` builds), and the
 * TypeScript sources through tsx only when dist/ is missing or older than them. Checked on a
 * copy of bin/ in a scratch checkout whose "bundle" and "sources" say which one ran, with the
 * stamp scripts/build.mjs writes (the build's start time and the sources in the bundle).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "../../testing/fixtures.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function scratchCheckout(): string {
  const root = tempDir();
  for (const dir of ["bin", "dist/cli", "apps/cli", "graphs"]) mkdirSync(join(root, dir), { recursive: true });
  copyFileSync(join(ROOT, "bin", "persona-agent.js"), join(root, "bin", "persona-agent.js"));
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"), "dir");
  writeFileSync(join(root, "package.json"), '{ "type": "module" }\n');
  writeFileSync(join(root, "dist", "cli", "persona-agent.js"), 'process.stdout.write("bundle");\n');
  writeFileSync(join(root, "apps", "cli", "main.ts"), 'const ran: string = "sources";\nprocess.stdout.write(ran);\n');
  writeFileSync(join(root, "graphs", "g.ts"), "export {};\n");
  return root;
}

const run = (root: string) =>
  execFileSync(process.execPath, [join(root, "bin", "persona-agent.js")], { encoding: "utf8" });
const setTime = (path: string, seconds: number) => utimesSync(path, seconds, seconds);
const SOURCES = ["apps/cli/main.ts", "graphs/g.ts"];
const stamp = (root: string, startedAtSeconds: number, sources = SOURCES) =>
  writeFileSync(join(root, "dist", ".built"), `${JSON.stringify({ startedAt: startedAtSeconds * 1000, sources })}\n`);

test("a finished build newer than every source runs the bundle", () => {
  const root = scratchCheckout();
  const now = Date.now() / 1000;
  for (const source of SOURCES) setTime(join(root, source), now - 60);
  stamp(root, now);
  expect(run(root)).toBe("bundle");
});

test("no finished build, or a source edited after it, runs the sources through tsx", () => {
  const root = scratchCheckout();
  expect(run(root)).toBe("sources"); // no dist/.built: the build never finished

  const now = Date.now() / 1000;
  stamp(root, now - 60);
  setTime(join(root, "apps", "cli", "main.ts"), now - 120);
  setTime(join(root, "graphs", "g.ts"), now); // a graph edited after the build started
  expect(run(root)).toBe("sources");
});

test("a source of the bundle deleted since the build, or a stamp without sources, runs the sources", () => {
  const root = scratchCheckout();
  const now = Date.now() / 1000;
  for (const source of SOURCES) setTime(join(root, source), now - 60);
  stamp(root, now, [...SOURCES, "apps/cli/gone.ts"]);
  expect(run(root)).toBe("sources");
  writeFileSync(join(root, "dist", ".built"), "2026-01-01T00:00:00.000Z\n"); // an older build's stamp
  expect(run(root)).toBe("sources");
});
