// ESLint 9 flat config: typescript-eslint's type-aware rules and React's rules of hooks
// (with exhaustive-deps and the React Compiler checks of eslint-plugin-react-hooks 7).
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // The generated API types are openapi-typescript's output, checked by `npm run check:api`.
  { ignores: ["dist/", "src/api/schema.d.ts"] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  reactHooks.configs.flat.recommended,
  {
    languageOptions: {
      globals: globals.browser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // The plugin's recommended level is "warn"; a missing dependency is a bug here.
      "react-hooks/exhaustive-deps": "error",
      "@typescript-eslint/no-misused-promises": [
        "error",
        // React ignores what an event handler returns, and the async handlers here report
        // their own failures (useAction shows them), so `onClick={async () => …}` is fine.
        // Promises in every other void position are still checked.
        { checksVoidReturn: { attributes: false } },
      ],
    },
  },
  {
    // Plain Node scripts and this file: outside the TypeScript projects, so no type information.
    files: ["**/*.js", "**/*.mjs"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
);
