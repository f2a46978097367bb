// ESLint as the LangGraph.js templates (memory-agent-js, react-agent-js) set it up, in ESLint's flat
// config: ESLint's and typescript-eslint's recommended rules, the templates' rule settings that
// still apply, and eslint-config-prettier last, so layout is Prettier's alone (`npm run lint`).
// Left out of the templates' settings: their airbnb-era switches (camelcase, max-len, ...), which
// the recommended sets no longer turn on; eslint-plugin-import's extension check, which
// TypeScript's NodeNext resolution already enforces; and no-instanceof, which guards LangChain
// classes loaded twice from different package copies: here `instanceof` tests the project's own
// error classes, and one copy of each @langchain package is installed (package.json overrides).
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import prettier from "eslint-config-prettier";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig(
  globalIgnores([
    "dist/",
    "native/build/",
    "coverage/",
    ".langgraph_api/",
    ".persona-agent/",
    "eval-results/",
    "scratch/",
  ]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      // The templates' "nofunc", extended to classes and variables used inside functions that run
      // later: what is left are the uses that would throw (read before their definition ran).
      "@typescript-eslint/no-use-before-define": ["error", { functions: false, classes: false, variables: false }],
      // `const { dropped: _, ...rest } = x` is how a key is left out of a copy.
      "@typescript-eslint/no-unused-vars": ["error", { args: "none", ignoreRestSiblings: true }],
    },
  },
  {
    // The templates' two rules that need types: a promise nobody awaits loses its error.
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
    },
  },
  prettier,
);
