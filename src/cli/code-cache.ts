/**
 * Runs a CommonJS bundle from V8's code cache, which Node 20 has no switch for
 * (module.enableCompileCache is Node 22+). The bundle is compiled with vm.Script from the cached
 * bytecode of an earlier run of the same command; when there is none, or V8 refuses it (another
 * Node, other flags), the bytecode compiled by this run, which is the code this command used, is
 * written at exit for the next one. One file per bundle build (size and mtime in the name: a
 * rebuilt bundle gets its own) and per command; a cache that cannot be read or written costs only
 * the compile.
 */
import { isAscii } from "node:buffer";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { Script } from "node:vm";

/**
 * The bundle's `import()` of an external package. Code compiled by vm.Script has no dynamic
 * import without --experimental-vm-modules, so scripts/build.mjs makes the bundle call this.
 */
export type HostImport = (specifier: string) => Promise<unknown>;

export interface BundleOptions {
  /** Where the cache files go; undefined: no cache. */
  cacheDir?: string;
  /** Which command runs (the code it compiles differs). */
  command: string;
  hostImport: HostImport;
}

/** Runs `file` (esbuild's CommonJS output) as a module and returns its exports. */
export function loadBundle(file: string, { cacheDir, command, hostImport }: BundleOptions): unknown {
  const bytes = readFileSync(file);
  // The build writes it ASCII: read as such, V8 holds it as a one-byte string (UTF-8 otherwise).
  const source = bytes.toString(isAscii(bytes) ? "latin1" : "utf8");
  const { size, mtimeMs } = statSync(file);
  const build = `${basename(file)}-${size}-${Math.trunc(mtimeMs)}-`;
  const cacheFile = cacheDir && join(cacheDir, `${build}${process.version}-${process.arch}-${command.replace(/[^a-z0-9-]/gi, "_")}.bin`);
  let cachedData: Buffer | undefined;
  try {
    if (cacheFile) cachedData = readFileSync(cacheFile);
  } catch {
    // not written yet
  }
  // One line of wrapper: the bundle's line numbers stay as they are.
  const script = new Script(`(function (exports, require, module, __filename, __dirname, __hostImport) {${source}\n})`, { filename: file, cachedData });
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
    process.once("exit", () => writeCache(script, cacheFile, basename(file), build));
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file), hostImport);
  return module.exports;
}

/** Writes the cache atomically (another process may read it meanwhile) and drops older builds' caches. */
function writeCache(script: Script, cacheFile: string, bundle: string, build: string): void {
  try {
    const dir = dirname(cacheFile);
    mkdirSync(dir, { recursive: true, mode: 0o700 }); // bytecode the CLI will run: only its user may write it
    const partial = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(partial, script.createCachedData());
    renameSync(partial, cacheFile);
    for (const name of readdirSync(dir)) {
      if (name.startsWith(`${bundle}-`) && !name.startsWith(build)) rmSync(join(dir, name), { force: true });
    }
  } catch {
    // a read-only or full disk: the next start compiles again
  }
}
