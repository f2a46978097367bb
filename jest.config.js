/** ESM + TypeScript through ts-jest; type checking is `npm run typecheck` (run by `npm test`). */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { useESM: true }] },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  testMatch: ["<rootDir>/tests/**/*.test.ts"],
  testTimeout: 60000,
  reporters: ["default", "<rootDir>/tests/support/summary-reporter.cjs"],
};
