// Makes faiss-node's native addon available.
//
// faiss-node's own install script downloads a prebuilt binary and, failing that, clones faiss
// from GitHub; offline both fail and abort `npm install`, so package.json denies that script
// ("allowScripts") and this postinstall does the job instead:
//   1. keep an addon that is already built;
//   2. try the package's prebuilt binary (works on machines with internet);
//   3. compile the package's own src/faiss.cc against the system's libfaiss
//      (Debian: apt-get install libfaiss-dev libopenblas-dev).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
let pkgDir;
try {
  pkgDir = dirname(require.resolve("faiss-node/package.json"));
} catch {
  console.log("[build-faiss] faiss-node is not installed; nothing to build.");
  process.exit(0);
}
const addon = join(pkgDir, "build", "Release", "faiss-node.node");

function works() {
  try {
    execFileSync(process.execPath, ["-e", `require(${JSON.stringify(addon)})`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

if (existsSync(addon) && works()) {
  console.log("[build-faiss] faiss-node addon present.");
  process.exit(0);
}

try {
  execFileSync(process.execPath, [require.resolve("prebuild-install/bin.js", { paths: [pkgDir] }), "--runtime", "napi"], {
    cwd: pkgDir,
    stdio: "ignore",
    timeout: 60_000,
  });
  if (works()) {
    console.log("[build-faiss] installed faiss-node's prebuilt addon.");
    process.exit(0);
  }
} catch {
  // offline or no prebuilt binary for this platform: build from source below
}

const libfaiss = ["/usr/lib/x86_64-linux-gnu/libfaiss.a", "/usr/lib/aarch64-linux-gnu/libfaiss.a", "/usr/local/lib/libfaiss.a"].find(existsSync);
if (!libfaiss) {
  console.error(
    "[build-faiss] faiss-node has no prebuilt addon here and no system libfaiss was found.\n" +
      "  Install it (Debian/Ubuntu: apt-get install -y libfaiss-dev libopenblas-dev) and run `npm rebuild persona-agent` or `node scripts/build-faiss.mjs`.",
  );
  process.exit(1);
}

const nodeInclude = [join(dirname(process.execPath), "..", "include", "node"), "/usr/include/node"].find((p) =>
  existsSync(join(p, "node_api.h")),
);
const addonApi = dirname(require.resolve("node-addon-api/package.json", { paths: [pkgDir] }));
const buildDir = dirname(addon);
mkdirSync(buildDir, { recursive: true });
// Debian's faiss 1.7.3 predates the namespace-level faiss::idx_t that faiss-node expects.
const shim = join(buildDir, "idx_t_shim.h");
writeFileSync(shim, "#pragma once\n#include <faiss/Index.h>\nnamespace faiss { using idx_t = faiss::Index::idx_t; }\n");

const args = [
  "-shared", "-fPIC", "-O2", "-std=c++17", "-fopenmp", "-DNAPI_VERSION=8", "-DNAPI_DISABLE_CPP_EXCEPTIONS",
  "-include", shim,
  `-I${nodeInclude}`, `-I${addonApi}`,
  join(pkgDir, "src", "faiss.cc"),
  "-o", addon,
  libfaiss, "-lblas", "-llapack",
];
console.log("[build-faiss] compiling faiss-node against", libfaiss);
execFileSync("g++", args, { stdio: "inherit" });
if (!works()) {
  console.error("[build-faiss] the compiled addon does not load.");
  process.exit(1);
}
console.log("[build-faiss] built", addon);
