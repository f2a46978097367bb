/** Which folder may import which: bench/ and the shared fakes in testing/ never reach into tests/; src/ never into either. */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/** The top-level folders a folder's files import from (relative imports only). */
function importedFolders(dir: string): Set<string> {
  const folders = new Set<string>();
  for (const file of sources(dir)) {
    for (const [, spec] of readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      folders.add(relative(ROOT, resolve(file, "..", spec!)).split("/")[0]!);
    }
  }
  return folders;
}

test.each([
  ["bench", ["tests"]],
  ["testing", ["tests", "bench"]],
  ["src", ["testing", "tests", "bench"]],
])("%s imports nothing from %j", (dir, forbidden) => {
  const folders = importedFolders(dir);
  expect(forbidden.filter((f) => folders.has(f))).toEqual([]);
});
