/**
 * ESM + TypeScript through ts-jest; type checking is `npm run typecheck` (run by `npm test`).
 * The CLI is built first, so tests that run the executable run what users run.
 */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { useESM: true }] },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  globalSetup: "<rootDir>/tests/support/build-cli.mjs",
  testMatch: ["<rootDir>/tests/**/*.test.ts"],
  testTimeout: 60000,
  reporters: ["default", "<rootDir>/tests/support/summary-reporter.cjs"],
};
