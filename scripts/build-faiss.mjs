// Makes faiss-node's native addon available, then (where g++ and libfaiss exist) builds the
// optional native index addon, native/faiss-bulk.cc, which builds large indexes straight from a
// Float32Array and reads and searches sketch indexes with the CPU's popcount instruction
// (without it src/memory/vector-index.ts keeps every index exact, built through faiss-node's
// slower add()). A machine where faiss-node's prebuilt binary downloads needs no compiler.
//
// faiss-node's own install script downloads a prebuilt binary and, failing that, clones faiss
// from GitHub; offline both fail and abort `npm install`, so package.json denies that script
// ("allowScripts") and this postinstall does the job instead:
//   1. keep an addon that is already built;
//   2. try the package's prebuilt binary (works on machines with internet);
//   3. compile the package's own src/faiss.cc against the system's libfaiss
//      (Debian: apt-get install libfaiss-dev libopenblas-dev).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
let pkgDir;
try {
  pkgDir = dirname(require.resolve("faiss-node/package.json"));
} catch {
  console.log("[build-faiss] faiss-node is not installed; nothing to build.");
  process.exit(0);
}
const addon = join(pkgDir, "build", "Release", "faiss-node.node");
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bulkAddon = join(root, "native", "build", "faiss-bulk.node");
const libfaiss = [
  "/usr/lib/x86_64-linux-gnu/libfaiss.a",
  "/usr/lib/aarch64-linux-gnu/libfaiss.a",
  "/usr/local/lib/libfaiss.a",
].find(existsSync);

function loads(path) {
  try {
    execFileSync(process.execPath, ["-e", `require(${JSON.stringify(path)})`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** g++ arguments for an N-API addon linked against the system's libfaiss. */
function compileArgs(source, output) {
  const nodeInclude = [join(dirname(process.execPath), "..", "include", "node"), "/usr/include/node"].find((p) =>
    existsSync(join(p, "node_api.h")),
  );
  const addonApi = dirname(require.resolve("node-addon-api/package.json", { paths: [pkgDir] }));
  const buildDir = dirname(output);
  mkdirSync(buildDir, { recursive: true });
  // Debian's faiss 1.7.3 predates the namespace-level faiss::idx_t that faiss-node expects.
  const shim = join(buildDir, "idx_t_shim.h");
  writeFileSync(
    shim,
    "#pragma once\n#include <faiss/Index.h>\nnamespace faiss { using idx_t = faiss::Index::idx_t; }\n",
  );
  return [
    "-shared",
    "-fPIC",
    "-O2",
    "-std=c++17",
    "-fopenmp",
    "-DNAPI_VERSION=8",
    "-DNAPI_DISABLE_CPP_EXCEPTIONS",
    "-include",
    shim,
    `-I${nodeInclude}`,
    `-I${addonApi}`,
    source,
    "-o",
    output,
    libfaiss,
    "-lblas",
    "-llapack",
  ];
}

function ensureFaissNode() {
  if (existsSync(addon) && loads(addon)) {
    console.log("[build-faiss] faiss-node addon present.");
    return;
  }
  try {
    execFileSync(
      process.execPath,
      [require.resolve("prebuild-install/bin.js", { paths: [pkgDir] }), "--runtime", "napi"],
      {
        cwd: pkgDir,
        stdio: "ignore",
        timeout: 60_000,
      },
    );
    if (loads(addon)) {
      console.log("[build-faiss] installed faiss-node's prebuilt addon.");
      return;
    }
  } catch {
    // offline or no prebuilt binary for this platform: build from source below
  }
  if (!libfaiss) {
    console.error(
      "[build-faiss] faiss-node has no prebuilt addon here and no system libfaiss was found.\n" +
        "  Install it (Debian/Ubuntu: apt-get install -y libfaiss-dev libopenblas-dev) and run `npm rebuild persona-agent` or `node scripts/build-faiss.mjs`.",
    );
    process.exit(1);
  }
  console.log("[build-faiss] compiling faiss-node against", libfaiss);
  execFileSync("g++", compileArgs(join(pkgDir, "src", "faiss.cc"), addon), { stdio: "inherit" });
  if (!loads(addon)) {
    console.error("[build-faiss] the compiled addon does not load.");
    process.exit(1);
  }
  console.log("[build-faiss] built", addon);
}

/** Optional: without it indexes stay exact and are built through faiss-node's add() (minutes at 1M). Never fails the install. */
function buildBulkAddon() {
  const source = join(root, "native", "faiss-bulk.cc");
  if (existsSync(bulkAddon) && statSync(bulkAddon).mtimeMs >= statSync(source).mtimeMs && loads(bulkAddon)) return;
  if (!libfaiss) {
    console.log(
      "[build-faiss] no system libfaiss (libfaiss-dev): the native index addon is not built; retrieval stays exact at every size.",
    );
    return;
  }
  try {
    execFileSync("g++", compileArgs(source, bulkAddon), { stdio: "inherit" });
    console.log("[build-faiss] built", bulkAddon);
  } catch {
    console.log(
      "[build-faiss] could not compile the native index addon (needs g++ and Node's headers): retrieval stays exact at every size.",
    );
  }
}

ensureFaissNode();
buildBulkAddon();
